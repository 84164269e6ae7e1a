#!/bin/sh
# kit-activate.sh — put a shipped kube-pki kit in place. The activation command has already checked
# /var/lib/kube-pki/kit/.incoming/<id> against its MANIFEST and the MANIFEST against <id> (and runs
# this script from that checked copy). Here: copy exactly the files the MANIFEST names into a new
# directory, check them again, rename it to /var/lib/kube-pki/kit/<id> (atomic), dirs 0700, scripts
# 0700, MANIFEST 0600, and remove kits beyond --keep, oldest first, never <id>. Idempotent: without
# an incoming copy it only refreshes the active kit's age and prunes. No secrets in a kit.
# lib.sh comes from this script's own directory: the copy of the NEW kit the activation command
# has just checked (never the lib.sh of the kit being replaced), so its parse_args is safe to use.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: kit-activate.sh [--root DIR] [--keep N] <kit-id>'
KP_OPTIONS='root= keep='
KP_ARGS='id'
opt_keep=3
parse_args "$@"
case $id in '' | *[!0-9a-f]*) usage_error "kit id must be 64 hex digits, got '$id'" ;; esac
[ ${#id} -eq 64 ] || usage_error "kit id must be 64 hex digits, got '$id'"
keep=$opt_keep

umask 077
base=$(rp /var/lib/kube-pki/kit)
incoming=$base/.incoming/$id
dest=$base/$id

verified() { [ -f "$1/MANIFEST" ] && [ "$(sha256sum <"$1/MANIFEST")" = "$id  -" ] && (cd "$1" && sha256sum -c MANIFEST) >/dev/null 2>&1; }

mkdir -p "$base"
chmod 0700 "$base"
# Leftovers of an activation that was cut off.
rm -rf "$base"/.new-* "$base"/.old-*

if [ -d "$incoming" ] && ! verified "$dest"; then
    new=$base/.new-$id.$$
    mkdir "$new"
    while read -r _sum file; do
        case $file in '' | */* | .*) die "MANIFEST of kit $id names '$file'" ;; esac
        cp "$incoming/$file" "$new/$file"
    done <"$incoming/MANIFEST"
    cp "$incoming/MANIFEST" "$new/MANIFEST"
    verified "$new" || { rm -rf "$new"; die "kit $id: the copy in $new does not match its MANIFEST"; }
    chmod 0600 "$new"/*
    chmod 0700 "$new"/*.sh "$new"
    if [ -d "$dest" ]; then
        # An altered kit of the same id: move it aside, put the checked one in place, drop it.
        mv "$dest" "$base/.old-$id.$$"
        mv "$new" "$dest"
        rm -rf "$base/.old-$id.$$"
        log "kit $id replaced an altered copy"
    else
        mv "$new" "$dest"
        log "kit $id activated"
    fi
else
    verified "$dest" || die "kit $id: nothing shipped and no valid kit at $dest"
    touch "$dest"
    log "kit $id already active"
fi
rm -rf "$incoming"

# Keep the active kit and the newest others up to --keep in all.
kept=1
for other in $(ls -1t "$base"); do
    case $other in "$id" | *[!0-9a-f]*) continue ;; esac
    [ ${#other} -eq 64 ] || continue
    if [ "$kept" -lt "$keep" ]; then
        kept=$((kept + 1))
    else
        rm -rf "${base:?}/$other"
        log "kit $other pruned"
    fi
done
