#!/bin/sh
# restart.sh — restarts one control-plane component and waits (bounded) until it runs again.
# Strategies: static-pod (park the manifest, wait for the container to go, put it back, wait
# for a new container), systemd, crictl (stop the container, kubelet starts a new one).
# kubelet itself is always restarted with systemctl.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restart.sh [--root DIR] <etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet> <static-pod|systemd|crictl> [--timeout S]'
KP_OPTIONS='root= timeout='
KP_ARGS='component strategy'
opt_timeout=120
parse_args "$@"
is_component "$component" || usage_error "unknown component '$component'"
is_strategy "$strategy" || usage_error "unknown strategy '$strategy'"

restart_component "$component" "$strategy" "$opt_timeout" && exit 0
failure_report "restart $component ($strategy)" "$KP_REASON" \
    "the files on disk are unchanged; $component is not confirmed running on them" \
    "read why $component does not run ($(logs_hint "$component" "$strategy")), fix the cause, then run \`pulumi up\` again" \
    "state: $(component_state "$component" "$strategy")"
exit 1
