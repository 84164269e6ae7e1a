#!/bin/sh
# restore.sh — puts back the files of an install.sh backup (default: latest) atomically and
# removes the files that install created; also the way out of a crash between backup and swap.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restore.sh [--root DIR] [--backup-dir DIR] [<backup name or path>|latest]'
KP_OPTIONS='root= backup-dir='
KP_ARGS='backup'
parse_args "$@"

umask 077
set -f
[ -d "$(backup_base)" ] || die "no backups: $KP_BACKUP_DIR does not exist"
take_lock
resolve_backup "${backup:-latest}" || die "$KP_REASON"
# Say it before doing it: such a restore makes a node lack every file (rotate.sh never does it).
if ! grep -q '^F ' "$KP_BACKUP_REAL/manifest"; then
    log "note: $KP_BACKUP_NODE holds no old file: restoring it only removes the $(grep -c '^N ' "$KP_BACKUP_REAL/manifest" || true) file(s) its install put on a node that lacked them"
fi
restore_backup && exit 0
# Copies are checked before the first rename: only a failed rename leaves a mixed tree.
case $KP_REASON in
    'cannot rename'*) now="PARTLY RESTORED: files before that one are the old ones, the rest as they were; backup $KP_BACKUP_NODE" ;;
    *) now="unchanged: nothing was renamed (the copies staged for the restore were removed); backup $KP_BACKUP_NODE" ;;
esac
failure_report "restore backup $KP_BACKUP_NODE" "$KP_REASON" "$now" \
    "fix the cause (a missing or altered backup copy cannot be used: pick an older backup in $KP_BACKUP_DIR), then run restore.sh again"
exit 1
