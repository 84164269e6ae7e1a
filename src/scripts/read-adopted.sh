#!/bin/sh
# read-adopted.sh — prints the PEM files named as arguments (a CA or the sa key pair being
# adopted). This is the one script whose stdout carries key material: the Pulumi resource
# running it must mark its stdout secret. It changes nothing on the node.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: read-adopted.sh [--root DIR] <path>...'
KP_OPTIONS='root='
KP_ARGS='path...'
# Paths have no blanks (checked here), so one space-separated list holds them.
paths=''
add_path() {
    is_node_path "$1" || usage_error "'$1' must be an absolute node path"
    paths="$paths $1"
}
parse_args "$@"
[ -n "$paths" ] || usage_error "no files named"
set -f
# shellcheck disable=SC2086 # one word per path
set -- $paths
# A failure names the file only (never content) and changes nothing.
refuse() {
    failure_report "read the files to adopt:$paths" "$1" "unchanged: reading changes nothing" \
        "adopted CAs and the sa pair are read from this master: make the file exist there as kubeadm wrote it (or adopt from another master), then run \`pulumi up\` again"
    exit 1
}
for p in "$@"; do
    [ -f "$(rp "$p")" ] || refuse "$p: not found"
    [ -r "$(rp "$p")" ] || refuse "$p: not readable by $(id -un)"
    grep -q '^-----BEGIN ' "$(rp "$p")" || refuse "$p: not a PEM file"
done
# Everything is read before anything is printed: a failure must not leave key material on
# stdout, which the provider quotes in its error text whatever `logging` says. printf is a
# shell builtin, so the text never reaches an argv.
pems=''
for p in "$@"; do
    pem=$(cat "$(rp "$p")") || refuse "$p: could not be read"
    pems="$pems$pem
"
done
printf '%s' "$pems"
