#!/bin/sh
# verify-recovery.sh — the end-to-end proof of a recovery (src/rollout/recovery.ts), run on one
# master once every etcd and apiserver is back: a quorum WRITE to etcd with the apiserver's etcd
# client certificate (etcdctl put; a member without quorum cannot commit it), then an
# authenticated GET /healthz with the admin kubeconfig (kubectl when the node has it, otherwise
# openssl s_client with the kubeconfig's client pair; the apiserver's healthz includes etcd).
# Each part is bounded by --timeout and polled (members and apiservers settle after restarts).
# Exit 0: proven (a missing etcdctl is said, not failed: kubeadm masters often lack it); 1: failed.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: verify-recovery.sh [--root DIR] [--timeout S] [--etcd HOST:PORT --etcd-cert F --etcd-key F --etcd-ca F] [--apiserver HOST:PORT --kubeconfig F --ca F]'
KP_OPTIONS='root= timeout= etcd= etcd-cert= etcd-key= etcd-ca= apiserver= kubeconfig= ca='
KP_ARGS=''
opt_timeout=120
parse_args "$@"
if [ -n "$opt_etcd$opt_etcd_cert$opt_etcd_key$opt_etcd_ca" ] && { [ -z "$opt_etcd" ] || [ -z "$opt_etcd_cert" ] || [ -z "$opt_etcd_key" ] || [ -z "$opt_etcd_ca" ]; }; then
    usage_error "--etcd, --etcd-cert, --etcd-key and --etcd-ca go together"
fi
if [ -n "$opt_apiserver$opt_kubeconfig$opt_ca" ] && { [ -z "$opt_apiserver" ] || [ -z "$opt_kubeconfig" ] || [ -z "$opt_ca" ]; }; then
    usage_error "--apiserver, --kubeconfig and --ca go together"
fi
[ -n "$opt_etcd$opt_apiserver" ] || usage_error "nothing to verify: give --etcd … and/or --apiserver …"

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/kube-pki-recovery.XXXXXX")
trap 'rm -rf "$work"' EXIT
end=$(deadline_in "$opt_timeout")
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# The key written is kube-pki's own, outside the apiserver's /registry prefix.
_quorum_write() {
    run_bounded 10 etcdctl --endpoints="https://$opt_etcd" --cacert="$(rp "$opt_etcd_ca")" --cert="$(rp "$opt_etcd_cert")" \
        --key="$(rp "$opt_etcd_key")" --dial-timeout=2s --command-timeout=5s put /kube-pki/recovery-check "$stamp" >"$work/etcd.out" 2>&1
}

# kubectl reads the kubeconfig itself; without it the client pair is decoded into $work (0700,
# removed on exit), never into argv or the environment.
_healthz() {
    if [ "$have_kubectl" = 1 ]; then
        run_bounded 10 kubectl --kubeconfig "$(rp "$opt_kubeconfig")" --request-timeout=5s get --raw /healthz >"$work/healthz" 2>&1
    else
        printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "${opt_apiserver%:*}" |
            run_bounded 10 openssl s_client -quiet -connect "$opt_apiserver" -cert "$work/cert" -key "$work/key" \
                -CAfile "$(rp "$opt_ca")" -verify_return_error >"$work/healthz" 2>/dev/null
    fi
    # kubectl prints the body; the raw response ends with it.
    [ "$(tail -n 1 "$work/healthz" | tr -d '\r')" = ok ]
}

# failed STEP WHAT EVIDENCE NEXT
failed() {
    failure_report "$1" "$2" "the new files are installed and every etcd and apiserver was restarted on them; nothing was changed by this check" \
        "$4" "$3"
    exit 1
}

if [ -n "$opt_etcd" ]; then
    if ! command -v etcdctl >/dev/null 2>&1; then
        log "note: no etcdctl on $(uname -n); the etcd quorum write was not made (the apiserver's /healthz below checks etcd)"
    elif poll_until "$end" _quorum_write; then
        log "etcd quorum write ok (put /kube-pki/recovery-check at $opt_etcd)"
    else
        failed "etcd quorum write at $opt_etcd" "etcdctl put did not succeed within $opt_timeout s" \
            "etcd: $(tail -n 1 "$work/etcd.out" 2>/dev/null)" \
            "find why etcd has no quorum (etcdctl member list; etcdctl endpoint status --cluster; the etcd logs on every master), then run \`pulumi up\` again"
    fi
fi

if [ -n "$opt_apiserver" ]; then
    have_kubectl=0
    if command -v kubectl >/dev/null 2>&1; then
        have_kubectl=1
    else
        kc=$(rp "$opt_kubeconfig")
        [ -r "$kc" ] || failed "read $opt_kubeconfig" "the admin kubeconfig $opt_kubeconfig is not readable" "state: missing" \
            "check that kube-pki installed $opt_kubeconfig (kube-pki check --stack), then run \`pulumi up\` again"
        if ! kubeconfig_value client-certificate-data "$kc" | base64 -d >"$work/cert" 2>/dev/null ||
            ! kubeconfig_value client-key-data "$kc" | base64 -d >"$work/key" 2>/dev/null || [ ! -s "$work/key" ]; then
            failed "read $opt_kubeconfig" "no embedded client pair in $opt_kubeconfig (client-certificate-data, client-key-data)" "state: unreadable" \
                "install kubectl on this master or embed the admin credentials, then run \`pulumi up\` again"
        fi
    fi
    if poll_until "$end" _healthz; then
        if [ "$have_kubectl" = 1 ]; then how=kubectl; else how="openssl s_client"; fi
        log "apiserver healthz ok at $opt_apiserver with $opt_kubeconfig ($how)"
    else
        failed "GET /healthz at $opt_apiserver with $opt_kubeconfig" "the apiserver did not answer ok within $opt_timeout s" \
            "answer: $(tail -n 1 "$work/healthz" 2>/dev/null | tr -d '\r' | cut -c1-200)" \
            "find why the apiserver is unhealthy (its logs: crictl logs of kube-apiserver; etcd health), then run \`pulumi up\` again"
    fi
fi
