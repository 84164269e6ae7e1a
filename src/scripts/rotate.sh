#!/bin/sh
# rotate.sh — restart one component and verify it serves the certificate on disk. On failure,
# roll the node back: restore the install backup, restart this component and every component
# this rollout already restarted (listed in <backup>/restarted), verify they serve the old
# certificates, and fail with one message that says what happened and what to do.
# --if-needed (drift repair): restart only when the last install changed files or the component
# does not serve its file (5 s check); otherwise print its `served` line and change nothing.
# No rollback where going back cannot be better (issue 12; lib.sh keep_new_reasons): with
# --keep-new (recovering a control plane that is down: its old files are expired), when the
# component was not running before this restart (a static pod without its manifest, a unit
# inactive or failed, a container absent or exited), or when the backup holds no old file (it
# would only delete what this install put on a node that lacked it, e.g. a wiped
# /etc/kubernetes), or when the backup's copies of the certificates it serves and presents have
# expired (a control plane recovered after every leaf ran out: the recovery order cannot pass
# --keep-new, so the node decides). The node then keeps the new, checked files, no rollback is counted (the
# failed command runs again at the next `up`), and the report says what is missing and what to do.
# Exit codes: 0 verified (with --if-needed also: nothing to do); 1 failed and rolled back, the
# node is as before (or failed with nothing to roll back to, as the report says); 2 usage error;
# 3 failed and the rollback is incomplete; 4 failed and not rolled back: the node keeps the new,
# checked files.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: rotate.sh [--root DIR] [--backup-dir DIR] [--backup NAME|latest|none] <component> <static-pod|systemd|crictl|docker|none> <host:port|-> <served-cert-file|-> [--timeout S] [--client-cert F --client-key F --cacert F] [--unit NAME|--container NAME|--manifests DIR] [--if-needed] [--keep-new]'
KP_OPTIONS='root= backup-dir= backup= timeout= client-cert= client-key= cacert= unit= container= manifests= if-needed keep-new'
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
# The backup to roll back to (lib.sh choose_backup).
choose_backup "$opt_backup" "$last_install"

# Asked before the restart changes the answer: a component that was not running cannot be
# "restored" to not running by deleting what this run installed.
ran_before=1
before_why=''
missing_manifest=''
if ! component_running "$component" "$strategy"; then
    ran_before=0
    before_why=$KP_REASON
    missing_manifest=$KP_MISSING_MANIFEST
fi

record="$component $strategy $endpoint $cert ${opt_client_cert:--} ${opt_client_key:--} ${opt_cacert:--}"
# shellcheck disable=SC2086 # the record is seven one-word fields
if rotate_one $record; then
    note_restarted "$record"
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
[ "$ran_before" = 1 ] || fix=$(start_hint "$component" "$strategy" "$missing_manifest")
if [ "$KP_HAVE_BACKUP" != 1 ]; then
    failure_report "$step" "$what" \
        "$KP_HELD; $component NOT verified on them; no rollback ($KP_NO_BACKUP)" \
        "$fix" "$@"
    exit 1
fi

# Keep the new files where going back cannot be better, else roll back (lib.sh finish_failed_restart).
finish_failed_restart "$component" "$record" "$opt_keep_new" "$ran_before" "$before_why" "$cert" \
    "restarts and verifies" "restarted and verified" "$step" "$what" "$fix" "$@"
