#!/bin/sh
# restart-consumer.sh — restart a component outside kube-pki's catalogue that reads a certificate
# declared in kube-pki:certificates (kube-proxy, flanneld), wait (bounded) until it runs again,
# and, when it names a port, until it serves its certificate file. Methods: systemd (unit),
# docker or crictl (container), none (nothing restarted, nothing checked).
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restart-consumer.sh [--root DIR] <name> <systemd|docker|crictl|none> <unit|container|-> [--timeout S] [--endpoint HOST:PORT --cert FILE]'
KP_OPTIONS='root= timeout= endpoint= cert='
KP_ARGS='name method target'
opt_timeout=120
parse_args "$@"
plain() { case $1 in '' | -* | *[!A-Za-z0-9_.@:-]*) return 1 ;; *) return 0 ;; esac; }
plain "$name" || usage_error "name must be a plain name, got '$name'"
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
end=$(deadline_in "$opt_timeout")
_unit_up() { run_bounded 10 systemctl is-active --quiet "$target"; }
_docker_up() { [ "$(run_bounded 10 docker inspect -f '{{.State.Running}}' "$target" 2>/dev/null)" = true ]; }
_cri_new() { _now=$(running_id "$target"); [ -n "$_now" ] && [ "$_now" != "$before" ]; }

take_lock
KP_REASON=''
case $method in
    systemd)
        state() { printf 'systemctl is-active %s: %s' "$target" "$(run_bounded 10 systemctl is-active "$target" 2>/dev/null || true)"; }
        hint="journalctl -u $target -n 50"
        if run_bounded 60 systemctl restart "$target" && poll_until "$end" _unit_up; then :; else KP_REASON="unit $target is not active within $opt_timeout s after systemctl restart"; fi
        ;;
    docker)
        state() { printf 'docker inspect %s: %s' "$target" "$(run_bounded 10 docker inspect -f '{{.State.Status}}' "$target" 2>/dev/null || printf 'no such container')"; }
        hint="docker logs --tail 50 $target"
        before=$(run_bounded 10 docker inspect -f '{{.State.StartedAt}}' "$target" 2>/dev/null || true)
        if run_bounded 60 docker restart "$target" >/dev/null && poll_until "$end" _docker_up; then :; else KP_REASON="container $target is not running within $opt_timeout s after docker restart"; fi
        ;;
    crictl)
        state() { printf 'crictl ps --name %s: %s' "$target" "$(running_id "$target" | cut -c1-13)"; }
        hint="crictl logs --tail 50 <container of $target>"
        before=$(running_id "$target")
        [ -z "$before" ] || run_bounded 60 crictl stop "$before" >/dev/null 2>&1 || true
        poll_until "$end" _cri_new || KP_REASON="no new container $target within $opt_timeout s after crictl stop (the kubelet starts it again)"
        ;;
esac
if [ -z "$KP_REASON" ] && [ -n "$opt_endpoint" ]; then
    verify_served "$name" "$opt_endpoint" "$(rp "$opt_cert")" "$opt_timeout" || true
fi
if [ -n "$KP_REASON" ]; then
    failure_report "restart $name ($method $target)" "$KP_REASON" \
        "the new files are on disk; $name is NOT verified on them" \
        "read why $name does not run with them ($hint), fix the cause, then run \`pulumi up\` again" \
        "state: $(state)"
    exit 1
fi
log "restarted $name ($method $target) on $(uname -n)"
