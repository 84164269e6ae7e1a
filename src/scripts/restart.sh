#!/bin/sh
# restart.sh — restarts one control-plane component and waits (bounded) until it runs again.
# Strategies: static-pod (park the manifest, wait for the container to go, put it back, wait
# for a new container; --manifests DIR), systemd (--unit NAME), crictl (stop the container,
# kubelet starts a new one; --container NAME), docker (docker restart; --container NAME), none.
# A kubelet given static-pod or crictl is restarted with systemctl.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restart.sh [--root DIR] <etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet> <static-pod|systemd|crictl|docker|none> [--timeout S] [--unit NAME|--container NAME|--manifests DIR]'
KP_OPTIONS='root= timeout= unit= container= manifests='
KP_ARGS='component strategy'
opt_timeout=120
parse_args "$@"
is_component "$component" || usage_error "unknown component '$component'"
case $strategy in *:*) usage_error "unknown strategy '$strategy'" ;; esac
is_strategy "$strategy" || usage_error "unknown strategy '$strategy'"
strategy=$(strategy_with_target "$strategy") || exit 2

restart_component "$component" "$strategy" "$opt_timeout" && exit 0
failure_report "restart $component ($strategy)" "$KP_REASON" \
    "the files on disk are unchanged; $component is not confirmed running on them" \
    "read why $component does not run ($(logs_hint "$component" "$strategy")), fix the cause, then run \`pulumi up\` again" \
    "state: $(component_state "$component" "$strategy")"
exit 1
