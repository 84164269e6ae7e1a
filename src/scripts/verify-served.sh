#!/bin/sh
# verify-served.sh — waits (bounded) until HOST:PORT serves the certificate in CERT-FILE, i.e.
# the component has loaded what is on disk; for etcd also checks `etcdctl endpoint health`.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: verify-served.sh [--root DIR] <component> <host:port> <cert-file> [--timeout S] [--client-cert F --client-key F --cacert F]'
KP_OPTIONS='root= timeout= client-cert= client-key= cacert='
KP_ARGS='component endpoint cert'
opt_timeout=30
parse_args "$@"
[ -n "$cert" ] || usage_error "component, host:port and cert-file are required"
case $endpoint in
    *:[0-9]*) ;;
    *) usage_error "endpoint must be host:port, got '$endpoint'" ;;
esac
if [ -n "$opt_client_cert$opt_client_key$opt_cacert" ] && { [ -z "$opt_client_cert" ] || [ -z "$opt_client_key" ] || [ -z "$opt_cacert" ]; }; then
    usage_error "--client-cert, --client-key and --cacert go together"
fi

check() {
    if [ -n "$opt_client_cert" ]; then
        verify_served "$component" "$endpoint" "$(rp "$cert")" "$opt_timeout" "$(rp "$opt_client_cert")" "$(rp "$opt_client_key")" "$(rp "$opt_cacert")"
    else
        verify_served "$component" "$endpoint" "$(rp "$cert")" "$opt_timeout"
    fi
}
check && exit 0
set --
[ -z "$KP_SERVED" ] || set -- "served: $KP_SERVED; expected: $KP_EXPECTED (the file $cert on disk)"
failure_report "verify $component serves $cert at $endpoint" "$KP_REASON" \
    "unchanged: this check changes nothing; $component runs on what it loaded before" \
    "find why $component does not serve $cert (restarted since the file changed? its flags or manifest name that file?), then run \`pulumi up\` again: drift detection restarts it" "$@"
exit 1
