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
restore_backup || die "restore from $KP_BACKUP_NODE failed: $KP_REASON"
