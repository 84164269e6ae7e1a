#!/bin/sh
# manifests.sh — kube-pki's own copy of the static pod manifests it restarts (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler), kept under /var/lib/kube-pki/manifests,
# which a wipe of /etc/kubernetes leaves alone.
#   save             copy every such manifest that differs from its copy (atomically, 0600);
#                    a copy whose manifest is absent is kept, never removed.
#   restore NAME...  put back the named manifests that are MISSING, from the copy; a manifest on
#                    disk is never touched (an operator's newer one must not lose to a stale copy).
#                    A missing manifest without a copy fails, naming it; the others are restored.
#   --derived        restore also reads manifests derived from another master on stdin, each after
#                    a line "#kube-pki-manifest NAME SHA256"; used where a NAME has no copy, checked
#                    against its sha256, and like the copy never written over a manifest on disk.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: manifests.sh [--root DIR] [--manifests DIR] [--copy-dir DIR] [--derived] save | restore <etcd|kube-apiserver|kube-controller-manager|kube-scheduler>...'
KP_OPTIONS='root= manifests= copy-dir= derived'
KP_ARGS='action name...'
opt_manifests=/etc/kubernetes/manifests
opt_copy_dir=/var/lib/kube-pki/manifests
names=''
add_name() {
    case $1 in
        etcd | kube-apiserver | kube-controller-manager | kube-scheduler) names="$names $1" ;;
        *) usage_error "unknown static pod component '$1'" ;;
    esac
}
parse_args "$@"
for p in "$opt_manifests" "$opt_copy_dir"; do
    is_node_path "$p" || usage_error "'$p' must be an absolute node path without blanks"
done
case $action in
    save)
        [ -z "$names" ] || usage_error "save takes no component names"
        [ "$opt_derived" = 0 ] || usage_error "--derived goes with restore"
        ;;
    restore) [ -n "$names" ] || usage_error "restore needs at least one component" ;;
    *) usage_error "action must be save or restore, got '${action:-nothing}'" ;;
esac

umask 077
set -f
take_lock
manifests=$(rp "${opt_manifests%/}")
copies=$(rp "${opt_copy_dir%/}")

# copy_atomic SRC DEST: a temporary beside DEST (same filesystem), checked, then renamed.
copy_atomic() {
    rm -f "$2.kube-pki-tmp"
    cp "$1" "$2.kube-pki-tmp" && chmod 600 "$2.kube-pki-tmp" &&
        [ "$(sha256_file "$2.kube-pki-tmp")" = "$(sha256_file "$1")" ] &&
        mv -f "$2.kube-pki-tmp" "$2" || {
        rm -f "$2.kube-pki-tmp"
        return 1
    }
}

if [ "$action" = save ]; then
    mkdir -p "$copies"
    chmod 700 "$copies"
    for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
        src=$manifests/$c.yaml
        [ -f "$src" ] || continue
        sha=$(sha256_file "$src")
        if [ -f "$copies/$c.yaml" ] && [ "$(sha256_file "$copies/$c.yaml")" = "$sha" ]; then
            log "unchanged $opt_copy_dir/$c.yaml sha256:$sha"
            continue
        fi
        copy_atomic "$src" "$copies/$c.yaml" || die "cannot copy $opt_manifests/$c.yaml to $opt_copy_dir (disk full or read-only?)"
        log "saved $opt_copy_dir/$c.yaml sha256:$sha"
    done
    exit 0
fi

# The derived manifests, split from stdin into a private directory beside the copies.
derived=''
if [ "$opt_derived" = 1 ]; then
    derived=${copies%/*}/derived.$$
    rm -rf "$derived"
    mkdir -p "$derived"
    awk -v dir="$derived" '
        /^#kube-pki-manifest / {
            if ($2 !~ /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$/ || $3 !~ /^[0-9a-f]+$/) exit 3
            if (out != "") close(out)
            out = dir "/" $2 ".yaml"; print $3 > (dir "/" $2 ".sha256"); close(dir "/" $2 ".sha256")
            printf "" > out
            next
        }
        out != "" { print > out }
    ' || { rm -rf "$derived"; die "--derived: stdin is not a list of framed manifests"; }
fi
cleanup_derived() { [ -z "$derived" ] || rm -rf "$derived"; }
trap cleanup_derived EXIT

missing=''
# shellcheck disable=SC2086 # names are plain words checked by add_name
for c in $names; do
    if [ -f "$manifests/$c.yaml" ]; then
        log "present $opt_manifests/$c.yaml (left as it is)"
    elif [ -f "$copies/$c.yaml" ]; then
        mkdir -p "$manifests"
        copy_atomic "$copies/$c.yaml" "$manifests/$c.yaml" || die "cannot write $opt_manifests/$c.yaml (disk full or read-only?)"
        log "restored $opt_manifests/$c.yaml from $opt_copy_dir/$c.yaml sha256:$(sha256_file "$manifests/$c.yaml")"
    elif [ -n "$derived" ] && [ -f "$derived/$c.yaml" ]; then
        want=$(cat "$derived/$c.sha256")
        [ "$(sha256_file "$derived/$c.yaml")" = "$want" ] || die "--derived: $c.yaml does not match its sha256 $want (truncated stdin?)"
        mkdir -p "$manifests"
        copy_atomic "$derived/$c.yaml" "$manifests/$c.yaml" || die "cannot write $opt_manifests/$c.yaml (disk full or read-only?)"
        log "restored $opt_manifests/$c.yaml derived from another master's sha256:$want"
    else
        missing="$missing $c"
    fi
done
[ -n "$missing" ] || exit 0
failure_report "restore static pod manifests" "no copy of$missing in $opt_copy_dir" \
    "the manifests above that had a copy are restored; $opt_manifests lacks$missing" \
    "recreate them with kubeadm init phase control-plane / etcd and your kubeadm config (the preview names the commands), then run \`pulumi up\` again"
exit 1
