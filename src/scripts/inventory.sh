#!/bin/sh
# kube-pki inventory (POSIX sh): one run per node reads everything the drift report needs and
# prints it as line records (parsed by src/drift/script-output.ts). Self-contained, so it can be
# sent on stdin of a single SSH command: `sh -s -- ARGS`.
#
# Secrets rule: private keys are only ever read by openssl (through a file name or a pipe) and
# reduced to their public key; no private key byte reaches stdout/stderr.
#
# Cost: a node may hold ~40 files, so work is batched: one sha256sum and one stat for all files,
# one awk for all certificate blocks, one awk for all kubeconfigs; openssl runs once per private
# key only (it has no batch mode). Certificates' public keys are compared with the keys' public
# halves by the caller, which already receives every certificate.
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
#   --installed PATH            kube-pki's record of what its last install put on the node
#   --rollbacks PATH            how many times rotate.sh rolled this node back (a counter file)
#
# Records (one per line, fields separated by one space; paths never contain blanks):
#   inventory 1 | now EPOCH (printed last) | done
#   file PATH present SHA256 MODE | file PATH absent | file PATH unreadable
#   pem PATH  … PEM lines …  endpem PATH      (certificate blocks only)
#   pub ID  … PUBLIC KEY PEM …  endpub ID     (ID: a key/pub file path, or kc:PATH for a
#                                             kubeconfig's embedded key)
#   pair CERT KEY               (both readable; the caller compares CERT's and KEY's public keys)
#   kc PATH ca-data B64 | kc PATH client-data B64 | kc PATH client-file PATH | kc PATH server URL
#   kc PATH client-key-file PATH | kc PATH client-key-data   (the key itself is never printed)
#   link PATH TARGET | link PATH none
#   served NAME HOST PORT ok  … PEM …  endpem served:NAME | served NAME HOST PORT fail REASON
#   installed SHA256 PATH       (one per file of the last install; none when there is no record)
#   rollbacks N                 (only when the counter file exists)

ROOT=''
FILES=''
SCANS=''
PAIRS=''
PUBPAIRS=''
LINKS=''
SERVED=''
INSTALLED=''
ROLLBACKS=''

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
        --installed) [ $# -ge 2 ] || usage_error "--installed needs a path"; INSTALLED=$2; shift 2 ;;
        --rollbacks) [ $# -ge 2 ] || usage_error "--rollbacks needs a path"; ROLLBACKS=$2; shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

# The real location of node path $1, in RP. Symlinks are followed inside the root (their
# absolute targets are node paths), at most 8 hops. Sets a variable instead of printing, so
# callers need no subshell.
rp() {
    RP=$1
    _rp_hops=0
    while [ -n "$ROOT" ] && [ -L "$ROOT$RP" ] && [ $_rp_hops -lt 8 ]; do
        _rp_t=$(readlink "$ROOT$RP")
        case $_rp_t in /*) RP=$_rp_t ;; *) RP=${RP%/*}/$_rp_t ;; esac
        _rp_hops=$((_rp_hops + 1))
    done
    RP=$ROOT$RP
}

bounded() {
    _b_s=$1
    shift
    if command -v timeout >/dev/null 2>&1; then timeout "$_b_s" "$@"; else "$@"; fi
}

# Files to report, with their real paths: "node real node real …" (PRESENT), certificate files
# (CERT_ARGS, as awk "n=NODE REAL" operands) and kubeconfigs (CONF_ARGS, the same form).
SEEN=' '
PRESENT=''
CERT_ARGS=''
CONF_ARGS=''

# add_file NODE_PATH: classify once; absent/unreadable are printed now, present files later.
add_file() {
    case $SEEN in *" $1 "*) return 0 ;; esac
    SEEN="$SEEN$1 "
    rp "$1"
    if [ ! -e "$RP" ]; then echo "file $1 absent"; return 0; fi
    if [ ! -r "$RP" ] || [ -d "$RP" ]; then echo "file $1 unreadable"; return 0; fi
    PRESENT="$PRESENT $1 $RP"
    case $1 in
        *.crt | *.pem) CERT_ARGS="$CERT_ARGS n=$1 $RP" ;;
        *.conf) CONF_ARGS="$CONF_ARGS n=$1 $RP" ;;
    esac
}

# KEYS: "ID:REAL" entries whose public half openssl prints; PUBS: public key files to normalise.
KEYS=''
PUBS=''
add_key() { case " $KEYS " in *" $1:"*) ;; *) rp "$1"; [ -r "$RP" ] && KEYS="$KEYS $1:$RP" ;; esac; }

echo "inventory 1"

for f in $FILES; do add_file "$f"; done

# Stray certificates beside the named ones (e.g. a hand-made controller-manager.crt).
for d in $SCANS; do
    rp "$d"
    for real in "$RP"/*.crt "$RP"/*.pem; do
        [ -f "$real" ] && add_file "$d/${real##*/}"
    done
done

for l in $LINKS; do
    if [ -L "$ROOT$l" ]; then
        target=$(readlink "$ROOT$l")
        case $target in /*) ;; *) target=${l%/*}/$target ;; esac
        echo "link $l $target"
        add_file "$target"
        # kubelet keeps its cert and key in the one .pem file.
        rp "$target"
        if [ -r "$RP" ]; then echo "pair $target $target"; add_key "$target"; fi
    else
        echo "link $l none"
        add_file "$l"
    fi
done

# Kubeconfigs: one awk reads them all. It prints public fields only; for an embedded client key
# it prints just the fact, and the key is piped to openssl below.
KC=''
if [ -n "$CONF_ARGS" ]; then
    # shellcheck disable=SC2086 # word splitting of the operand list is intended
    KC=$(awk '
        FNR == 1 { split("", seen) }
        {
            line = $0
            sub(/\r$/, "", line)
            if (match(line, /^[ \t-]*(server|certificate-authority-data|client-certificate-data|client-certificate|client-key-data|client-key):[ \t]*/)) {
                field = substr(line, 1, RLENGTH)
                value = substr(line, RLENGTH + 1)
                gsub(/^[ \t-]*|:[ \t]*$/, "", field)
                gsub(/["'"'"']/, "", value)
                if (value == "" || (field in seen)) next
                seen[field] = 1
                if (field == "server") print "kc " n " server " value
                else if (field == "certificate-authority-data") print "kc " n " ca-data " value
                else if (field == "client-certificate-data") print "kc " n " client-data " value
                else if (field == "client-certificate") print "kc " n " client-file " value
                else if (field == "client-key") print "kc " n " client-key-file " value
                else print "kc " n " client-key-data"
            }
        }' $CONF_ARGS)
    printf '%s\n' "$KC"
fi
EMBEDDED=''
while read -r _tag kc field value; do
    case $field in
        client-file) add_file "$value" ;;
        client-key-file) add_key "$value" ;;
        client-key-data) EMBEDDED="$EMBEDDED $kc" ;;
    esac
done <<EOF
$KC
EOF

# Digests and modes of every present file: one sha256sum and one stat for all of them.
if [ -n "$PRESENT" ]; then
    set -- $PRESENT
    REALS=''
    while [ $# -ge 2 ]; do REALS="$REALS $2"; shift 2; done
    # shellcheck disable=SC2086
    MODES=$(stat -c '%a' $REALS 2>/dev/null | tr '\n' ' ')
    set -- $PRESENT
    # shellcheck disable=SC2086
    SUMS=$(sha256sum $REALS 2>/dev/null)
    while read -r digest real; do
        # Both lists follow PRESENT's order; a file that vanished meanwhile is skipped.
        while [ $# -ge 2 ] && [ "$2" != "$real" ]; do echo "file $1 unreadable"; shift 2; MODES=${MODES#* }; done
        [ $# -ge 2 ] || break
        echo "file $1 present $digest ${MODES%% *}"
        MODES=${MODES#* }
        shift 2
    done <<EOF
$SUMS
EOF
fi

# Certificate blocks of every certificate file (a kubelet .pem also holds its key: only the
# CERTIFICATE blocks are printed).
if [ -n "$CERT_ARGS" ]; then
    # shellcheck disable=SC2086
    awk '
        FNR == 1 { if (open != "") print "endpem " open; open = n; print "pem " n }
        /^-----BEGIN CERTIFICATE-----$/ { inside = 1 }
        inside { print }
        /^-----END CERTIFICATE-----$/ { inside = 0 }
        END { if (open != "") print "endpem " open }' $CERT_ARGS
fi

for p in $PAIRS; do
    c=${p%%:*}
    k=${p#*:}
    rp "$c"; c_real=$RP
    rp "$k"
    if [ -r "$c_real" ] && [ -r "$RP" ]; then echo "pair $c $k"; add_key "$k"; fi
done

for p in $PUBPAIRS; do
    k=${p%%:*}
    pub=${p#*:}
    rp "$pub"; pub_real=$RP
    rp "$k"
    if [ -r "$pub_real" ] && [ -r "$RP" ]; then echo "pair $pub $k"; add_key "$k"; PUBS="$PUBS $pub:$pub_real"; fi
done

# Public halves: openssl reads each private key itself and prints only the public key.
for e in $KEYS; do
    echo "pub ${e%%:*}"
    openssl pkey -in "${e#*:}" -pubout 2>/dev/null
    echo "endpub ${e%%:*}"
done
# A public key file may be in any PEM public key form; openssl prints it as SubjectPublicKeyInfo.
for e in $PUBS; do
    echo "pub ${e%%:*}"
    openssl pkey -pubin -in "${e#*:}" -pubout 2>/dev/null
    echo "endpub ${e%%:*}"
done
# An embedded client key goes straight from awk through base64 into openssl.
for kc in $EMBEDDED; do
    echo "pub kc:$kc"
    rp "$kc"
    awk '{ sub(/\r$/, "") } /^[ \t]*client-key-data:/ { sub(/^[ \t]*client-key-data:[ \t]*/, ""); gsub(/["'"'"']/, ""); print; exit }' "$RP" |
        base64 -d 2>/dev/null | openssl pkey -pubout 2>/dev/null
    echo "endpub kc:$kc"
done

for s in $SERVED; do
    IFS=, read -r name host port cert key <<EOF
$s
EOF
    set -- -connect "$host:$port"
    rp "$cert"; cert_real=$RP
    rp "$key"
    if [ "$cert" != - ] && [ -r "$cert_real" ] && [ -r "$RP" ]; then
        set -- "$@" -cert "$cert_real" -key "$RP"
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
# What kube-pki installed last: the disk differing from it means edited, deleted or rolled back.
if [ -n "$INSTALLED" ]; then
    rp "$INSTALLED"
    if [ -r "$RP" ]; then
        while read -r sha path; do echo "installed $sha $path"; done <"$RP"
    fi
fi
# Rollbacks since kube-pki first installed here: the program re-runs the node when it grows.
if [ -n "$ROLLBACKS" ]; then
    rp "$ROLLBACKS"
    if [ -r "$RP" ]; then
        read -r count <"$RP" || count=''
        case $count in '' | *[!0-9]*) ;; *) echo "rollbacks $count" ;; esac
    fi
fi

echo "done"
