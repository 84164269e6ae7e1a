#!/bin/sh
# read-adopted.sh — prints the PEM files named as arguments (a CA or the sa key pair being
# adopted). This is the one script whose stdout carries key material: the Pulumi resource
# running it must mark its stdout secret. It changes nothing on the node.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: read-adopted.sh [--root DIR] <path>...'
[ $# -gt 0 ] || usage_error "no files named"
if [ "$1" = --root ]; then
    [ $# -ge 2 ] || usage_error "--root needs a value"
    set_root "$2"
    shift 2
fi
[ $# -gt 0 ] || usage_error "no files named"
for p in "$@"; do
    is_node_path "$p" || usage_error "'$p' must be an absolute node path"
    [ -f "$(rp "$p")" ] || die "$p: not found on node $(uname -n)"
    [ -r "$(rp "$p")" ] || die "$p: not readable on node $(uname -n)"
    grep -q '^-----BEGIN ' "$(rp "$p")" || die "$p: not a PEM file"
done
# Everything is read before anything is printed: a failure must not leave key material on
# stdout, which the provider quotes in its error text whatever `logging` says. printf is a
# shell builtin, so the text never reaches an argv.
pems=''
for p in "$@"; do
    pem=$(cat "$(rp "$p")") || die "$p: could not be read on node $(uname -n)"
    pems="$pems$pem
"
done
printf '%s' "$pems"
