#!/bin/sh
# restart-consumer.sh — restart a component outside kube-pki's catalogue that reads a certificate
# declared in kube-pki:certificates (kube-proxy, flanneld), wait (bounded) until it runs again,
# and, when it names a port, until it serves its certificate file. Methods: systemd (unit),
# docker or crictl (container), none (nothing restarted, nothing checked).
# On failure, as rotate.sh: restore the last install's backup, restart the components this
# rollout already restarted and this one on the old files, count the rollback and fail with a
# runbook entry. Never into something worse (lib.sh keep_new_reasons): a consumer that did not run
# before this restart keeps the new files, and the report says what is missing (exit 4).
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restart-consumer.sh [--root DIR] [--backup-dir DIR] [--backup NAME|latest|none] <name> <systemd|docker|crictl|none> <unit|container|-> [--timeout S] [--endpoint HOST:PORT --cert FILE]'
KP_OPTIONS='root= backup-dir= backup= timeout= endpoint= cert='
KP_ARGS='name method target'
opt_timeout=120
opt_backup=latest
parse_args "$@"
plain() { case $1 in '' | -* | *[!A-Za-z0-9_.@:-]*) return 1 ;; *) return 0 ;; esac; }
plain "$name" || usage_error "name must be a plain name, got '$name'"
# Catalogue components are rotate.sh's: restarted in order and verified with their own checks.
! is_component "$name" || usage_error "$name is a catalogue component: rotate.sh restarts it"
case $method in
    systemd | docker | crictl) plain "$target" || usage_error "$method needs a plain unit or container name, got '$target'" ;;
    none) ;;
    *) usage_error "unknown method '$method'" ;;
esac
if [ -n "$opt_endpoint$opt_cert" ]; then
    [ -n "$opt_endpoint" ] && [ -n "$opt_cert" ] || usage_error "--endpoint and --cert go together"
    case $opt_endpoint in *:[0-9]*) ;; *) usage_error "--endpoint must be host:port, got '$opt_endpoint'" ;; esac
    is_node_path "$opt_cert" || usage_error "'$opt_cert' must be an absolute node path without blanks"
fi

if [ "$method" = none ]; then
    log "$name: restart method none; not restarted"
    exit 0
fi
umask 077
set -f
take_lock

# Asked before the restart changes the answer (lib.sh component_running): a consumer that did
# not run cannot be "restored" to not running by undoing this run's install.
strategy=$method:$target
ran_before=1
before_why=''
if ! component_running "$name" "$strategy"; then
    ran_before=0
    before_why=$KP_REASON
fi

# Its notes are for a failure, whose report says why there is no rollback: quiet here.
choose_backup "$opt_backup" "$(cat "$(backup_base)/last-install" 2>/dev/null || true)" >/dev/null

# One record as rotate.sh keeps them in <backup>/restarted (a later failure restarts this one too).
record="$name $strategy ${opt_endpoint:--} ${opt_cert:--} - - -"
# shellcheck disable=SC2086 # the record is seven one-word fields
if rotate_one $record; then
    note_restarted "$record"
    log "restarted $name ($method $target) on $(uname -n)"
    exit 0
fi

# The failure, as evidence: what it served against what it should, and what it does now.
what=$KP_REASON
step=$KP_STEP
set --
[ -z "$KP_SERVED" ] || set -- "served: $KP_SERVED; expected: $KP_EXPECTED (the file $opt_cert on disk)"
set -- "$@" "state: $(component_state "$name" "$strategy")"
case $what in
    *' serves '*) fix="find why $name does not serve $opt_cert (its flags must name that file), then run \`pulumi up\` again" ;;
    *) fix="read why $name does not run with the new files ($(logs_hint "$name" "$strategy")), fix the cause, then run \`pulumi up\` again" ;;
esac
[ "$ran_before" = 1 ] || fix=$(start_hint "$name" "$strategy" '')
if [ "$KP_HAVE_BACKUP" != 1 ]; then
    [ "$ran_before" = 1 ] || set -- "$@" "missing: $before_why (before this run)"
    failure_report "$step" "$what" \
        "$KP_HELD; $name NOT verified on them; no rollback ($KP_NO_BACKUP)" "$fix" "$@"
    exit 1
fi

# Keep the new files where going back cannot be better, else roll back: as rotate.sh (lib.sh).
finish_failed_restart "$name" "$record" 0 "$ran_before" "$before_why" "" \
    "restarts" "restarted" "$step" "$what" "$fix" "$@"
