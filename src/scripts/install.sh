#!/bin/sh
# install.sh — installs a kube-pki bundle (format: src/node/bundle-format.ts) read on stdin:
# validate the trailer → stage each file beside its target → verify certs/keys/kubeconfigs →
# back up what will change → rename staged files into place. Any failure before the swap
# removes what was staged and leaves the node exactly as it was.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: install.sh [--root DIR] [--keep N] [--backup-dir DIR] < bundle'
KP_OPTIONS='root= keep= backup-dir='
KP_ARGS=''
opt_keep=5
parse_args "$@"

# Keys are staged: nothing we create may be readable by others, and SAN wildcards must not glob.
umask 077
set -f
work=$(mktemp -d "${TMPDIR:-/tmp}/kube-pki-install.XXXXXX")
bundle=$work/bundle
: >"$work/files" # node-path sha mode owner, one per staged file
: >"$work/dirs"  # directories this run created, outermost first
: >"$work/failures"
committed=0

# On any exit before the swap: drop staged files and created directories, then the work dir.
cleanup() {
    if [ "$committed" = 0 ]; then
        while read -r _p _rest; do rm -f "$(rp "$_p").kube-pki-new"; done <"$work/files"
        sort -r "$work/dirs" | while read -r _d; do rmdir "$(rp "$_d")" 2>/dev/null || true; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

reject() {
    failure_report "read the bundle and stage its files" "bundle rejected: $*" \
        "nothing was changed: it keeps its current files (staged copies removed)" \
        "run \`pulumi up\` again: the bundle is sent again whole (a cut or altered transfer); if this repeats with the same message, report it as a kube-pki bug"
    exit 1
}

# 1. The whole bundle first: a cut connection must not leave a half-installed node.
cat >"$bundle"
[ -s "$bundle" ] || reject "empty input"
[ "$(head -n 1 "$bundle")" = "kube-pki-bundle 1" ] || reject "first line is not 'kube-pki-bundle 1'"
trailer=$(tail -n 1 "$bundle")
case $trailer in
    'E '*' '*) ;;
    *) reject "no E trailer on the last line (truncated?)" ;;
esac
e_count=${trailer#E }
e_count=${e_count%% *}
e_hash=${trailer##* }
is_uint "$e_count" || reject "malformed E trailer"
[ ${#e_hash} -eq 64 ] || reject "malformed E trailer"
[ "$(sed '$d' "$bundle" | sha256_stdin)" = "$e_hash" ] || reject "content does not match the E trailer hash (truncated or altered)"
f_count=$(grep -c '^F ' "$bundle" || true)
[ "$f_count" = "$e_count" ] || reject "E trailer announces $e_count files, found $f_count"

# 2. Syntax of every record, before anything on disk is touched.
lineno=0
while read -r tag a b c d e extra; do
    lineno=$((lineno + 1))
    [ "$lineno" -gt 1 ] || continue
    case $tag in
        F)
            [ -n "$e" ] && [ -z "$extra" ] || reject "line $lineno: F needs 5 fields"
            case $a in 0[0-7][0-7][0-7]) ;; *) reject "line $lineno: bad mode '$a'" ;; esac
            is_node_path "$c" || reject "line $lineno: bad path"
            awk -v p="$c" '$1 == p { found = 1 } END { exit !found }' "$work/files" && reject "$c appears twice"
            printf '%s %s %s %s\n' "$c" "$d" "$a" "$b" >>"$work/files"
            ;;
        V) [ -n "$e" ] && [ -z "$extra" ] || reject "line $lineno: V needs 5 fields" ;;
        K | P) [ -n "$b" ] && [ -z "$c" ] || reject "line $lineno: $tag needs 2 fields" ;;
        E) ;;
        *) reject "line $lineno: unknown record '$tag'" ;;
    esac
done <"$bundle"

take_lock

# Creates the node directory $1 and missing parents (0755, like kubeadm's trees), remembering each.
ensure_dir() {
    [ ! -d "$(rp "$1")" ] || return 0
    ensure_dir "$(dirname -- "$1")"
    mkdir -m 755 "$(rp "$1")"
    printf '%s\n' "$1" >>"$work/dirs"
}

is_root=0
[ "$(id -u)" != 0 ] || is_root=1

# 3. Stage: decode each file beside its target (same filesystem, so the swap is a rename).
#    The base64 text only passes through `read` and the `printf` builtin into base64's stdin.
while read -r tag mode owner path sha b64; do
    [ "$tag" = F ] || continue
    ensure_dir "$(dirname -- "$path")"
    staged=$(rp "$path").kube-pki-new
    rm -f "$staged"
    if [ "$b64" = - ]; then : >"$staged"; else printf '%s\n' "$b64" | base64 -d >"$staged" 2>/dev/null || reject "$path: content is not valid base64"; fi
    [ "$(sha256_file "$staged")" = "$sha" ] || reject "$path: decoded content does not match its sha256"
    chmod "$mode" "$staged"
    if [ "$owner" != - ] && [ "$is_root" = 1 ]; then
        chown "$owner" "$staged" 2>/dev/null || reject "$path: cannot chown to $owner"
    fi
done <"$bundle"

# The file a check should read: the staged copy when the bundle carries it, else the one on disk.
resolve() {
    if awk -v p="$1" '$1 == p { found = 1 } END { exit !found }' "$work/files"; then
        printf '%s.kube-pki-new' "$(rp "$1")"
    else
        rp "$1"
    fi
}

fail() {
    printf '%s\n' "$*" >>"$work/failures"
}

# Path of the existing file for node path $1 in R, or records "<what> not found" and returns 1.
need() {
    R=$(resolve "$1")
    [ -f "$R" ] && return 0
    fail "$1: not found (neither in the bundle nor on the node)"
    return 1
}

pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# Explains an `openssl verify` failure; a lagging node clock gets its own hint (tls cannot backdate).
chain_problem() {
    _cp_cert=$1
    _cp_file=$2
    _cp_out=$3
    case $_cp_out in
        *'not yet valid'*)
            _cp_nb=$(openssl x509 -in "$_cp_file" -noout -startdate 2>/dev/null | sed 's/^notBefore=//')
            fail "$_cp_cert: certificate is not yet valid on this node (notBefore $_cp_nb, node clock $(date -u '+%b %e %T %Y GMT')); the node's clock lags behind the issuer's: fix its time (NTP) and run again"
            ;;
        *'has expired'*)
            _cp_na=$(openssl x509 -in "$_cp_file" -noout -enddate 2>/dev/null | sed 's/^notAfter=//')
            fail "$_cp_cert: certificate has expired (notAfter $_cp_na)"
            ;;
        *) fail "$_cp_cert: $4 ($(printf '%s\n' "$_cp_out" | grep -m 1 '^error' || printf 'openssl verify failed'))" ;;
    esac
}

check_cert() {
    _cc_cert=$1 _cc_key=$2 _cc_ca=$3 _cc_sans=$4 _cc_purposes=$5
    need "$_cc_cert" || return 0
    _cc_c=$R
    openssl x509 -in "$_cc_c" -noout 2>/dev/null || {
        fail "$_cc_cert: not a PEM certificate"
        return 0
    }
    if [ "$_cc_key" != - ] && need "$_cc_key"; then
        _cc_kpub=$(pubkey_of_key "$R") || {
            fail "$_cc_key: not a readable private key"
            return 0
        }
        [ "$(pubkey_of_cert "$_cc_c")" = "$_cc_kpub" ] || fail "$_cc_cert: does not match its key $_cc_key (public keys differ)"
    fi
    _cc_anchor=''
    if [ "$_cc_ca" != - ] && need "$_cc_ca"; then
        _cc_anchor=$R
        if ! _cc_out=$(openssl verify -CAfile "$_cc_anchor" "$_cc_c" 2>&1); then
            chain_problem "$_cc_cert" "$_cc_c" "$_cc_out" "does not chain to $_cc_ca"
            return 0
        fi
    fi
    if [ "$_cc_purposes" != - ]; then
        IFS=,
        for _cc_p in $_cc_purposes; do
            # Without a CA, trust the cert itself so only its purpose is judged.
            if [ -n "$_cc_anchor" ]; then
                _cc_out=$(openssl verify -CAfile "$_cc_anchor" -purpose "$_cc_p" "$_cc_c" 2>&1) || fail "$_cc_cert: not valid for purpose $_cc_p ($(printf '%s\n' "$_cc_out" | grep -m 1 '^error' || true))"
            else
                _cc_out=$(openssl verify -partial_chain -CAfile "$_cc_c" -purpose "$_cc_p" "$_cc_c" 2>&1) || fail "$_cc_cert: not valid for purpose $_cc_p ($(printf '%s\n' "$_cc_out" | grep -m 1 '^error' || true))"
            fi
        done
        unset IFS
    fi
    if [ "$_cc_sans" != - ]; then
        _cc_have=$(openssl x509 -in "$_cc_c" -noout -ext subjectAltName 2>/dev/null | sed '1d; s/IP Address:/IP:/g' | tr ',' '\n' | sed 's/^[[:space:]]*//')
        _cc_missing=''
        IFS=,
        for _cc_s in $_cc_sans; do
            printf '%s\n' "$_cc_have" | grep -qxF -- "$_cc_s" || _cc_missing="$_cc_missing $_cc_s"
        done
        unset IFS
        [ -z "$_cc_missing" ] || fail "$_cc_cert: missing SANs:$_cc_missing"
    fi
}

# Decodes kubeconfig field $1 (…-data) into file $3, or copies the file named by field $2.
kubeconfig_material() {
    if [ -n "$(kubeconfig_value "$1" "$_kc_file" | cut -c1-4)" ]; then
        kubeconfig_value "$1" "$_kc_file" | base64 -d >"$3" 2>/dev/null && [ -s "$3" ]
    else
        _km_path=$(kubeconfig_value "$2" "$_kc_file")
        [ -n "$_km_path" ] || return 1
        need "$_km_path" || return 1
        cp "$R" "$3"
    fi
}

check_kubeconfig() {
    _kc=$1
    _kc_ca=$2
    need "$_kc" || return 0
    _kc_file=$R
    need "$_kc_ca" || return 0
    _kc_anchor=$R
    _kc_dir=$work/kubeconfig
    mkdir "$_kc_dir"
    if ! kubeconfig_material client-certificate-data client-certificate "$_kc_dir/cert" ||
        ! openssl x509 -in "$_kc_dir/cert" -noout 2>/dev/null; then
        fail "$_kc: no readable client certificate (client-certificate-data on one line)"
    elif ! kubeconfig_material client-key-data client-key "$_kc_dir/key" ||
        ! _kc_kpub=$(pubkey_of_key "$_kc_dir/key"); then
        fail "$_kc: no readable client key (client-key-data on one line)"
    elif [ "$(pubkey_of_cert "$_kc_dir/cert")" != "$_kc_kpub" ]; then
        fail "$_kc: embedded client certificate does not match the embedded client key"
    elif ! _kc_out=$(openssl verify -CAfile "$_kc_anchor" "$_kc_dir/cert" 2>&1); then
        chain_problem "$_kc" "$_kc_dir/cert" "$_kc_out" "client certificate does not chain to $_kc_ca"
    elif ! _kc_out=$(openssl verify -CAfile "$_kc_anchor" -purpose sslclient "$_kc_dir/cert" 2>&1); then
        fail "$_kc: client certificate is not valid for client auth"
    elif ! kubeconfig_material certificate-authority-data certificate-authority "$_kc_dir/ca"; then
        fail "$_kc: no certificate-authority-data"
    elif [ "$(cert_fp "$_kc_dir/ca")" != "$(cert_fp "$_kc_anchor")" ]; then
        fail "$_kc: certificate-authority-data is not $_kc_ca"
    fi
    rm -rf "$_kc_dir"
}

check_pair() {
    need "$1" || return 0
    _kp_pub=$(pubkey_of_key "$R") || {
        fail "$1: not a readable private key"
        return 0
    }
    need "$2" || return 0
    [ "$(openssl pkey -pubin -in "$R" -pubout 2>/dev/null)" = "$_kp_pub" ] || fail "$2: is not the public key of $1"
}

# 4. Verify: every check runs, so one run reports every problem.
while read -r tag a b c d e; do
    case $tag in
        V) check_cert "${a#cert=}" "${b#key=}" "${c#ca=}" "${d#sans=}" "${e#purpose=}" ;;
        K) check_kubeconfig "${a#kubeconfig=}" "${b#ca=}" ;;
        P) check_pair "${a#key=}" "${b#pub=}" ;;
    esac
done <"$bundle"
if [ -s "$work/failures" ]; then
    # One evidence line per problem; the next step follows from the kind of problem.
    if grep -q 'not yet valid on this node' "$work/failures"; then
        next="fix this node's clock, which lags behind the machine that issued the certificates (timedatectl set-ntp true; chronyc tracking / timedatectl status), then run \`pulumi up\` again"
    elif grep -q 'has expired' "$work/failures"; then
        next="check this node's clock (an expired certificate on a fresh install means it runs ahead: timedatectl status), then run \`pulumi up\` again"
    else
        next="these files come from kube-pki's config and the node's files: fix what the problems name (SANs, CA, kubeconfig), then run \`pulumi up\` again"
    fi
    set --
    while IFS= read -r line; do set -- "$@" "problem: $line"; done <"$work/failures"
    failure_report "verify the staged files (key match, chain, purpose, SANs, kubeconfigs)" \
        "install refused: $# problem(s) in the bundle" \
        "nothing was changed: it keeps its current files (staged copies removed)" "$next" "$@"
    exit 1
fi

# 5. Plan: content, mode and (as root) owner equal → leave the file alone.
: >"$work/plan"
changes=0
while read -r path sha mode owner; do
    real=$(rp "$path")
    same=0
    if [ -f "$real" ] && [ "$(sha256_file "$real")" = "$sha" ] && [ "$(stat -c %a "$real")" = "${mode#0}" ]; then
        same=1
        if [ "$is_root" = 1 ] && [ "$owner" != - ] && [ "$(stat -c %U:%G "$real")" != "$owner" ]; then same=0; fi
    fi
    if [ "$same" = 1 ]; then
        rm -f "$real.kube-pki-new"
        printf 'unchanged %s sha256:%s\n' "$path" "$sha" >>"$work/plan"
    else
        changes=$((changes + 1))
        printf 'installed %s sha256:%s\n' "$path" "$sha" >>"$work/plan"
    fi
done <"$work/files"
# `last-install` tells rotate.sh which backup belongs to the run it follows ("none": nothing changed).
note_last_install() {
    [ -d "$(backup_base)" ] || return 0
    printf '%s\n' "$1" >"$(backup_base)/last-install.tmp"
    mv -f "$(backup_base)/last-install.tmp" "$(backup_base)/last-install"
}
# `installed` records what this install put on the node (sha256 and path per line). Drift
# detection compares the disk with it: a file edited, deleted or rolled back afterwards shows.
record_installed() {
    base=$(backup_base)
    mkdir -p "$base" && chmod 700 "$base"
    awk '{ print $2, $1 }' "$work/files" >"$base/installed.tmp"
    mv -f "$base/installed.tmp" "$base/installed"
}
if [ "$changes" = 0 ]; then
    note_last_install none
    record_installed
    cat "$work/plan"
    log "no changes: all $f_count files already in place; no backup taken"
    exit 0
fi

# 6. Back up everything about to change; the manifest appears last, `latest` after it, so a
#    backup that restore.sh can see is always complete.
backup_base_real=$(backup_base)
mkdir -p "$backup_base_real"
chmod 700 "$backup_base_real"
last=$(ls -1 "$backup_base_real" | grep '^[0-9][0-9][0-9][0-9][0-9][0-9]-' | sort | tail -n 1 | cut -c1-6 | sed 's/^0*//')
name=$(printf '%06d' $((${last:-0} + 1)))-$(date -u +%Y%m%dT%H%M%SZ)-$(printf '%s' "$e_hash" | cut -c1-12)
bk=$backup_base_real/$name
mkdir -m 700 "$bk"
{
    printf 'kube-pki-backup 1\nbundle %s\n' "$e_hash"
    while read -r verb path sha; do
        [ "$verb" = installed ] || continue
        real=$(rp "$path")
        if [ -e "$real" ]; then
            mkdir -p "$bk/files$(dirname -- "$path")"
            cp -p "$real" "$bk/files$path"
            printf 'F %s %s %s\n' "$path" "$(sha256_file "$bk/files$path")" "${sha#sha256:}"
        else
            printf 'N %s %s\n' "$path" "${sha#sha256:}"
        fi
    done <"$work/plan"
    sed 's/^/D /' "$work/dirs"
} >"$bk/manifest.tmp"
mv "$bk/manifest.tmp" "$bk/manifest"
ln -sfn "$name" "$backup_base_real/latest"
note_last_install "$name"
ls -1 "$backup_base_real" | grep '^[0-9][0-9][0-9][0-9][0-9][0-9]-' | sort -r | tail -n +$((opt_keep + 1)) | while read -r old; do
    rm -rf "${backup_base_real:?}/$old"
    log "pruned backup $KP_BACKUP_DIR/$old"
done

# 7. Swap. From here the backup is the way back: if a rename fails, restore it at once.
committed=1
while read -r verb path sha; do
    [ "$verb" = installed ] || continue
    real=$(rp "$path")
    if ! mv -f "$real.kube-pki-new" "$real"; then
        next="check the filesystem of $path (df, mount), then run \`pulumi up\` again"
        if resolve_backup "$name" && restore_backup >/dev/null 2>&1; then
            now="restored: the files it held before, from backup $KP_BACKUP_DIR/$name"
        else
            now="RESTORE FAILED ($KP_REASON): some files may be new, some old; backup $KP_BACKUP_DIR/$name"
            next="$next; first put the old files back: restore.sh $KP_BACKUP_DIR/$name"
        fi
        failure_report "swap the staged files into place" "renaming $path into place failed (disk full or read-only?)" "$now" "$next"
        exit 1
    fi
done <"$work/plan"
record_installed
cat "$work/plan"
log "backup $KP_BACKUP_DIR/$name"
