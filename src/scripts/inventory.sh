#!/bin/sh
# kube-pki inventory (POSIX sh): one run per node reads everything the drift report needs and
# prints it as line records (parsed by src/drift/script-output.ts). Self-contained, so it can be
# sent on stdin of a single SSH command: `sh -s -- ARGS`.
#
# Secrets rule: private keys are only ever read by openssl through a file name or a pipe and
# reduced to a digest or a public key; no key byte reaches stdout/stderr.
#
# ARGS (repeatable, in any order):
#   --root DIR                  directory standing in for "/" (local transport)
#   --file PATH                 a file the layout names (.crt/.pem: certificates, .key/.pub: digest
#                               only, .conf: kubeconfig)
#   --scan DIR                  also report every *.crt / *.pem directly in DIR
#   --pair CERT KEY             does KEY hold the private key of CERT's public key?
#   --pubpair KEY PUB           does KEY belong to the public key file PUB (sa.key / sa.pub)?
#   --link PATH                 a symlink (kubelet-client-current.pem): its target and content
#   --served NAME HOST PORT CERT KEY   fetch the certificate served on HOST:PORT ("-" = no client cert)
#
# Records (one per line, fields separated by one space; paths never contain blanks):
#   inventory 1                 | now EPOCH (printed last)
#   file PATH present SHA256 MODE | file PATH absent | file PATH unreadable
#   pem PATH  … PEM lines …  endpem PATH      (certificate blocks only)
#   pair CERT KEY yes|no|error
#   kc PATH ca-data B64 | kc PATH client-data B64 | kc PATH client-file PATH | kc PATH server URL
#   kc PATH keymatch yes|no|error|none
#   link PATH TARGET | link PATH none
#   served NAME HOST PORT ok  … PEM …  endpem served:NAME | served NAME HOST PORT fail REASON
#   done

ROOT=''
FILES=''
SCANS=''
PAIRS=''
PUBPAIRS=''
LINKS=''
SERVED=''

usage_error() { printf 'inventory.sh: %s\n' "$1" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --root) [ $# -ge 2 ] || usage_error "--root needs a value"; ROOT=${2%/}; shift 2 ;;
        --file) [ $# -ge 2 ] || usage_error "--file needs a path"; FILES="$FILES $2"; shift 2 ;;
        --scan) [ $# -ge 2 ] || usage_error "--scan needs a dir"; SCANS="$SCANS $2"; shift 2 ;;
        --pair) [ $# -ge 3 ] || usage_error "--pair needs CERT KEY"; PAIRS="$PAIRS $2:$3"; shift 3 ;;
        --pubpair) [ $# -ge 3 ] || usage_error "--pubpair needs KEY PUB"; PUBPAIRS="$PUBPAIRS $2:$3"; shift 3 ;;
        --link) [ $# -ge 2 ] || usage_error "--link needs a path"; LINKS="$LINKS $2"; shift 2 ;;
        --served) [ $# -ge 6 ] || usage_error "--served needs NAME HOST PORT CERT KEY"
            SERVED="$SERVED $2,$3,$4,$5,$6"; shift 6 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

# The real location of node path $1 on this run's filesystem. Symlinks are followed inside the
# root (their absolute targets are node paths), at most 8 hops.
rp() {
    _rp_p=$1
    _rp_hops=0
    while [ -n "$ROOT" ] && [ -L "$ROOT$_rp_p" ] && [ $_rp_hops -lt 8 ]; do
        _rp_t=$(readlink "$ROOT$_rp_p")
        case $_rp_t in /*) _rp_p=$_rp_t ;; *) _rp_p=${_rp_p%/*}/$_rp_t ;; esac
        _rp_hops=$((_rp_hops + 1))
    done
    printf '%s%s' "$ROOT" "$_rp_p"
}

sha256_stdin() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1
    else openssl dgst -sha256 -r | cut -d' ' -f1; fi
}

bounded() {
    _b_s=$1
    shift
    if command -v timeout >/dev/null 2>&1; then timeout "$_b_s" "$@"; else "$@"; fi
}

# Both sides print the public key as the same SubjectPublicKeyInfo PEM, so digests compare.
# Normalises a public key PEM read on stdin (sa.pub may be in any PEM public key form).
pub_digest() { openssl pkey -pubin -pubout 2>/dev/null | sha256_stdin; }

cert_pub_digest() { openssl x509 -noout -pubkey -in "$1" 2>/dev/null | sha256_stdin; }
# The private key is read by openssl from the file; only its public half leaves openssl.
key_pub_digest() { openssl pkey -in "$1" -pubout 2>/dev/null | sha256_stdin; }

EMPTY_DIGEST=$(printf '' | sha256_stdin)

# same_digest A B: yes when both are real digests and equal, error when either is unusable.
same_digest() {
    if [ "$1" = "$EMPTY_DIGEST" ] || [ "$2" = "$EMPTY_DIGEST" ]; then echo error
    elif [ "$1" = "$2" ]; then echo yes
    else echo no; fi
}

file_mode() { stat -c %a "$1" 2>/dev/null || echo '?'; }

# Prints only the CERTIFICATE blocks of a PEM file (a kubelet .pem also holds its key).
cert_blocks() { sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' "$1"; }

# kubeconfig value of a top-level-ish "name: value" line (first occurrence), quotes stripped.
kc_value() {
    sed -n "s/^[[:space:]]*$1:[[:space:]]*//p" "$2" | head -n 1 | tr -d "\"'\r"
}

report_kubeconfig() {
    _k_node=$1
    _k_real=$2
    _k_server=$(kc_value server "$_k_real")
    [ -z "$_k_server" ] || echo "kc $_k_node server $_k_server"
    _k_ca=$(kc_value certificate-authority-data "$_k_real")
    [ -z "$_k_ca" ] || echo "kc $_k_node ca-data $_k_ca"
    _k_cd=$(kc_value client-certificate-data "$_k_real")
    _k_cf=$(kc_value client-certificate "$_k_real")
    _k_kf=$(kc_value client-key "$_k_real")
    if [ -n "$_k_cd" ]; then
        echo "kc $_k_node client-data $_k_cd"
        _k_cert_digest=$(printf '%s' "$_k_cd" | base64 -d 2>/dev/null | openssl x509 -noout -pubkey 2>/dev/null | sha256_stdin)
    elif [ -n "$_k_cf" ]; then
        echo "kc $_k_node client-file $_k_cf"
        report_file "$_k_cf"
        _k_cert_digest=$(cert_pub_digest "$(rp "$_k_cf")")
    else
        echo "kc $_k_node keymatch none"
        return 0
    fi
    # The embedded key goes straight from sed through base64 into openssl; only a digest comes out.
    if grep -q '^[[:space:]]*client-key-data:' "$_k_real"; then
        _k_key_digest=$(sed -n 's/^[[:space:]]*client-key-data:[[:space:]]*//p' "$_k_real" | head -n 1 | tr -d "\"'\r" |
            base64 -d 2>/dev/null | openssl pkey -pubout 2>/dev/null | sha256_stdin)
    elif [ -n "$_k_kf" ]; then
        _k_key_digest=$(key_pub_digest "$(rp "$_k_kf")")
    else
        echo "kc $_k_node keymatch none"
        return 0
    fi
    echo "kc $_k_node keymatch $(same_digest "$_k_cert_digest" "$_k_key_digest")"
}

# report_file NODE_PATH: existence, digest and public content of one file.
report_file() {
    _f_node=$1
    _f_real=$(rp "$_f_node")
    if [ ! -e "$_f_real" ]; then echo "file $_f_node absent"; return 0; fi
    if [ ! -r "$_f_real" ] || [ -d "$_f_real" ]; then echo "file $_f_node unreadable"; return 0; fi
    echo "file $_f_node present $(sha256_stdin <"$_f_real") $(file_mode "$_f_real")"
    case $_f_node in
        *.crt | *.pem)
            echo "pem $_f_node"
            cert_blocks "$_f_real"
            echo "endpem $_f_node"
            ;;
        *.conf) report_kubeconfig "$_f_node" "$_f_real" ;;
    esac
}

echo "inventory 1"

SEEN=' '
for f in $FILES; do
    case $SEEN in *" $f "*) continue ;; esac
    SEEN="$SEEN$f "
    report_file "$f"
done

# Stray certificates beside the named ones (e.g. a hand-made controller-manager.crt).
for d in $SCANS; do
    for real in "$(rp "$d")"/*.crt "$(rp "$d")"/*.pem; do
        [ -f "$real" ] || continue
        f=$d/${real##*/}
        case $SEEN in *" $f "*) continue ;; esac
        SEEN="$SEEN$f "
        report_file "$f"
    done
done

for p in $PAIRS; do
    c=${p%%:*}
    k=${p#*:}
    if [ -r "$(rp "$c")" ] && [ -r "$(rp "$k")" ]; then
        echo "pair $c $k $(same_digest "$(cert_pub_digest "$(rp "$c")")" "$(key_pub_digest "$(rp "$k")")")"
    fi
done

for p in $PUBPAIRS; do
    k=${p%%:*}
    pub=${p#*:}
    if [ -r "$(rp "$k")" ] && [ -r "$(rp "$pub")" ]; then
        echo "pair $pub $k $(same_digest "$(pub_digest <"$(rp "$pub")")" "$(openssl pkey -in "$(rp "$k")" -pubout 2>/dev/null | pub_digest)")"
    fi
done

for l in $LINKS; do
    real=$ROOT$l
    if [ -L "$real" ]; then
        target=$(readlink "$real")
        case $target in /*) ;; *) target=${l%/*}/$target ;; esac
        echo "link $l $target"
        report_file "$target"
        # kubelet keeps its cert and key in the one .pem file.
        if [ -r "$(rp "$target")" ]; then
            echo "pair $target $target $(same_digest "$(cert_pub_digest "$(rp "$target")")" "$(key_pub_digest "$(rp "$target")")")"
        fi
    else
        echo "link $l none"
        report_file "$l"
    fi
done

for s in $SERVED; do
    IFS=, read -r name host port cert key <<EOF
$s
EOF
    set -- -connect "$host:$port"
    if [ "$cert" != - ] && [ -r "$(rp "$cert")" ] && [ -r "$(rp "$key")" ]; then
        set -- "$@" -cert "$(rp "$cert")" -key "$(rp "$key")"
    fi
    pem=$(bounded 5 openssl s_client "$@" </dev/null 2>/dev/null | openssl x509 2>/dev/null)
    if [ -n "$pem" ]; then
        echo "served $name $host $port ok"
        printf '%s\n' "$pem"
        echo "endpem served:$name"
    else
        echo "served $name $host $port fail no-certificate"
    fi
done

# The clock is read last, so the caller compares it with the moment the output arrived.
echo "now $(date -u +%s)"
echo "done"
