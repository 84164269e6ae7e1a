#!/bin/sh
# verify-served.sh — waits (bounded) until HOST:PORT serves the certificate in CERT-FILE, i.e.
# the component has loaded what is on disk; for etcd also checks `etcdctl endpoint health`.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: verify-served.sh [--root DIR] <component> <host:port> <cert-file> [--timeout S] [--client-cert F --client-key F --cacert F]'
timeout_s=30
ccert='' ckey='' cacert=''
set -- "$@" --end-of-args
component='' endpoint='' cert=''
while [ "$1" != --end-of-args ]; do
    case $1 in
        --root | --timeout | --client-cert | --client-key | --cacert)
            [ "$2" != --end-of-args ] || usage_error "$1 needs a value"
            ;;
    esac
    case $1 in
        --root) set_root "$2" && shift 2 ;;
        --timeout)
            is_uint "$2" && [ "$2" -ge 1 ] || usage_error "--timeout must be a number of seconds >= 1"
            timeout_s=$2 && shift 2
            ;;
        --client-cert) ccert=$2 && shift 2 ;;
        --client-key) ckey=$2 && shift 2 ;;
        --cacert) cacert=$2 && shift 2 ;;
        -h | --help) log "$KP_USAGE" && exit 0 ;;
        -*) usage_error "unknown option '$1'" ;;
        *)
            if [ -z "$component" ]; then
                component=$1
            elif [ -z "$endpoint" ]; then
                endpoint=$1
            elif [ -z "$cert" ]; then
                cert=$1
            else
                usage_error "unexpected argument '$1'"
            fi
            shift
            ;;
    esac
done
[ -n "$cert" ] || usage_error "component, host:port and cert-file are required"
case $endpoint in
    *:[0-9]*) ;;
    *) usage_error "endpoint must be host:port, got '$endpoint'" ;;
esac
if [ -n "$ccert$ckey$cacert" ] && { [ -z "$ccert" ] || [ -z "$ckey" ] || [ -z "$cacert" ]; }; then
    usage_error "--client-cert, --client-key and --cacert go together"
fi

if [ -n "$ccert" ]; then
    verify_served "$component" "$endpoint" "$(rp "$cert")" "$timeout_s" "$(rp "$ccert")" "$(rp "$ckey")" "$(rp "$cacert")" || die "$KP_REASON"
else
    verify_served "$component" "$endpoint" "$(rp "$cert")" "$timeout_s" || die "$KP_REASON"
fi
