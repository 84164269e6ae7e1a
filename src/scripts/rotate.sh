#!/bin/sh
# rotate.sh — restart one component and verify it serves the certificate on disk. On failure,
# roll the node back: restore the install backup, restart this component and every component
# this rollout already restarted (listed in <backup>/restarted), verify they serve the old
# certificates, and fail with one message that says what happened and what to do.
# --if-needed (drift repair): restart only when the last install changed files or the component
# does not serve its file (5 s check); otherwise print its `served` line and change nothing.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: rotate.sh [--root DIR] [--backup-dir DIR] [--backup NAME|latest|none] <component> <strategy> <host:port|-> <served-cert-file|-> [--timeout S] [--client-cert F --client-key F --cacert F] [--if-needed]'
timeout_s=120
if_needed=0
which=latest
ccert='' ckey='' cacert=''
component='' strategy='' endpoint='' cert=''
positional() {
    if [ -z "$component" ]; then
        component=$1
    elif [ -z "$strategy" ]; then
        strategy=$1
    elif [ -z "$endpoint" ]; then
        endpoint=$1
    elif [ -z "$cert" ]; then
        cert=$1
    else
        usage_error "unexpected argument '$1'"
    fi
}
set -- "$@" --end-of-args
while [ "$1" != --end-of-args ]; do
    case $1 in
        --root | --backup-dir | --backup | --timeout | --client-cert | --client-key | --cacert)
            [ "$2" != --end-of-args ] || usage_error "$1 needs a value"
            ;;
    esac
    case $1 in
        --root) set_root "$2" && shift 2 ;;
        --backup-dir)
            is_node_path "$2" || usage_error "--backup-dir must be an absolute path without blanks"
            KP_BACKUP_DIR=${2%/} && shift 2
            ;;
        --backup) which=$2 && shift 2 ;;
        --timeout)
            is_uint "$2" && [ "$2" -ge 1 ] || usage_error "--timeout must be a number of seconds >= 1"
            timeout_s=$2 && shift 2
            ;;
        --client-cert) ccert=$2 && shift 2 ;;
        --client-key) ckey=$2 && shift 2 ;;
        --cacert) cacert=$2 && shift 2 ;;
        --if-needed) if_needed=1 && shift ;;
        -h | --help) log "$KP_USAGE" && exit 0 ;;
        -) positional "$1" && shift ;;
        -*) usage_error "unknown option '$1'" ;;
        *) positional "$1" && shift ;;
    esac
done
is_component "$component" || usage_error "unknown component '$component'"
is_strategy "$strategy" || usage_error "unknown strategy '$strategy'"
[ -n "$cert" ] || usage_error "component, strategy, host:port|- and served-cert-file|- are required"
case $endpoint in
    - | *:[0-9]*) ;;
    *) usage_error "endpoint must be host:port or -, got '$endpoint'" ;;
esac
[ "$endpoint" = - ] || [ "$cert" != - ] || usage_error "a served-cert-file is needed to verify $endpoint"
if [ -n "$ccert$ckey$cacert" ] && { [ -z "$ccert" ] || [ -z "$ckey" ] || [ -z "$cacert" ]; }; then
    usage_error "--client-cert, --client-key and --cacert go together"
fi
# These paths are recorded in <backup>/restarted for the rollback: keep them one-word node paths.
for p in "$cert" "${ccert:-/}" "${ckey:-/}" "${cacert:-/}"; do
    [ "$p" = - ] || is_node_path "$p" || usage_error "'$p' must be an absolute node path without blanks"
done

umask 077
set -f
node=$(uname -n)
take_lock

# The backup to roll back to, only if what it installed is still what is on disk: otherwise
# restoring it would undo changes made after it.
have_backup=0
backup_matches_disk() {
    while read -r _bm_tag _bm_path _bm_a _bm_b; do
        case $_bm_tag in
            F) _bm_want=$_bm_b ;;
            N) _bm_want=$_bm_a ;;
            *) continue ;;
        esac
        [ -f "$(rp "$_bm_path")" ] && [ "$(sha256_file "$(rp "$_bm_path")")" = "$_bm_want" ] || return 1
    done <"$KP_BACKUP_REAL/manifest"
    return 0
}
last_install=$(cat "$(backup_base)/last-install" 2>/dev/null || true)

# Drift repair after its re-push: drift seen before this run's own install (which may have fixed
# it) costs no restart. A missing last-install record counts as changed.
if [ "$if_needed" = 1 ] && [ "$last_install" = none ]; then
    if [ "$endpoint" = - ]; then
        log "repair: $component unchanged"
        exit 0
    fi
    if [ -n "$ccert" ]; then
        check() { verify_served "$component" "$endpoint" "$(rp "$cert")" 5 "$(rp "$ccert")" "$(rp "$ckey")" "$(rp "$cacert")"; }
    else
        check() { verify_served "$component" "$endpoint" "$(rp "$cert")" 5; }
    fi
    if check; then
        log "repair: $component unchanged and serving its file"
        exit 0
    fi
    log "repair: $KP_REASON; restarting $component"
fi
if [ "$which" = latest ] && [ "$last_install" = none ]; then
    log "note: the last install changed no file; there is nothing to roll back"
elif [ "$which" != none ]; then
    if ! resolve_backup "$which"; then
        log "note: $KP_REASON; a failure cannot be rolled back"
    elif ! backup_matches_disk; then
        log "note: files changed since backup $KP_BACKUP_NODE; it will not be used for a rollback"
    else
        have_backup=1
    fi
fi

# rotate_one COMPONENT STRATEGY ENDPOINT CERT CCERT CKEY CACERT ("-" = none): restart + verify.
rotate_one() {
    restart_component "$1" "$2" "$timeout_s" || return 1
    [ "$3" != - ] || return 0
    if [ "$5" != - ]; then
        verify_served "$1" "$3" "$(rp "$4")" "$timeout_s" "$(rp "$5")" "$(rp "$6")" "$(rp "$7")"
    else
        verify_served "$1" "$3" "$(rp "$4")" "$timeout_s"
    fi
}

record="$component $strategy $endpoint $cert ${ccert:--} ${ckey:--} ${cacert:--}"
# shellcheck disable=SC2086 # the record is seven one-word fields
if rotate_one $record; then
    if [ "$have_backup" = 1 ] && ! grep -q "^$component " "$KP_BACKUP_REAL/restarted" 2>/dev/null; then
        printf '%s\n' "$record" >>"$KP_BACKUP_REAL/restarted"
    fi
    log "rotated $component on $node"
    exit 0
fi

what=$KP_REASON
case $what in
    *' serves '*) fix="why $component does not serve $cert (its flags/manifest must name that file)" ;;
    *'did not'*) fix="why $component does not start with the new files (see its logs: crictl logs / journalctl -u $component)" ;;
    *etcdctl*) fix="etcd health with the new certificates (etcdctl endpoint health, etcd logs)" ;;
    *) fix="the cause above" ;;
esac
[ "$have_backup" = 1 ] || die "node $node: $component: $what; no backup to roll back to, node keeps the new files; fix $fix and run \`pulumi up\` again"

# After a rollback the node no longer holds what the last install put there, while Pulumi's
# state says it was installed. Count rollbacks (the program folds the count into the node's
# triggers, so the next run installs and restarts that node again until it is verified) and let
# the install record say what is on disk again, so drift does not report the rollback as a hand edit.
note_rollback() {
    _nr_base=$(backup_base)
    _nr_n=$(cat "$_nr_base/rollbacks" 2>/dev/null || true)
    is_uint "${_nr_n:-x}" || _nr_n=0
    printf '%s\n' "$((_nr_n + 1))" >"$_nr_base/rollbacks.tmp" && mv -f "$_nr_base/rollbacks.tmp" "$_nr_base/rollbacks"
    [ -f "$_nr_base/installed" ] || return 0
    while read -r _nr_sha _nr_path; do
        if [ -f "$(rp "$_nr_path")" ]; then printf '%s %s\n' "$(sha256_file "$(rp "$_nr_path")")" "$_nr_path"; fi
    done <"$_nr_base/installed" >"$_nr_base/installed.tmp"
    mv -f "$_nr_base/installed.tmp" "$_nr_base/installed"
}

warn "node $node: $component: $what; rolling back to $KP_BACKUP_NODE"
problems=''
state="the files are NOT restored"
restore_backup >&2 || problems="restore failed: $KP_REASON"
note_rollback || warn "could not record the rollback in $KP_BACKUP_DIR"
if [ -z "$problems" ]; then
    state="the old files are back on disk, but not every component runs on them"
    {
        grep -v "^$component " "$KP_BACKUP_REAL/restarted" 2>/dev/null || true
        printf '%s\n' "$record"
    } >"$KP_BACKUP_REAL/rollback"
    while read -r r_c r_s r_e r_cert r_cc r_ck r_ca; do
        if rotate_one "$r_c" "$r_s" "$r_e" "$r_cert" "$r_cc" "$r_ck" "$r_ca" </dev/null >&2; then
            warn "rolled back $r_c"
        else
            problems="$problems${problems:+; }$r_c after rollback: $KP_REASON"
        fi
    done <"$KP_BACKUP_REAL/rollback"
    : >"$KP_BACKUP_REAL/restarted"
fi
if [ -n "$problems" ]; then
    printf '%s: node %s: %s: %s; ROLLBACK INCOMPLETE [%s]: the node is NOT as before (%s); backup %s\n' \
        "$KP_NAME" "$node" "$component" "$what" "$problems" "$state" "$KP_BACKUP_NODE" >&2
    exit 3
fi
die "node $node: $component: $what; rolled back to $KP_BACKUP_NODE; node is as before; fix $fix and run \`pulumi up\` again"
