#!/bin/sh
# restore.sh — puts back the files of an install.sh backup (default: latest) atomically and
# removes the files that install created; also the way out of a crash between backup and swap.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: restore.sh [--root DIR] [--backup-dir DIR] [<backup name or path>|latest]'
which=latest
while [ $# -gt 0 ]; do
    case $1 in
        --root | --backup-dir) [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
    esac
    case $1 in
        --root) set_root "$2" && shift 2 ;;
        --backup-dir)
            is_node_path "$2" || usage_error "--backup-dir must be an absolute path without blanks"
            KP_BACKUP_DIR=${2%/} && shift 2
            ;;
        -h | --help) log "$KP_USAGE" && exit 0 ;;
        -*) usage_error "unknown option '$1'" ;;
        *) which=$1 && shift ;;
    esac
done

umask 077
set -f
[ -d "$(backup_base)" ] || die "no backups: $KP_BACKUP_DIR does not exist"
take_lock
resolve_backup "$which" || die "$KP_REASON"
restore_backup || die "restore from $KP_BACKUP_NODE failed: $KP_REASON"
