#!/bin/sh
# kube-pki inventory (POSIX sh): one run per node reads everything the drift report needs and
# prints it as line records (parsed by src/drift/script-output.ts). Self-contained, so it can be
# sent on stdin of a single SSH command: `sh -s -- ARGS`.
#
# Secrets rule: private keys are only ever read by openssl (through a file name or a pipe) and
# reduced to their public key; no private key byte reaches stdout/stderr or a shell variable.
#
# Cost: starting a process is the expensive part (10-30 ms each on small nodes), so a run starts
# a fixed handful: one stat + sha256sum for all files, one awk that reads every certificate,
# kubeconfig, public key file and the install record, and openssl only where a key's match is
# still unknown. A key and its certificate whose digests both equal kube-pki's install record were
# verified by install.sh, so they need no openssl; the same key (same digest) is read once.
# Served certificates are fetched in background jobs while the rest runs.
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
#   --last-install PATH         written by every install (its age against --rollbacks tells
#                               whether the record was written by an install or by a rollback)
#   --rollbacks PATH            how many times rotate.sh rolled this node back (a counter file)
#   --kubelet-config PATH       the kubelet's config: is rotateCertificates set?
#   --kit ID                    is kube-pki's kit /var/lib/kube-pki/kit/ID there and intact?
#   --manifests DIR COPY        static pod manifests kube-pki restarts, in DIR and in its copy COPY
#
# Records (one per line, fields separated by one space; paths never contain blanks). Records of
# one kind need not be adjacent; `done` is last and only printed when the run completed:
#   inventory 2 | now EPOCH | done
#   file PATH present SHA256 MODE | file PATH absent | file PATH unreadable
#   pem PATH  … PEM lines …  endpem PATH      (certificate blocks only; after PATH's file record)
#   pub ID  … PUBLIC KEY PEM …  endpub ID     (ID: a key path, a public key file's path, or
#                                             kc:PATH for a kubeconfig's embedded key)
#   pair CERT KEY installed     (both files are byte for byte what install.sh verified as a pair)
#   pair CERT KEY               (the caller compares CERT's public key with `pub KEY`)
#   kc PATH ca-data B64 | kc PATH client-data B64 | kc PATH client-file PATH | kc PATH server URL
#   kc PATH client-key-file PATH | kc PATH client-key-data   (the key itself is never printed)
#   kc PATH key installed       (the kubeconfig is what install.sh verified: its key matches)
#   link PATH TARGET | link PATH none
#   served NAME HOST PORT ok BASE64-DER | served NAME HOST PORT fail REASON   (one line each)
#   installed SHA256 PATH       (one per file of the last install; none when there is no record)
#   rollbacks N                 (only when the counter file exists)
#   kit ID ok | kit ID missing|altered SIG   (with --kit; just before `done`)
#   kubelet-config PATH absent | kubelet-config PATH present [true|false]   (rotateCertificates)
#   manifest NAME SHA256|- COPY-SHA256|-   (per control-plane component; "-": no such file)

ROOT=''
FILES=''
SCANS=''
PAIRS=''
PUBPAIRS=''
LINKS=''
SERVED=''
INSTALLED=''
LAST_INSTALL=''
ROLLBACKS=''
KIT=''
KUBELET_CONFIG=''
MANIFESTS=''

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
        --last-install) [ $# -ge 2 ] || usage_error "--last-install needs a path"; LAST_INSTALL=$2; shift 2 ;;
        --rollbacks) [ $# -ge 2 ] || usage_error "--rollbacks needs a path"; ROLLBACKS=$2; shift 2 ;;
        --kubelet-config) [ $# -ge 2 ] || usage_error "--kubelet-config needs a path"; KUBELET_CONFIG=$2; shift 2 ;;
        --manifests) [ $# -ge 3 ] || usage_error "--manifests needs DIR COPY"; MANIFESTS="$2 $3"; shift 3 ;;
        --kit) [ $# -ge 2 ] || usage_error "--kit needs an id"
            case $2 in '' | *[!0-9a-f]*) usage_error "--kit needs a hex id" ;; esac; KIT=$2; shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

set -f # paths and base64 are split on blanks below, never globbed
NL='
'

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

# One served certificate, printed as ONE short line (a write that small is never interleaved
# with the other jobs' lines). s_client's other output (session keys included) stays in memory.
fetch_served() {
    set -- "$1" "$2" "$3" "$4" "$5" -connect "$2:$3"
    rp "$4"; _fs_cert=$RP
    rp "$5"
    if [ "$4" != - ] && [ -r "$_fs_cert" ] && [ -r "$RP" ]; then set -- "$@" -cert "$_fs_cert" -key "$RP"; fi
    _fs_line="served $1 $2 $3"
    shift 5
    _fs_out=$(bounded 5 openssl s_client "$@" </dev/null 2>/dev/null)
    case $_fs_out in
        *-----BEGIN\ CERTIFICATE-----*-----END\ CERTIFICATE-----*)
            _fs_b64=${_fs_out#*-----BEGIN CERTIFICATE-----}
            _fs_b64=${_fs_b64%%-----END CERTIFICATE-----*}
            IFS=" 	$NL"
            # shellcheck disable=SC2086 # split the base64 lines, then join them without blanks
            set -- $_fs_b64
            IFS=''
            printf '%s ok %s\n' "$_fs_line" "$*" ;;
        *) printf '%s fail no-certificate\n' "$_fs_line" ;;
    esac
}

# Started first, so the handshakes overlap the file reads; `wait` below collects them.
for s in $SERVED; do
    IFS=, read -r name host port cert key <<EOF
$s
EOF
    fetch_served "$name" "$host" "$port" "$cert" "$key" &
done

# Files to report: PRESENT holds "node real" pairs; CERTS, CONFS and PUBFILES the node paths
# whose content awk reads (certificates, kubeconfigs, public key files).
SEEN=' '
PRESENT=''
CERTS=''
CONFS=''

# add_file NODE_PATH: classify once; absent/unreadable are printed now, present files by awk.
add_file() {
    case $SEEN in *" $1 "*) return 0 ;; esac
    SEEN="$SEEN$1 "
    rp "$1"
    if [ ! -e "$RP" ]; then echo "file $1 absent"; return 0; fi
    if [ ! -r "$RP" ] || [ -d "$RP" ]; then echo "file $1 unreadable"; return 0; fi
    PRESENT="$PRESENT $1:$RP"
    # What a file is comes from its content (awk's "holds" record), not its name: cfssl's
    # *-key.pem, RKE's kubecfg-*.yaml. awk prints certificates and reads kubeconfigs by content.
    CERTS="$CERTS $1:$RP"
    CONFS="$CONFS $1:$RP"
}

# Readable pairs, as node:real:node:real (awk decides which still need openssl).
PAIRS_R=''
add_pair() {
    rp "$1"; _ap_a=$RP
    rp "$2"
    if [ -r "$_ap_a" ] && [ -r "$RP" ]; then PAIRS_R="$PAIRS_R $1:$_ap_a:$2:$RP"; fi
}

# One stat and one sha256sum for every present file, one awk for all contents; prints their
# records and sets NEEDS (what still needs openssl: "k:REAL:ID,ID" keys, "e:REAL:KUBECONFIG"
# embedded keys, "f:PATH" client certificates outside the scanned files) and NOW.
scan() {
    REALS=''
    for e in $PRESENT; do REALS="$REALS ${e#*:}"; done
    META=''
    for m in "$LAST_INSTALL" "$ROLLBACKS"; do
        [ -n "$m" ] || continue
        rp "$m"
        [ -f "$RP" ] && META="$META $RP"
    done
    rp "${INSTALLED:-/nonexistent}"; record=$RP
    rp "${ROLLBACKS:-/nonexistent}"; counter=$RP
    rp "${LAST_INSTALL:-/nonexistent}"; last=$RP

    # One stat and one sha256sum for every file, one awk for all contents. Its last line says
    # which keys still need openssl: "need NOW k:REAL:ID,ID … e:REAL:KUBECONFIG …".
    # shellcheck disable=SC2086 # word splitting of the path lists is intended
    out=$({ [ -z "$REALS$META" ] || stat -L -c 'm %a %Y %n' $REALS $META; [ -z "$REALS" ] || sha256sum $REALS; } 2>/dev/null |
        awk -v present="$PRESENT" -v certs="$CERTS" -v confs="$CONFS" -v pubfiles="$PUBFILES" -v pairs="$PAIRS_R" \
            -v record="$record" -v counter="$counter" -v last="$last" -v root="$ROOT" '
        function rd(f, line) { lines = 0; while ((getline line < f) > 0) { sub(/\r$/, "", line); L[++lines] = line }; close(f); return lines }
        BEGIN {
            while ((getline line) > 0) {
                if (line ~ /^m /) { split(line, a, " "); mode[a[4]] = a[2]; mtime[a[4]] = a[3] }
                else if (match(line, /^[0-9a-f]+ [ *]/)) { sha[substr(line, RLENGTH + 1)] = substr(line, 1, RLENGTH - 2) }
            }
            n = split(present, P, " ")
            for (i = 1; i <= n; i++) {
                c = index(P[i], ":"); node = substr(P[i], 1, c - 1); real = substr(P[i], c + 1)
                if (real in sha && real in mode) { print "file " node " present " sha[real] " " mode[real]; nsha[node] = sha[real] }
                else { print "file " node " unreadable"; continue }
                # What it holds, by its PEM armour and kubeconfig keys (names of kinds only, never content).
                m = rd(real); h = ""; split("", got)
                for (j = 1; j <= m; j++) {
                    if (L[j] == "-----BEGIN CERTIFICATE-----") got["certificate"] = 1
                    else if (L[j] ~ /^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----$/) got["private-key"] = 1
                    else if (L[j] ~ /^-----BEGIN (RSA )?PUBLIC KEY-----$/) got["public-key"] = 1
                    else if (L[j] ~ /^(clusters|users|contexts):/) got["kubeconfig"] = 1
                }
                for (k in got) h = h (h == "" ? "" : ",") k
                if (h != "") print "holds " node " " h
                hascert[node] = ("certificate" in got) && !("kubeconfig" in got)
                isconf[node] = ("kubeconfig" in got)
            }
            # The record counts only when an install wrote it: a rollback rewrites it to
            # whatever the backup held (never verified as pairs), and bumps the counter.
            trusted = (counter in mtime) ? (last in mtime && mtime[last] > mtime[counter]) : 1
            while ((getline line < record) > 0) {
                split(line, a, " ")
                if (a[2] == "") continue
                print "installed " a[1] " " a[2]
                if (trusted) rec[a[2]] = a[1]
            }
            close(record)
            if ((getline line < counter) > 0 && line ~ /^[0-9]+$/) print "rollbacks " line
            close(counter)

            # Certificate blocks only (a kubelet .pem also holds its key).
            n = split(certs, C, " ")
            for (i = 1; i <= n; i++) {
                c = index(C[i], ":"); node = substr(C[i], 1, c - 1)
                if (!hascert[node]) continue
                m = rd(substr(C[i], c + 1))
                if (m == 0) continue
                print "pem " node; inside = 0
                for (j = 1; j <= m; j++) {
                    if (L[j] == "-----BEGIN CERTIFICATE-----") inside = 1
                    if (inside) print L[j]
                    if (L[j] == "-----END CERTIFICATE-----") inside = 0
                }
                print "endpem " node
            }
            # Public key files (sa.pub) are public: their PEM goes to the caller as is.
            n = split(pubfiles, U, " ")
            for (i = 1; i <= n; i++) {
                split(present, P, " "); m = 0
                for (k in P) if (index(P[k], U[i] ":") == 1) { m = rd(substr(P[k], length(U[i]) + 2)) }
                print "pub " U[i]; inside = 0
                for (j = 1; j <= m; j++) {
                    if (L[j] ~ /^-----BEGIN [A-Z ]*PUBLIC KEY-----$/) inside = 1
                    if (inside) print L[j]
                    if (L[j] ~ /^-----END [A-Z ]*PUBLIC KEY-----$/) inside = 0
                }
                print "endpub " U[i]
            }
            # Kubeconfigs: public fields only; an embedded client key is reported as a fact.
            n = split(confs, K, " ")
            for (i = 1; i <= n; i++) {
                c = index(K[i], ":"); node = substr(K[i], 1, c - 1); real = substr(K[i], c + 1)
                if (!isconf[node]) continue
                m = rd(real); split("", seen)
                for (j = 1; j <= m; j++) {
                    if (!match(L[j], /^[ \t-]*(server|certificate-authority-data|client-certificate-data|client-certificate|client-key-data|client-key):[ \t]*/)) continue
                    field = substr(L[j], 1, RLENGTH); value = substr(L[j], RLENGTH + 1)
                    gsub(/^[ \t-]*|:[ \t]*$/, "", field)
                    gsub(/["'"'"']/, "", value)
                    if (value == "" || (field in seen)) continue
                    seen[field] = 1
                    if (field == "server") print "kc " node " server " value
                    else if (field == "certificate-authority-data") print "kc " node " ca-data " value
                    else if (field == "client-certificate-data") print "kc " node " client-data " value
                    else if (field == "client-certificate") { print "kc " node " client-file " value; if (!(value in nsha)) need = need " f:" value }
                    else if (field == "client-key") { print "kc " node " client-key-file " value; keyfile[value] = 1 }
                    else {
                        print "kc " node " client-key-data"
                        if (nsha[node] != "" && rec[node] == nsha[node] && ("client-certificate-data" in seen)) print "kc " node " key installed"
                        else if ((kp = kcpub(value)) != "") print "keypub kc:" node " " kp
                        else need = need " e:" real ":" node
                    }
                }
            }
            # Pairs: verified at install when both digests equal the record; otherwise the key
            # is read by openssl, once per distinct content.
            n = split(pairs, Q, " ")
            for (i = 1; i <= n; i++) {
                split(Q[i], f, ":")
                if (nsha[f[1]] != "" && rec[f[1]] == nsha[f[1]] && nsha[f[3]] != "" && rec[f[3]] == nsha[f[3]]) { print "pair " f[1] " " f[3] " installed"; continue }
                print "pair " f[1] " " f[3]
                want(f[3], f[4])
            }
            # Key files kubeconfigs name (outside the layout: root-relative, openssl tells if unreadable).
            for (p in keyfile) {
                split(present, P, " ")
                real = root p
                for (k in P) if (index(P[k], p ":") == 1) real = substr(P[k], length(p) + 2)
                want(p, real)
            }
            # Public halves read here where the key is plain PKCS#8, SEC1 or PKCS#1; openssl for the rest.
            for (d in ids) {
                if ((kp = filepub(first[d])) == "") { need = need " k:" first[d] ":" ids[d]; continue }
                m = split(ids[d], I, ",")
                for (j = 1; j <= m; j++) print "keypub " I[j] " " kp
            }
            # The clock as POSIX awk gives it (srand returns the previous seed: the time of day).
            srand(); now = srand()
            print "need " (now ~ /^[0-9]+$/ && now > 1000000000 ? now : "-") need
        }
        # One openssl per distinct key content (a .pem reached by link and by target is one key).
        # The public half of a private key, read in this process: "ec CURVE POINT" or "rsa N E"
        # (hex DER values, all public); "" when the key is anything else (openssl reads it then).
        # The key bytes stay in this process; nothing but those fields is printed.
        function filepub(f,  m, j, t, on) {
            m = rd(f); t = ""; on = 0
            for (j = 1; j <= m; j++) {
                if (L[j] ~ /^-----BEGIN (RSA |EC )?PRIVATE KEY-----$/) { on = 1; continue }
                if (!on) continue
                if (L[j] ~ /^-----END /) return derpub(t)
                if (L[j] ~ /:/) return "" # headers: an encrypted key
                t = t L[j]
            }
            return ""
        }
        # client-key-data: base64 of a PEM text.
        function kcpub(v,  t, j, x) {
            b64dec(v); t = ""
            for (j = 1; j <= nd; j++) t = t sprintf("%c", D[j])
            if (!match(t, /-----BEGIN (RSA |EC )?PRIVATE KEY-----[A-Za-z0-9+\/=\r\n]*-----END /)) return ""
            x = substr(t, RSTART, RLENGTH); sub(/^-----BEGIN [A-Z ]*-----/, "", x); sub(/-----END $/, "", x); gsub(/[\r\n]/, "", x)
            return derpub(x)
        }
        function b64dec(t,  i, n, c, v, k) {
            if (!b64ready) { c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; for (i = 1; i <= 64; i++) B64[substr(c, i, 1)] = i - 1; b64ready = 1 }
            nd = 0; v = 0; k = 0; n = length(t)
            for (i = 1; i <= n; i++) {
                c = substr(t, i, 1)
                if (c == "=") break
                if (!(c in B64)) continue
                v = v * 64 + B64[c]
                if (++k == 4) { D[++nd] = int(v / 65536); D[++nd] = int(v / 256) % 256; D[++nd] = v % 256; v = 0; k = 0 }
            }
            if (k == 3) { v *= 64; D[++nd] = int(v / 65536); D[++nd] = int(v / 256) % 256 }
            else if (k == 2) { v *= 4096; D[++nd] = int(v / 65536) }
        }
        # DER element at p: sets TAG, VAL (first content byte), LEN; returns the next position, 0 if malformed.
        function tlv(p,  b, n) {
            if (p + 1 > nd) return 0
            TAG = D[p]; b = D[p + 1]; p += 2
            if (b < 128) LEN = b
            else { n = b - 128; if (n < 1 || n > 3) return 0; LEN = 0; while (n-- > 0) LEN = LEN * 256 + D[p++] }
            VAL = p
            return (p + LEN - 1 <= nd) ? p + LEN : 0
        }
        function hex(p, n,  s) { s = ""; while (n-- > 0) s = s sprintf("%02x", D[p++]); return s }
        # PKCS#8 PrivateKeyInfo, SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey, from base64 text.
        function derpub(t,  p, e, alg, curve) {
            b64dec(t)
            if (!tlv(1) || TAG != 48) return ""
            if (!(p = tlv(VAL)) || TAG != 2 || !tlv(p)) return ""
            if (TAG == 2) return rsapub(1)
            if (TAG == 4) return ecpub(1, "")
            if (TAG != 48) return ""
            e = tlv(p); p = VAL
            if (!(p = tlv(p)) || TAG != 6) return ""
            alg = hex(VAL, LEN); curve = ""
            if (p < e && tlv(p) && TAG == 6) curve = hex(VAL, LEN)
            if (!tlv(e) || TAG != 4) return ""
            if (alg == "2a864886f70d010101") return rsapub(VAL)
            if (alg == "2a8648ce3d0201") return ecpub(VAL, curve)
            return ""
        }
        function rsapub(p,  n) {
            if (!tlv(p) || TAG != 48 || !(p = tlv(VAL)) || TAG != 2 || !(p = tlv(p)) || TAG != 2) return ""
            n = hex(VAL, LEN)
            if (!tlv(p) || TAG != 2) return ""
            return "rsa " n " " hex(VAL, LEN)
        }
        function ecpub(p, curve,  e, q, point) {
            if (!(e = tlv(p)) || TAG != 48 || !(p = tlv(VAL)) || TAG != 2 || !(p = tlv(p)) || TAG != 4) return ""
            point = ""
            while (p < e && (q = tlv(p))) {
                if (TAG == 160 && tlv(VAL) && TAG == 6) curve = hex(VAL, LEN)
                else if (TAG == 161 && tlv(VAL) && TAG == 3 && LEN > 2 && D[VAL] == 0 && D[VAL + 1] == 4) point = hex(VAL + 1, LEN - 1)
                p = q
            }
            return (curve != "" && point != "") ? "ec " curve " " point : ""
        }
        function want(id, real, d) {
            d = (id in nsha) ? nsha[id] : real
            if (d in ids) { if (index("," ids[d] ",", "," id ",") == 0) ids[d] = ids[d] "," id }
            else { ids[d] = id; first[d] = real }
        }')
    last_line=${out##*"$NL"}
    case $last_line in
        need\ *) out=${out%"$last_line"} ;;
        *) printf '%s\n' "$out"; return 1 ;;
    esac
    printf '%s' "$out"
    # shellcheck disable=SC2086
    set -- $last_line
    [ -n "${NOW:-}" ] || NOW=$2
    shift 2
    NEEDS=$*
}

# Everything but the served certificates, printed only after the background jobs ended (their
# lines then never land inside this larger output).
inventory() {
    echo "inventory 2"
    for f in $FILES; do add_file "$f"; done

    # Stray certificates beside the named ones (e.g. a hand-made controller-manager.crt).
    set +f
    for d in $SCANS; do
        rp "$d"
        for real in "$RP"/*.crt "$RP"/*.pem; do
            [ -f "$real" ] && add_file "$d/${real##*/}"
        done
    done
    set -f

    for l in $LINKS; do
        if [ -L "$ROOT$l" ]; then
            target=$(readlink "$ROOT$l")
            case $target in /*) ;; *) target=${l%/*}/$target ;; esac
            echo "link $l $target"
            add_file "$target"
            # Kubeconfigs name the link itself (kubelet.conf): its content is read too.
            add_file "$l"
            # kubelet keeps its cert and key in the one .pem file.
            add_pair "$target" "$target"
        else
            echo "link $l none"
            add_file "$l"
        fi
    done

    for p in $PAIRS; do add_pair "${p%%:*}" "${p#*:}"; done
    PUBFILES=''
    for p in $PUBPAIRS; do
        _pp_len=$PAIRS_R
        add_pair "${p#*:}" "${p%%:*}"
        [ "$_pp_len" = "$PAIRS_R" ] || PUBFILES="$PUBFILES ${p#*:}"
    done

    scan || return 1
    needs=$NEEDS
    # A kubeconfig may name a client certificate outside the layout: read those in a second scan.
    refs=''
    for item in $needs; do case $item in f:*) refs="$refs ${item#f:}" ;; esac; done
    if [ -n "$refs" ]; then
        PRESENT='' CERTS='' CONFS='' PUBFILES='' PAIRS_R=''
        INSTALLED='' LAST_INSTALL='' ROLLBACKS=''
        for r in $refs; do add_file "$r"; done
        if [ -n "$PRESENT" ]; then scan || return 1; needs="$needs $NEEDS"; fi
    fi
    # shellcheck disable=SC2086
    set -- $needs
    # Public halves: openssl reads each private key itself and prints only the public key.
    for item in "$@"; do
        kind=${item%%:*}
        [ "$kind" != f ] || continue
        rest=${item#*:}
        real=${rest%%:*}
        ids=${rest#*:}
        if [ "$kind" = k ]; then
            pub=$(openssl pkey -in "$real" -pubout 2>/dev/null)
            IFS=,
            for id in $ids; do printf 'pub %s\n%s\nendpub %s\n' "$id" "$pub" "$id"; done
            IFS=" 	$NL"
        else
            # An embedded client key goes straight from awk through base64 into openssl.
            pub=$(awk '{ sub(/\r$/, "") } /^[ \t]*client-key-data:/ { sub(/^[ \t]*client-key-data:[ \t]*/, ""); gsub(/["'"'"']/, ""); print; exit }' "$real" |
                base64 -d 2>/dev/null | openssl pkey -pubout 2>/dev/null)
            printf 'pub kc:%s\n%s\nendpub kc:%s\n' "$ids" "$pub" "$ids"
        fi
    done
    # Top-level `rotateCertificates: true|false` of the KubeletConfiguration (the only form kubeadm writes).
    if [ -n "$KUBELET_CONFIG" ]; then
        if [ -f "$ROOT$KUBELET_CONFIG" ] && [ -r "$ROOT$KUBELET_CONFIG" ]; then
            _kc_rot=$(sed -n 's/^rotateCertificates:[[:space:]]*\([a-z]*\).*$/\1/p' "$ROOT$KUBELET_CONFIG" | head -n 1)
            case $_kc_rot in true | false) ;; *) _kc_rot='' ;; esac
            echo "kubelet-config $KUBELET_CONFIG present${_kc_rot:+ $_kc_rot}"
        else
            echo "kubelet-config $KUBELET_CONFIG absent"
        fi
    fi
    # The manifests and kube-pki's copy of them (src/scripts/manifests.sh): digests only.
    if [ -n "$MANIFESTS" ]; then
        # shellcheck disable=SC2086 # two one-word paths
        set -- $MANIFESTS
        for _m in etcd kube-apiserver kube-controller-manager kube-scheduler; do
            _m_sha=- _m_copy=-
            [ ! -f "$ROOT$1/$_m.yaml" ] || _m_sha=$(sha256sum <"$ROOT$1/$_m.yaml" 2>/dev/null | cut -c1-64)
            [ ! -f "$ROOT$2/$_m.yaml" ] || _m_copy=$(sha256sum <"$ROOT$2/$_m.yaml" 2>/dev/null | cut -c1-64)
            echo "manifest $_m ${_m_sha:--} ${_m_copy:--}"
        done
    fi
    [ "$NOW" != - ] || NOW=$(date -u +%s)
    echo "now $NOW"
}

result=$(inventory)
status=$?
wait
printf '%s\n' "$result"

# The kit (src/node/kit.ts): its MANIFEST must hash to the id and every file match the MANIFEST.
# SIG (inodes and mtimes of the kit folders and files) changes whenever the kit is removed,
# shipped or edited again, so a re-ship still in state never hides a new loss.
if [ -n "$KIT" ]; then
    kit=$ROOT/var/lib/kube-pki/kit/$KIT
    set +f
    sig=$({ stat -c '%i.%Y' "$ROOT/var/lib/kube-pki/kit" "$kit" "$kit"/*; } 2>/dev/null | sha256sum | cut -c1-16)
    set -f
    if [ ! -e "$kit" ]; then
        echo "kit $KIT missing $sig"
    elif [ "$(sha256sum 2>/dev/null <"$kit/MANIFEST")" = "$KIT  -" ] && (cd "$kit" && sha256sum -c MANIFEST) >/dev/null 2>&1; then
        echo "kit $KIT ok"
    else
        echo "kit $KIT altered $sig"
    fi
fi
[ "$status" = 0 ] && echo "done"
