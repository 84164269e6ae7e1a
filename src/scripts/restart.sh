#!/bin/sh
# restart.sh — restarts one control-plane component and waits (bounded) until it runs again.
# Strategies: static-pod (park the manifest, wait for the container to go, put it back, wait
# for a new container), systemd, crictl (stop the container, kubelet starts a new one).
# kubelet itself is always restarted with systemctl.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restart.sh [--root DIR] <etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet> <static-pod|systemd|crictl> [--timeout S]'
timeout_s=120
component=''
strategy=''
while [ $# -gt 0 ]; do
    case $1 in
        --root | --timeout) [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
    esac
    case $1 in
        --root) set_root "$2" && shift 2 ;;
        --timeout)
            is_uint "$2" && [ "$2" -ge 1 ] || usage_error "--timeout must be a number of seconds >= 1"
            timeout_s=$2 && shift 2
            ;;
        -h | --help) log "$KP_USAGE" && exit 0 ;;
        -*) usage_error "unknown option '$1'" ;;
        *)
            if [ -z "$component" ]; then
                component=$1
            elif [ -z "$strategy" ]; then
                strategy=$1
            else
                usage_error "unexpected argument '$1'"
            fi
            shift
            ;;
    esac
done
is_component "$component" || usage_error "unknown component '$component'"
is_strategy "$strategy" || usage_error "unknown strategy '$strategy'"

restart_component "$component" "$strategy" "$timeout_s" || die "node $(uname -n): $KP_REASON"
