#!/bin/sh
# rotate.sh — restart one component and verify it serves the certificate on disk. On failure,
# roll the node back: restore the install backup, restart this component and every component
# this rollout already restarted (listed in <backup>/restarted), verify they serve the old
# certificates, and fail with one message that says what happened and what to do.
# --if-needed (drift repair): restart only when the last install changed files or the component
# does not serve its file (5 s check); otherwise print its `served` line and change nothing.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: rotate.sh [--root DIR] [--backup-dir DIR] [--backup NAME|latest|none] <component> <static-pod|systemd|crictl|docker|none> <host:port|-> <served-cert-file|-> [--timeout S] [--client-cert F --client-key F --cacert F] [--unit NAME|--container NAME|--manifests DIR] [--if-needed]'
KP_OPTIONS='root= backup-dir= backup= timeout= client-cert= client-key= cacert= unit= container= manifests= if-needed'
KP_ARGS='component strategy endpoint cert'
opt_timeout=120
opt_backup=latest
parse_args "$@"
is_component "$component" || usage_error "unknown component '$component'"
case $strategy in *:*) usage_error "unknown strategy '$strategy'" ;; esac
is_strategy "$strategy" || usage_error "unknown strategy '$strategy'"
# One word (method:target) from here on: the rollback record keeps it.
strategy=$(strategy_with_target "$strategy") || exit 2
[ -n "$cert" ] || usage_error "component, strategy, host:port|- and served-cert-file|- are required"
case $endpoint in
    - | *:[0-9]*) ;;
    *) usage_error "endpoint must be host:port or -, got '$endpoint'" ;;
esac
[ "$endpoint" = - ] || [ "$cert" != - ] || usage_error "a served-cert-file is needed to verify $endpoint"
if [ -n "$opt_client_cert$opt_client_key$opt_cacert" ] && { [ -z "$opt_client_cert" ] || [ -z "$opt_client_key" ] || [ -z "$opt_cacert" ]; }; then
    usage_error "--client-cert, --client-key and --cacert go together"
fi
# These paths are recorded in <backup>/restarted for the rollback: keep them one-word node paths.
for p in "$cert" "${opt_client_cert:-/}" "${opt_client_key:-/}" "${opt_cacert:-/}"; do
    [ "$p" = - ] || is_node_path "$p" || usage_error "'$p' must be an absolute node path without blanks"
done

umask 077
set -f
node=$(uname -n)
take_lock

# The backup to roll back to, only if what it installed is still what is on disk: otherwise
# restoring it would undo changes made after it.
have_backup=0
held="the new files of the last install"
no_backup="no backup named"
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
if [ "$opt_if_needed" = 1 ] && [ "$last_install" = none ]; then
    if [ "$endpoint" = - ]; then
        log "repair: $component unchanged"
        exit 0
    fi
    if [ -n "$opt_client_cert" ]; then
        check() { verify_served "$component" "$endpoint" "$(rp "$cert")" 5 "$(rp "$opt_client_cert")" "$(rp "$opt_client_key")" "$(rp "$opt_cacert")"; }
    else
        check() { verify_served "$component" "$endpoint" "$(rp "$cert")" 5; }
    fi
    if check; then
        log "repair: $component unchanged and serving its file"
        exit 0
    fi
    log "repair: $KP_REASON; restarting $component"
fi
if [ "$opt_backup" = latest ] && [ "$last_install" = none ]; then
    log "note: the last install changed no file; there is nothing to roll back"
    held="the files it held before (the last install changed none)"
    no_backup="nothing to roll back to"
elif [ "$opt_backup" != none ]; then
    if ! resolve_backup "$opt_backup"; then
        log "note: $KP_REASON; a failure cannot be rolled back"
        no_backup=$KP_REASON
    elif ! backup_matches_disk; then
        log "note: files changed since backup $KP_BACKUP_NODE; it will not be used for a rollback"
        held="files changed after backup $KP_BACKUP_NODE"
        no_backup="that backup would undo those changes"
    else
        have_backup=1
    fi
fi

# rotate_one COMPONENT STRATEGY ENDPOINT CERT CCERT CKEY CACERT ("-" = none): restart + verify.
# KP_STEP names the part that failed.
rotate_one() {
    KP_STEP="restart $1 ($2)"
    KP_SERVED=''
    restart_component "$1" "$2" "$opt_timeout" || return 1
    [ "$3" != - ] || return 0
    KP_STEP="verify $1 serves $4 at $3"
    if [ "$5" != - ]; then
        verify_served "$1" "$3" "$(rp "$4")" "$opt_timeout" "$(rp "$5")" "$(rp "$6")" "$(rp "$7")"
    else
        verify_served "$1" "$3" "$(rp "$4")" "$opt_timeout"
    fi
}

record="$component $strategy $endpoint $cert ${opt_client_cert:--} ${opt_client_key:--} ${opt_cacert:--}"
# shellcheck disable=SC2086 # the record is seven one-word fields
if rotate_one $record; then
    if [ "$have_backup" = 1 ] && ! grep -q "^$component " "$KP_BACKUP_REAL/restarted" 2>/dev/null; then
        printf '%s\n' "$record" >>"$KP_BACKUP_REAL/restarted"
    fi
    log "rotated $component on $node"
    exit 0
fi

# The failure, as evidence for the report: what it served against what it should, and what the
# component does now (taken before any rollback changes it).
what=$KP_REASON
step=$KP_STEP
set --
[ -z "$KP_SERVED" ] || set -- "served: $KP_SERVED; expected: $KP_EXPECTED (the file $cert on disk)"
set -- "$@" "state: $(component_state "$component" "$strategy")"
case $what in
    *' serves '*) fix="find why $component does not serve $cert: its flags or manifest must name that file (grep -r $cert /etc/kubernetes/manifests), then run \`pulumi up\` again" ;;
    *'did not'*) fix="read why $component does not run with the new files ($(logs_hint "$component" "$strategy")), fix the cause, then run \`pulumi up\` again" ;;
    *etcdctl*) fix="check etcd with the new certificates (etcdctl endpoint health; crictl logs of etcd), then run \`pulumi up\` again" ;;
    *) fix="fix the cause above, then run \`pulumi up\` again" ;;
esac
if [ "$have_backup" != 1 ]; then
    failure_report "$step" "$what" \
        "$held; $component NOT verified on them; no rollback ($no_backup)" \
        "$fix" "$@"
    exit 1
fi

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

# Roll back. Its progress goes to a log whose summary becomes evidence, so the report stays short.
rb_log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-rollback.XXXXXX")
trap 'rm -f "$rb_log"' EXIT
problems=''
state="the files are NOT restored: the node holds the new files"
if restore_backup >"$rb_log" 2>&1; then
    set -- "$@" "rollback: restored $(grep -c '^restored \|^removed /' "$rb_log" || true) file(s) from $KP_BACKUP_NODE"
else
    problems="restore failed: $KP_REASON"
    set -- "$@" "rollback: restore from $KP_BACKUP_NODE FAILED: $KP_REASON"
fi
note_rollback || set -- "$@" "rollback: could not record the rollback in $KP_BACKUP_DIR/rollbacks"
rolled=''
if [ -z "$problems" ]; then
    state="the old files are back on disk, but not every component runs on them"
    {
        grep -v "^$component " "$KP_BACKUP_REAL/restarted" 2>/dev/null || true
        printf '%s\n' "$record"
    } >"$KP_BACKUP_REAL/rollback"
    while read -r r_c r_s r_e r_cert r_cc r_ck r_ca; do
        if rotate_one "$r_c" "$r_s" "$r_e" "$r_cert" "$r_cc" "$r_ck" "$r_ca" </dev/null >"$rb_log" 2>&1; then
            rolled="$rolled${rolled:+, }$r_c"
            _served=$(sed -n "s/^served $r_c //p" "$rb_log")
            set -- "$@" "rollback: rolled back $r_c (restarted${_served:+, serves the old $_served})"
        else
            problems="$problems${problems:+; }$r_c after rollback: $KP_REASON"
            set -- "$@" "rollback: $r_c FAILED after rollback: $KP_REASON" "state: $(component_state "$r_c" "$r_s")"
        fi
    done <"$KP_BACKUP_REAL/rollback"
    : >"$KP_BACKUP_REAL/restarted"
fi
if [ -n "$problems" ]; then
    failure_report "$step" "$what" \
        "ROLLBACK INCOMPLETE [$problems]: the node is NOT as before ($state); backup $KP_BACKUP_NODE" \
        "bring the components above back by hand (their logs say why they do not start), and if the files are not restored run restore.sh $KP_BACKUP_NODE; then $fix" "$@"
    exit 3
fi
failure_report "$step" "$what" \
    "rolled back to $KP_BACKUP_NODE; node is as before: the old files, $rolled restarted and verified on them" \
    "$fix (it installs and restarts this node again)" "$@"
exit 1
