# kube-pki shared shell functions (POSIX sh). Sourced by the scripts beside it, or inlined
# ahead of them by src/node/scripts.ts for a single remote command string.
# Rules: never `set -x`; file content (keys!) only flows through stdin and builtins; print
# paths, fingerprints and messages only, because stdout/stderr end up in Pulumi state.

KP_NAME=${0##*/}
KP_ROOT=''
KP_BACKUP_DIR=/var/lib/kube-pki/backups
KP_REASON=''
KP_SERVED=''
KP_EXPECTED=''

log() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$KP_NAME" "$*" >&2; }
die() { printf '%s: %s\n' "$KP_NAME" "$*" >&2; exit 1; }
usage_error() { printf '%s: %s\n%s\n' "$KP_NAME" "$1" "$KP_USAGE" >&2; exit 2; }

# The node path of $1 on this run's filesystem (--root DIR stands in for "/").
rp() { printf '%s%s' "$KP_ROOT" "$1"; }

set_root() {
    case $1 in
        '') KP_ROOT='' ;;
        /) KP_ROOT='' ;;
        /*) KP_ROOT=${1%/} ;;
        *) usage_error "--root must be an absolute directory, got '$1'" ;;
    esac
    [ -z "$KP_ROOT" ] || [ -d "$KP_ROOT" ] || die "--root $KP_ROOT is not a directory"
}

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

# Node paths travel in whitespace-separated records, so they may not contain blanks.
is_node_path() {
    case $1 in
        /*) ;;
        *) return 1 ;;
    esac
    case $1 in
        *[[:space:]]* | *[[:cntrl:]]*) return 1 ;;
    esac
    return 0
}

# parse_args "$@": the one option parser of every script. The script declares, before calling it:
#   KP_USAGE    the usage line (--help prints it; every usage error prints it after the message)
#   KP_OPTIONS  words: "name" is a flag (sets opt_name=1, else 0), "name=" takes a value (sets
#               opt_name; dashes become underscores). A default set before the call is kept.
#   KP_ARGS     variable names filled in order by the positional arguments; a last word
#               "name..." hands each remaining argument to the script's add_name.
# Options may come before, between or after positionals; "--" ends options; "-" is positional.
# --root, --backup-dir, --timeout and --keep are checked here, so every script says the same.
parse_args() {
    for _pa_w in $KP_OPTIONS; do
        case $_pa_w in
            *=) eval ": \"\${opt_$(_pa_var "${_pa_w%=}")=}\"" ;;
            *) eval ": \"\${opt_$(_pa_var "$_pa_w")=0}\"" ;;
        esac
    done
    for _pa_w in $KP_ARGS; do
        case $_pa_w in *...) ;; *) eval "$_pa_w=''" ;; esac
    done
    _pa_taken=0
    _pa_opts=1
    while [ $# -gt 0 ]; do
        if [ "$_pa_opts" = 1 ]; then
            case $1 in
                -h | --help)
                    log "$KP_USAGE"
                    exit 0
                    ;;
                --)
                    _pa_opts=0
                    shift
                    continue
                    ;;
                --*[!a-z0-9-]*) ;;
                --?*)
                    case " $KP_OPTIONS " in
                        *" ${1#--}= "*)
                            [ $# -ge 2 ] || usage_error "$1 needs a value"
                            _pa_value "${1#--}" "$2"
                            shift 2
                            continue
                            ;;
                        *" ${1#--} "*)
                            eval "opt_$(_pa_var "${1#--}")=1"
                            shift
                            continue
                            ;;
                    esac
                    ;;
            esac
            case $1 in
                -?*)
                    [ -n "$KP_ARGS" ] || usage_error "unknown argument '$1'"
                    usage_error "unknown option '$1'"
                    ;;
            esac
        fi
        _pa_positional "$1"
        shift
    done
}

_pa_var() { printf '%s' "$1" | tr - _; }

_pa_value() {
    case $1 in
        root) set_root "$2" ;;
        backup-dir)
            is_node_path "$2" || usage_error "--backup-dir must be an absolute path without blanks"
            KP_BACKUP_DIR=${2%/}
            ;;
        timeout) is_uint "$2" && [ "$2" -ge 1 ] || usage_error "--timeout must be a number of seconds >= 1, got '$2'" ;;
        keep) is_uint "$2" && [ "$2" -ge 1 ] || usage_error "--keep must be a number >= 1, got '$2'" ;;
    esac
    eval "opt_$(_pa_var "$1")=\$2"
}

# The next positional goes to the first unfilled name of KP_ARGS, or to add_<name> for "name...".
_pa_positional() {
    _pa_k=0
    for _pa_w in $KP_ARGS; do
        _pa_k=$((_pa_k + 1))
        [ "$_pa_k" -gt "$_pa_taken" ] || continue
        case $_pa_w in
            *...) "add_${_pa_w%...}" "$1" ;;
            *)
                eval "$_pa_w=\$1"
                _pa_taken=$_pa_k
                ;;
        esac
        return 0
    done
    usage_error "unexpected argument '$1'"
}

now_s() { date +%s; }
deadline_in() { printf '%s' $(($(now_s) + $1)); }

# poll_until END_EPOCH cmd [args…]: retry cmd every 0.2 s until it succeeds (0) or END passes (1).
poll_until() {
    _pu_end=$1
    shift
    while :; do
        if "$@"; then return 0; fi
        [ "$(now_s)" -lt "$_pu_end" ] || return 1
        sleep 0.2
    done
}

# Run a command with a hard time limit when `timeout` exists, so a hung tool cannot stall a poll.
# fd 9 (the run lock) is closed for it: a daemon it starts must not inherit and hold the lock.
run_bounded() {
    _rb_s=$1
    shift
    if command -v timeout >/dev/null 2>&1; then timeout "$_rb_s" "$@" 9>&-; else "$@" 9>&-; fi
}

sha256_stdin() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    else
        openssl dgst -sha256 -r | cut -d' ' -f1
    fi
}

sha256_file() { sha256_stdin <"$1"; }

# failure_report STEP FAILED NODE_NOW NEXT [EVIDENCE...]: the one way a script reports a failure,
# on stderr, at most 40 lines, as a runbook entry:
#   <script>: FAILED on node <node>, step: <STEP>
#     failed: <what failed>
#     <evidence lines, each "key: text" (served/expected fingerprints, component state, ...)>
#     node now: <what the node holds now, with paths>
#     next: <the next thing to do>
# Evidence beyond 35 lines is cut with a count. Never pass file content: only names and fingerprints.
failure_report() {
    _fr_step=$1 _fr_failed=$2 _fr_now=$3 _fr_next=$4
    shift 4
    {
        printf '%s: FAILED on node %s, step: %s\n' "$KP_NAME" "$(uname -n)" "$_fr_step"
        printf '  failed: %s\n' "$_fr_failed"
        _fr_n=0
        for _fr_line in "$@"; do
            _fr_n=$((_fr_n + 1))
            [ "$_fr_n" -le 35 ] || continue
            printf '  %s\n' "$_fr_line"
        done
        [ "$_fr_n" -le 35 ] || printf '  (%s more lines not shown)\n' "$((_fr_n - 35))"
        printf '  node now: %s\n' "$_fr_now"
        printf '  next: %s\n' "$_fr_next"
    } >&2
}

# First value of a `key: value` line in kubeconfig $2 (quotes dropped); empty when absent.
kubeconfig_value() {
    sed -n "/^[[:space:]]*$1:/{s/^[^:]*:[[:space:]]*//;s/[\"']//g;p;q;}" "$2"
}

# Reads a PEM certificate on stdin; prints its SHA-256 fingerprint as lower-case hex.
cert_fp_stdin() {
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^[^=]*=//; s/://g' | tr 'A-F' 'a-f'
}

cert_fp() { cert_fp_stdin <"$1"; }

# `flock` (when present) serialises kube-pki runs on one node. A real node (no --root) locks
# /run/lock/kube-pki.lock, outside the managed tree, so a refused install leaves that tree as it
# was. A --root node is its directory: lock the directory itself, which needs no write access
# and adds no file, so runs as different users or on different roots never share a lock file.
take_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    if [ -n "$KP_ROOT" ]; then
        _tl_path=$KP_ROOT
        # `true`, not `exec`: a failed redirection on `exec` ends the shell before `die` can run.
        true 2>/dev/null <"$_tl_path" || die "cannot open --root $KP_ROOT to lock it (not readable by $(id -un))"
        exec 9<"$_tl_path"
    else
        _tl_dir=/run/lock
        [ -d "$_tl_dir" ] && [ -w "$_tl_dir" ] || _tl_dir=${TMPDIR:-/tmp}
        _tl_path=$_tl_dir/kube-pki.lock
        true 2>/dev/null >>"$_tl_path" ||
            die "cannot open the run lock $_tl_path as $(id -un) (owner: $(stat -c %U "$_tl_path" 2>/dev/null || printf unknown)); run kube-pki on this node as root, or as the owner of that file"
        exec 9>>"$_tl_path"
    fi
    flock -w 120 9 || die "another kube-pki run holds the lock on $_tl_path (waited 120 s)"
}

backup_base() { rp "$KP_BACKUP_DIR"; }

# Resolves a backup argument (latest | name | node path) to a real directory in KP_BACKUP_REAL
# and its node path in KP_BACKUP_NODE.
resolve_backup() {
    case $1 in
        latest)
            [ -L "$(backup_base)/latest" ] || {
                KP_REASON="no backup: $KP_BACKUP_DIR/latest does not exist"
                return 1
            }
            _rbk=$(readlink "$(backup_base)/latest")
            KP_BACKUP_NODE=$KP_BACKUP_DIR/${_rbk##*/}
            ;;
        /*) KP_BACKUP_NODE=$1 ;;
        *) KP_BACKUP_NODE=$KP_BACKUP_DIR/$1 ;;
    esac
    KP_BACKUP_REAL=$(rp "$KP_BACKUP_NODE")
    [ -f "$KP_BACKUP_REAL/manifest" ] || {
        KP_REASON="no complete backup at $KP_BACKUP_NODE (manifest missing)"
        return 1
    }
    return 0
}

# restore_backup: puts back the files recorded in $KP_BACKUP_REAL/manifest. Copies are staged
# beside their targets first (same filesystem), checked against the manifest hashes, and only
# then renamed into place, so a bad backup changes nothing.
#   manifest lines: F <path> <old-sha> <new-sha> | N <path> <new-sha> | D <dir>
restore_backup() {
    _rs_m=$KP_BACKUP_REAL/manifest
    while read -r _rs_tag _rs_path _rs_old _rs_new; do
        case $_rs_tag in
            F)
                _rs_src=$KP_BACKUP_REAL/files$_rs_path
                _rs_tmp=$(rp "$_rs_path").kube-pki-restore
                [ -f "$_rs_src" ] || {
                    KP_REASON="backup copy of $_rs_path is missing in $KP_BACKUP_NODE"
                    restore_cleanup
                    return 1
                }
                mkdir -p "$(dirname -- "$(rp "$_rs_path")")" && rm -f "$_rs_tmp" && cp -p "$_rs_src" "$_rs_tmp" || {
                    KP_REASON="cannot stage $_rs_path for restore"
                    restore_cleanup
                    return 1
                }
                [ "$(sha256_file "$_rs_tmp")" = "$_rs_old" ] || {
                    KP_REASON="backup copy of $_rs_path does not match its recorded sha256"
                    restore_cleanup
                    return 1
                }
                ;;
            N | D | kube-pki-backup | bundle) ;;
            *)
                KP_REASON="unreadable manifest line in $KP_BACKUP_NODE/manifest"
                restore_cleanup
                return 1
                ;;
        esac
    done <"$_rs_m"
    while read -r _rs_tag _rs_path _rs_old _rs_new; do
        _rs_real=$(rp "$_rs_path")
        case $_rs_tag in
            F)
                mv -f "$_rs_real.kube-pki-restore" "$_rs_real" || {
                    KP_REASON="cannot rename $_rs_path into place"
                    return 1
                }
                rm -f "$_rs_real.kube-pki-new"
                log "restored $_rs_path sha256:$_rs_old"
                ;;
            N)
                rm -f "$_rs_real" "$_rs_real.kube-pki-new"
                log "removed $_rs_path (did not exist before)"
                ;;
        esac
    done <"$_rs_m"
    # Directories the install created, deepest first; rmdir leaves any that gained other files.
    grep '^D ' "$_rs_m" | cut -d' ' -f2 | sort -r | while read -r _rs_path; do
        if rmdir "$(rp "$_rs_path")" 2>/dev/null; then log "removed directory $_rs_path"; fi
    done
    log "restore complete from $KP_BACKUP_NODE"
    return 0
}

restore_cleanup() {
    grep '^F ' "$KP_BACKUP_REAL/manifest" | cut -d' ' -f2 | while read -r _rc_path; do
        rm -f "$(rp "$_rc_path").kube-pki-restore"
    done
}

is_component() {
    case $1 in
        etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet) return 0 ;;
        *) return 1 ;;
    esac
}

# A restart method, optionally with its target as METHOD:TARGET (one word, so rotate.sh's
# rollback record keeps it): systemd:UNIT, docker:CONTAINER, crictl:CONTAINER,
# static-pod:MANIFESTS-DIR; none restarts nothing.
is_strategy() {
    case $1 in
        static-pod | systemd | crictl | docker | none) return 0 ;;
        static-pod:/* | systemd:?* | crictl:?* | docker:?*)
            case ${1#*:} in *[!A-Za-z0-9_.@:/-]*) return 1 ;; esac
            return 0
            ;;
        *) return 1 ;;
    esac
}

# strategy_with_target STRATEGY: STRATEGY joined with the --unit/--container/--manifests option
# that belongs to it (fails with a usage error on one that does not). Reads opt_unit,
# opt_container, opt_manifests.
strategy_with_target() {
    _sw_t=''
    case $1 in
        systemd) _sw_t=${opt_unit:-} ;;
        docker | crictl) _sw_t=${opt_container:-} ;;
        static-pod) _sw_t=${opt_manifests:-} ;;
    esac
    [ -z "${opt_unit:-}" ] || [ "$1" = systemd ] || usage_error "--unit is only for strategy systemd"
    [ -z "${opt_container:-}" ] || [ "$1" = docker ] || [ "$1" = crictl ] || usage_error "--container is only for strategy docker or crictl"
    [ -z "${opt_manifests:-}" ] || [ "$1" = static-pod ] || usage_error "--manifests is only for strategy static-pod"
    [ -z "${opt_manifests:-}" ] || is_node_path "$opt_manifests" || usage_error "--manifests must be an absolute path without blanks"
    case $_sw_t in *[!A-Za-z0-9_.@:/-]*) usage_error "'$_sw_t' is not a unit, container or directory name" ;; esac
    printf '%s%s' "$1" "${_sw_t:+:$_sw_t}"
}

# _split_strategy COMPONENT STRATEGY: sets _rc_method and _rc_target (the unit, container or
# manifests directory; defaults: the component's name, /etc/kubernetes/manifests). A kubelet is
# never a static pod nor a CRI container: given those, its unit is restarted.
_split_strategy() {
    _rc_method=${2%%:*}
    _rc_target=''
    case $2 in *:*) _rc_target=${2#*:} ;; esac
    if [ "$1" = kubelet ]; then
        case $_rc_method in static-pod | crictl) _rc_method=systemd _rc_target='' ;; esac
    fi
    if [ -z "$_rc_target" ]; then
        _rc_target=$1
        [ "$_rc_method" != static-pod ] || _rc_target=/etc/kubernetes/manifests
    fi
}

# The ID of the running container named exactly $1 (empty when none).
running_id() { run_bounded 10 crictl ps --name "^$1\$" -q 2>/dev/null | head -n 1; }

_no_running() { [ -z "$(running_id "$_rc_name")" ]; }
_new_running() {
    _rc_now=$(running_id "$_rc_name")
    [ -n "$_rc_now" ] && [ "$_rc_now" != "$_rc_old" ]
}
_unit_active() { run_bounded 10 systemctl is-active --quiet "$_rc_target"; }
# docker: running, and started after the restart began (StartedAt changed).
_docker_started() {
    [ "$(run_bounded 10 docker inspect -f '{{.State.Running}}' "$_rc_target" 2>/dev/null)" = true ] || return 1
    _rc_now=$(run_bounded 10 docker inspect -f '{{.State.StartedAt}}' "$_rc_target" 2>/dev/null) || return 1
    [ "$_rc_now" != "$_rc_old" ]
}

# restart_component COMPONENT STRATEGY TIMEOUT: restarts and waits (bounded) until it runs
# again. Sets KP_REASON and returns 1 on failure; for static pods the manifest is always put back.
restart_component() {
    _rc_c=$1
    _split_strategy "$1" "$2"
    _rc_strategy=$_rc_method
    # The CRI container's name: the component's, or crictl:NAME's.
    _rc_name=$_rc_c
    [ "$_rc_strategy" != crictl ] || _rc_name=$_rc_target
    _rc_end=$(deadline_in "$3")
    case $_rc_strategy in
        none)
            log "$_rc_c: restart method none; not restarted"
            return 0
            ;;
        docker)
            _rc_old=$(run_bounded 10 docker inspect -f '{{.State.StartedAt}}' "$_rc_target" 2>/dev/null) || {
                KP_REASON="no docker container $_rc_target ($_rc_c)"
                return 1
            }
            run_bounded "$3" docker restart "$_rc_target" >/dev/null || {
                KP_REASON="docker restart $_rc_target ($_rc_c) failed"
                return 1
            }
            poll_until "$_rc_end" _docker_started || {
                KP_REASON="$_rc_c did not come back within $3 s (docker container $_rc_target not running again)"
                return 1
            }
            log "restarted $_rc_c (docker container $_rc_target, started $_rc_now)"
            return 0
            ;;
        static-pod)
            _rc_manifests=$(rp "$_rc_target")
            _rc_park=$(rp "$(dirname -- "$_rc_target")")/kube-pki-parked
            if [ ! -f "$_rc_manifests/$_rc_c.yaml" ] && [ -f "$_rc_park/$_rc_c.yaml" ]; then
                log "found $_rc_c.yaml parked by an interrupted run; putting it back"
                mv -f "$_rc_park/$_rc_c.yaml" "$_rc_manifests/$_rc_c.yaml"
            fi
            [ -f "$_rc_manifests/$_rc_c.yaml" ] || {
                KP_REASON="no static pod manifest $_rc_target/$_rc_c.yaml"
                return 1
            }
            _rc_old=$(running_id "$_rc_c")
            mkdir -p "$_rc_park" && mv -f "$_rc_manifests/$_rc_c.yaml" "$_rc_park/$_rc_c.yaml" || {
                KP_REASON="cannot park $_rc_c.yaml"
                return 1
            }
            if ! poll_until "$_rc_end" _no_running; then
                mv -f "$_rc_park/$_rc_c.yaml" "$_rc_manifests/$_rc_c.yaml"
                rmdir "$_rc_park" 2>/dev/null || true
                KP_REASON="$_rc_c did not stop within $3 s after its manifest was moved out (manifest put back)"
                return 1
            fi
            mv -f "$_rc_park/$_rc_c.yaml" "$_rc_manifests/$_rc_c.yaml" || {
                KP_REASON="cannot move $_rc_c.yaml back from $(dirname -- "$_rc_target")/kube-pki-parked"
                return 1
            }
            # The parking dir exists only while a manifest is out, so the managed tree stays as kubeadm made it.
            rmdir "$_rc_park" 2>/dev/null || true
            ;;
        crictl)
            _rc_old=$(running_id "$_rc_name")
            if [ -n "$_rc_old" ]; then
                run_bounded 30 crictl stop "$_rc_old" >/dev/null || {
                    KP_REASON="crictl stop $_rc_old ($_rc_c) failed"
                    return 1
                }
            else
                log "$_rc_c has no running container; waiting for one to start"
            fi
            ;;
        systemd)
            run_bounded "$3" systemctl restart "$_rc_target" || {
                KP_REASON="systemctl restart $_rc_target failed"
                return 1
            }
            poll_until "$_rc_end" _unit_active || {
                KP_REASON="$_rc_c did not come back within $3 s (systemctl is-active $_rc_target)"
                return 1
            }
            if [ "$_rc_target" = "$_rc_c" ]; then log "restarted $_rc_c (systemd unit active)"; else log "restarted $_rc_c (systemd unit $_rc_target active)"; fi
            return 0
            ;;
        *)
            KP_REASON="unknown strategy $_rc_strategy"
            return 1
            ;;
    esac
    poll_until "$_rc_end" _new_running || {
        KP_REASON="$_rc_c did not come back within $3 s (no new running container)"
        return 1
    }
    log "restarted $_rc_c (container ${_rc_old:-none} -> $_rc_now)"
    return 0
}

# component_state COMPONENT STRATEGY: one line on what the component does now, for a failure
# report: its newest container and whether it runs (crictl), its manifest (static pods), or its
# unit's state (systemd).
component_state() {
    _split_strategy "$1" "$2"
    _cs_strategy=$_rc_method
    case $_cs_strategy in
        none)
            printf '%s: not restarted by kube-pki (restart method none)' "$1"
            return 0
            ;;
        systemd) _cs_tool=systemctl ;;
        docker) _cs_tool=docker ;;
        *) _cs_tool=crictl ;;
    esac
    command -v "$_cs_tool" >/dev/null 2>&1 || {
        printf '%s: unknown (no %s on this node)' "$1" "$_cs_tool"
        return 0
    }
    case $_cs_strategy in
        systemd)
            _cs_rc=0
            _cs_st=$(run_bounded 10 systemctl is-active "$_rc_target" 2>/dev/null) || _cs_rc=$?
            [ -n "$_cs_st" ] || { [ "$_cs_rc" = 0 ] && _cs_st=active || _cs_st="not active (exit $_cs_rc)"; }
            printf '%s: systemctl is-active %s: %s' "$1" "$_rc_target" "$_cs_st"
            ;;
        docker)
            _cs_st=$(run_bounded 10 docker inspect -f '{{.State.Status}}' "$_rc_target" 2>/dev/null) || _cs_st="no such container"
            printf '%s: docker container %s: %s' "$1" "$_rc_target" "$_cs_st"
            ;;
        *)
            _cs_name=$1
            [ "$_cs_strategy" != crictl ] || _cs_name=$_rc_target
            _cs_run=$(running_id "$_cs_name")
            if [ -n "$_cs_run" ]; then
                _cs_st="container $(printf '%s' "$_cs_run" | cut -c1-13) running"
            else
                _cs_last=$(run_bounded 10 crictl ps -a --name "^$_cs_name\$" -q 2>/dev/null | head -n 1)
                _cs_st="no running container${_cs_last:+ (newest: $(printf '%s' "$_cs_last" | cut -c1-13), exited)}"
            fi
            if [ "$_cs_strategy" = static-pod ]; then
                if [ -f "$(rp "$_rc_target/$1.yaml")" ]; then
                    _cs_st="$_cs_st; manifest $_rc_target/$1.yaml in place"
                else
                    _cs_st="$_cs_st; manifest $_rc_target/$1.yaml MISSING"
                fi
            fi
            printf '%s: %s (crictl ps)' "$1" "$_cs_st"
            ;;
    esac
}

# component_running COMPONENT STRATEGY: was the component running before this run? rotate.sh
# asks before its restart, so a failure can tell "broken by this run" from "was not running
# anyway" (a rollback cannot bring back what did not run). Only a clear "no" counts, because a
# "no" skips the rollback: a static pod without its manifest, a unit inactive or failed (not
# activating: one restarting after its apiserver went away is on its way back), a docker
# container absent or exited, a CRI container with no running instance within 3 s (a crash
# loop's gap). A static pod whose manifest is there is the kubelet's to run: counted as running.
# 0: running or unknown (method none, no tool to ask); 1: not running, KP_REASON says what is
# missing, KP_MISSING_MANIFEST holds the node path of the absent manifest (else empty).
component_running() {
    KP_MISSING_MANIFEST=''
    _split_strategy "$1" "$2"
    case $_rc_method in
        static-pod)
            [ ! -f "$(rp "$_rc_target/$1.yaml")" ] || return 0
            if [ -f "$(rp "$(dirname -- "$_rc_target")")/kube-pki-parked/$1.yaml" ]; then
                KP_REASON="its manifest $_rc_target/$1.yaml was parked by an interrupted run"
            else
                KP_MISSING_MANIFEST=$_rc_target/$1.yaml
                KP_REASON="no static pod manifest $_rc_target/$1.yaml"
            fi
            return 1
            ;;
        systemd)
            command -v systemctl >/dev/null 2>&1 || return 0
            _cr_st=$(run_bounded 10 systemctl is-active "$_rc_target" 2>/dev/null) || true
            case $_cr_st in inactive | failed) ;; *) return 0 ;; esac
            KP_REASON="systemd unit $_rc_target $_cr_st"
            return 1
            ;;
        docker)
            command -v docker >/dev/null 2>&1 || return 0
            _cr_st=$(run_bounded 10 docker inspect -f '{{.State.Status}}' "$_rc_target" 2>/dev/null) || {
                KP_REASON="no docker container $_rc_target"
                return 1
            }
            case $_cr_st in exited | created | dead) ;; *) return 0 ;; esac
            KP_REASON="docker container $_rc_target $_cr_st"
            return 1
            ;;
        crictl)
            command -v crictl >/dev/null 2>&1 || return 0
            _cr_name=$_rc_target
            ! poll_until "$(deadline_in 3)" _cr_running || return 0
            KP_REASON="no running container $_rc_target (crictl ps)"
            return 1
            ;;
    esac
    return 0
}
_cr_running() { [ -n "$(running_id "$_cr_name")" ]; }

# --- No rollback where going back cannot be better (issue 12) ---

# keep_new_reasons KEEP_FLAG(0|1) RAN_BEFORE(0|1) COMPONENT [SERVED]: after a failed restart, with the
# backup choose_backup found, whether to keep the new files instead of rolling back. Keep when
# asked (--keep-new), when COMPONENT was not running before the restart (component_running: the
# rollback cannot restore "running"), or when the backup holds no old file: every entry is N, so
# the rollback would only delete files the node lacked (a wiped /etc/kubernetes). The whole
# backup is judged, not the component's share: restore_backup acts on the whole backup, and the
# files a component reads (kubeconfigs, CAs, sa keys named in its flags) are not all known here.
# Also when SERVED (the node path of the certificate COMPONENT serves, or - / absent: no such
# check) has an old copy in the backup (an F entry) and that copy, and the backup's copy of every
# certificate beside it that COMPONENT presents (_kn_expired), has expired: going back would
# restart it on certificates nobody accepts (a control plane recovered after every leaf ran out,
# where the recovery order cannot pass --keep-new: a flag would change its recorded commands).
# Sets KP_KEEP (the reasons; empty: roll back), KP_KEPT (the backup's files as installed, one
# "F|N <path> <sha256>" line each) and KP_EXPIRED (report lines naming the expired old
# certificates, empty unless that reason holds); returns 0 to keep.
keep_new_reasons() {
    KP_KEEP=''
    [ "$1" = 0 ] || KP_KEEP="--keep-new asks for no rollback"
    [ "$2" = 1 ] || KP_KEEP="$KP_KEEP${KP_KEEP:+; }$3 was not running before this run"
    if _kn_expired "$3" "${4:--}"; then
        KP_KEEP="$KP_KEEP${KP_KEEP:+; }the old files are expired: going back cannot help"
    else
        KP_EXPIRED=''
    fi
    KP_KEPT=$(while read -r _kn_tag _kn_path _kn_a _kn_b; do
        case $_kn_tag in
            F) printf 'F %s %s\n' "$_kn_path" "$_kn_b" ;;
            N) printf 'N %s %s\n' "$_kn_path" "$_kn_a" ;;
        esac
    done <"$KP_BACKUP_REAL/manifest")
    if [ -n "$KP_KEPT" ] && ! printf '%s\n' "$KP_KEPT" | grep -q '^F '; then
        KP_KEEP="$KP_KEEP${KP_KEEP:+; }the backup holds no old file: going back would only delete the new ones"
    fi
    [ -n "$KP_KEEP" ]
}

# _kn_expired COMPONENT SERVED: 0 when the backup holds an old copy of SERVED and that copy has
# expired, as has the backup's copy of each certificate COMPONENT presents beside it under
# kubeadm's names (etcd: peer.crt; the apiserver: its etcd, kubelet and front-proxy client
# certificates) where the backup holds one. A copy that does not parse counts as not expired
# (no reason to keep). KP_EXPIRED: one "expired: <path> (backup copy) notAfter=<date>" line each.
_kn_expired() {
    KP_EXPIRED=''
    case $2 in /*) ;; *) return 1 ;; esac
    _kx_dir=$(dirname -- "$2")
    case $1 in
        etcd) set -- "$2" "$_kx_dir/peer.crt" ;;
        kube-apiserver) set -- "$2" "$_kx_dir/apiserver-etcd-client.crt" "$_kx_dir/apiserver-kubelet-client.crt" "$_kx_dir/front-proxy-client.crt" ;;
        *) set -- "$2" ;;
    esac
    _kx_served=$1
    for _kx_path in "$@"; do
        if ! awk -v p="$_kx_path" '$1 == "F" && $2 == p { found = 1 } END { exit !found }' "$KP_BACKUP_REAL/manifest"; then
            # Only the served certificate must be there; a presented one the install did not
            # replace is not the backup's to judge.
            [ "$_kx_path" != "$_kx_served" ] || return 1
            continue
        fi
        _kx_copy=$KP_BACKUP_REAL/files$_kx_path
        _kx_end=$(openssl x509 -in "$_kx_copy" -noout -enddate 2>/dev/null) || return 1
        [ -n "$_kx_end" ] || return 1
        ! openssl x509 -in "$_kx_copy" -noout -checkend 0 >/dev/null 2>&1 || return 1
        KP_EXPIRED="$KP_EXPIRED${KP_EXPIRED:+
}expired: $_kx_path (backup copy) $_kx_end"
    done
    return 0
}

# keep_new_evidence: the report lines for kept files, after keep_new_reasons: one
# "kept: <path> sha256:<hex>" line per file (20 at most, then where the rest are listed).
keep_new_evidence() {
    _ke_n=0
    while read -r _ke_tag _ke_path _ke_sha; do
        [ -n "$_ke_path" ] || continue
        _ke_n=$((_ke_n + 1))
        [ "$_ke_n" -gt 20 ] || printf 'kept: %s sha256:%s\n' "$_ke_path" "$_ke_sha"
    done <<EOF_KP_KEPT
$KP_KEPT
EOF_KP_KEPT
    [ "$_ke_n" -le 20 ] || printf 'kept: %s more, listed in %s/manifest\n' "$((_ke_n - 20))" "$KP_BACKUP_NODE"
}

# start_hint COMPONENT STRATEGY MISSING_MANIFEST: what to do about a component that was not
# running before this run: put its static pod manifest back (kube-pki's copy, else the kubeadm
# phase that writes it), or start it; then `pulumi up` again.
start_hint() {
    if [ -n "$3" ]; then
        # kubeadm's phase that writes it (control-plane all: the three control-plane manifests).
        # "loc""al": one word to the shell, but not the non-POSIX keyword the script lint forbids.
        case $1 in
            etcd) _sh_phase="etcd loc""al" ;;
            *) _sh_phase="control-plane ${1#kube-} (or control-plane all)" ;;
        esac
        _sh_phase="kubeadm init phase $_sh_phase --config <your kubeadm config>"
        _sh_copy=/var/lib/kube-pki/manifests/$1.yaml
        if [ -f "$(rp "$_sh_copy")" ]; then
            printf 'put back the static pod manifest %s from kube-pki'"'"'s copy (cp -p %s %s) or recreate it (%s), then run `pulumi up` again' "$3" "$_sh_copy" "$3" "$_sh_phase"
        else
            printf 'recreate the static pod manifest %s (%s), then run `pulumi up` again' "$3" "$_sh_phase"
        fi
        return 0
    fi
    _split_strategy "$1" "$2"
    case $_rc_method in
        systemd) _sh_start="systemctl start $_rc_target" ;;
        docker) _sh_start="docker start $_rc_target" ;;
        *) _sh_start="its kubelet starts the container" ;;
    esac
    printf 'start %s (%s; %s says why it does not run), then run `pulumi up` again' "$1" "$_sh_start" "$(logs_hint "$1" "$2")"
}

# logs_hint COMPONENT STRATEGY: the command that shows why the component does not run.
logs_hint() {
    _split_strategy "$1" "$2"
    case $_rc_method in
        systemd)
            printf 'journalctl -u %s -n 50' "$_rc_target"
            return 0
            ;;
        docker)
            printf 'docker logs --tail 50 %s' "$_rc_target"
            return 0
            ;;
        none)
            printf 'the logs of %s' "$1"
            return 0
            ;;
    esac
    _lh_name=$1
    [ "$_rc_method" != crictl ] || _lh_name=$_rc_target
    _lh_id=$(run_bounded 10 crictl ps -a --name "^$_lh_name\$" -q 2>/dev/null | head -n 1)
    printf 'crictl logs --tail 50 %s' "${_lh_id:-<container of $1: crictl ps -a --name $_lh_name>}"
}

_served_fp() {
    set -- -connect "$_vs_hp"
    [ -z "$_vs_sni" ] || set -- "$@" -servername "$_vs_sni"
    [ -z "$_vs_ccert" ] || set -- "$@" -cert "$_vs_ccert" -key "$_vs_ckey" -CAfile "$_vs_cacert"
    _vs_seen=$(run_bounded 5 openssl s_client "$@" </dev/null 2>/dev/null | cert_fp_stdin)
    [ "$_vs_seen" = "$_vs_want" ]
}

_etcd_healthy() {
    run_bounded 10 etcdctl --endpoints="https://$_vs_hp" --cacert="$_vs_cacert" --cert="$_vs_ccert" \
        --key="$_vs_ckey" --dial-timeout=2s --command-timeout=3s endpoint health >/dev/null 2>&1
}

# verify_served COMPONENT HOST:PORT CERT TIMEOUT [CLIENT_CERT CLIENT_KEY CACERT] (real paths):
# waits until the endpoint serves CERT; for etcd also asks etcdctl for health when it exists.
verify_served() {
    _vs_c=$1
    _vs_hp=$2
    _vs_end=$(deadline_in "$4")
    _vs_ccert=${5:-}
    _vs_ckey=${6:-}
    _vs_cacert=${7:-}
    [ -f "$3" ] || {
        KP_REASON="$_vs_c: certificate file $3 not found"
        return 1
    }
    _vs_want=$(cert_fp "$3")
    [ -n "$_vs_want" ] || {
        KP_REASON="$_vs_c: $3 is not a certificate"
        return 1
    }
    # SNI only for names: an IP literal is not a valid server_name.
    _vs_host=${_vs_hp%:*}
    case $_vs_host in
        \[* | *[!0-9.]*) _vs_sni=$_vs_host ;;
        *) _vs_sni='' ;;
    esac
    case $_vs_host in \[* | *:*) _vs_sni='' ;; esac
    _vs_seen=''
    if ! poll_until "$_vs_end" _served_fp; then
        _vs_got=${_vs_seen:+sha256:$_vs_seen}
        KP_REASON="$_vs_c at $_vs_hp serves ${_vs_got:-no certificate (no TLS handshake)}, expected sha256:$_vs_want from $3 (waited $4 s)"
        KP_SERVED="${_vs_got:-nothing (no TLS handshake)}"
        KP_EXPECTED=sha256:$_vs_want
        return 1
    fi
    log "served $_vs_c sha256:$_vs_want"
    if [ "$_vs_c" = etcd ] && [ -n "$_vs_ccert" ]; then
        # kubeadm nodes often lack etcdctl (it lives in the etcd image): say the health step was skipped.
        command -v etcdctl >/dev/null 2>&1 || {
            log "note: no etcdctl on $(uname -n); etcd health not checked (the served certificate was)"
            return 0
        }
        ETCDCTL_API=3
        export ETCDCTL_API
        poll_until "$_vs_end" _etcd_healthy || {
            KP_REASON="etcd at $_vs_hp serves the new certificate but etcdctl endpoint health failed within $4 s"
            return 1
        }
        log "healthy etcd https://$_vs_hp (etcdctl endpoint health)"
    fi
    return 0
}

# --- Rollback after a failed restart (rotate.sh, restart-consumer.sh) ---

# rotate_one COMPONENT STRATEGY ENDPOINT CERT CCERT CKEY CACERT ("-" = none): restart + verify
# (reads opt_timeout). KP_STEP names the part that failed.
rotate_one() {
    KP_STEP="restart $1 ($2)"
    KP_SERVED=''
    restart_component "$1" "$2" "$opt_timeout" || return 1
    [ "$3" != - ] || return 0
    KP_STEP="verify $1 serves $4 at $3"
    if [ "$5" != - ]; then
        verify_served "$1" "$3" "$(rp "$4")" "$opt_timeout" "$(rp "$5")" "$(rp "$6")" "$(rp "$7")"
    else
        verify_served "$1" "$3" "$(rp "$4")" "$opt_timeout"
    fi
}

backup_matches_disk() {
    while read -r _bm_tag _bm_path _bm_a _bm_b; do
        case $_bm_tag in
            F) _bm_want=$_bm_b ;;
            N) _bm_want=$_bm_a ;;
            *) continue ;;
        esac
        [ -f "$(rp "$_bm_path")" ] && [ "$(sha256_file "$(rp "$_bm_path")")" = "$_bm_want" ] || return 1
    done <"$KP_BACKUP_REAL/manifest"
    return 0
}

# choose_backup BACKUP(latest|NAME|none) LAST_INSTALL: the backup a failed restart rolls back to,
# only if what it installed is still what is on disk (otherwise restoring it would undo changes
# made after it). Sets KP_HAVE_BACKUP (1 or 0), KP_HELD (what the node holds when it is not
# rolled back) and KP_NO_BACKUP (why not); logs a note when there is none.
choose_backup() {
    KP_HAVE_BACKUP=0
    KP_HELD="the new files of the last install"
    KP_NO_BACKUP="no backup named"
    if [ "$1" = latest ] && [ "$2" = none ]; then
        log "note: the last install changed no file; there is nothing to roll back"
        KP_HELD="the files it held before (the last install changed none)"
        KP_NO_BACKUP="nothing to roll back to"
    elif [ "$1" != none ]; then
        if ! resolve_backup "$1"; then
            log "note: $KP_REASON; a failure cannot be rolled back"
            KP_NO_BACKUP=$KP_REASON
        elif ! backup_matches_disk; then
            log "note: files changed since backup $KP_BACKUP_NODE; it will not be used for a rollback"
            KP_HELD="files changed after backup $KP_BACKUP_NODE"
            KP_NO_BACKUP="that backup would undo those changes"
        else
            KP_HAVE_BACKUP=1
        fi
    fi
}

# note_restarted RECORD: after a verified restart, remember it in <backup>/restarted, so a later
# failure of this rollout restarts it again on the old files. RECORD: rotate_one's seven fields.
note_restarted() {
    [ "$KP_HAVE_BACKUP" = 1 ] || return 0
    grep -q "^${1%% *} " "$KP_BACKUP_REAL/restarted" 2>/dev/null || printf '%s\n' "$1" >>"$KP_BACKUP_REAL/restarted"
}

# After a rollback the node no longer holds what the last install put there, while Pulumi's
# state says it was installed. Count rollbacks (the program folds the count into the node's
# triggers, so the next run installs and restarts that node again until it is verified) and let
# the install record say what is on disk again, so drift does not report the rollback as a hand edit.
note_rollback() {
    _nr_base=$(backup_base)
    _nr_n=$(cat "$_nr_base/rollbacks" 2>/dev/null || true)
    is_uint "${_nr_n:-x}" || _nr_n=0
    printf '%s\n' "$((_nr_n + 1))" >"$_nr_base/rollbacks.tmp" && mv -f "$_nr_base/rollbacks.tmp" "$_nr_base/rollbacks"
    [ -f "$_nr_base/installed" ] || return 0
    while read -r _nr_sha _nr_path; do
        if [ -f "$(rp "$_nr_path")" ]; then printf '%s %s\n' "$(sha256_file "$(rp "$_nr_path")")" "$_nr_path"; fi
    done <"$_nr_base/installed" >"$_nr_base/installed.tmp"
    mv -f "$_nr_base/installed.tmp" "$_nr_base/installed"
}

# roll_back RECORD EVIDENCE_FILE: after RECORD's component failed (choose_backup found a backup):
# restore that backup, count the rollback, then restart and verify every component this rollout
# already restarted (<backup>/restarted) and RECORD's own, on the old files. Appends one evidence
# line per step to EVIDENCE_FILE (its progress goes to a log, so the report stays short). Sets
# KP_ROLLED (what runs on the old files again), KP_PROBLEMS (empty when complete) and
# KP_RB_STATE (what the node holds when it is not).
roll_back() {
    _rk_c=${1%% *}
    _rk_ev=$2
    _rk_log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-rollback.XXXXXX")
    KP_PROBLEMS=''
    KP_ROLLED=''
    KP_RB_STATE="the files are NOT restored: the node holds the new files"
    if restore_backup >"$_rk_log" 2>&1; then
        printf 'rollback: restored %s file(s) from %s\n' "$(grep -c '^restored \|^removed /' "$_rk_log" || true)" "$KP_BACKUP_NODE" >>"$_rk_ev"
    else
        KP_PROBLEMS="restore failed: $KP_REASON"
        printf 'rollback: restore from %s FAILED: %s\n' "$KP_BACKUP_NODE" "$KP_REASON" >>"$_rk_ev"
    fi
    note_rollback || printf 'rollback: could not record the rollback in %s/rollbacks\n' "$KP_BACKUP_DIR" >>"$_rk_ev"
    if [ -z "$KP_PROBLEMS" ]; then
        KP_RB_STATE="the old files are back on disk, but not every component runs on them"
        {
            grep -v "^$_rk_c " "$KP_BACKUP_REAL/restarted" 2>/dev/null || true
            printf '%s\n' "$1"
        } >"$KP_BACKUP_REAL/rollback"
        while read -r _rk_rc _rk_rs _rk_re _rk_rcert _rk_rcc _rk_rck _rk_rca; do
            if rotate_one "$_rk_rc" "$_rk_rs" "$_rk_re" "$_rk_rcert" "$_rk_rcc" "$_rk_rck" "$_rk_rca" </dev/null >"$_rk_log" 2>&1; then
                KP_ROLLED="$KP_ROLLED${KP_ROLLED:+, }$_rk_rc"
                _rk_served=$(sed -n "s/^served $_rk_rc //p" "$_rk_log")
                printf 'rollback: rolled back %s (restarted%s)\n' "$_rk_rc" "${_rk_served:+, serves the old $_rk_served}" >>"$_rk_ev"
            else
                KP_PROBLEMS="$KP_PROBLEMS${KP_PROBLEMS:+; }$_rk_rc after rollback: $KP_REASON"
                printf 'rollback: %s FAILED after rollback: %s\nstate: %s\n' "$_rk_rc" "$KP_REASON" "$(component_state "$_rk_rc" "$_rk_rs")" >>"$_rk_ev"
            fi
        done <"$KP_BACKUP_REAL/rollback"
        : >"$KP_BACKUP_REAL/restarted"
    fi
    rm -f "$_rk_log"
}


# finish_failed_restart NAME RECORD KEEP_FLAG RAN_BEFORE BEFORE_WHY SERVED_CERT VERB DONE STEP WHAT FIX [EVIDENCE...]:
# the end of a failed restart with a usable backup (rotate.sh, restart-consumer.sh). Where going
# back cannot be better (keep_new_reasons) the node keeps the new files (exit 4); otherwise the
# backup is restored and what this rollout restarted comes back on it (exit 1; 3 when incomplete).
# VERB/DONE word the report ("restarts and verifies" / "restarted and verified"). Never returns.
finish_failed_restart() {
    _ff_name=$1 _ff_record=$2 _ff_keep=$3 _ff_ran=$4 _ff_why=$5 _ff_cert=$6 _ff_verb=$7 _ff_done=$8
    _ff_step=$9
    shift 9
    _ff_what=$1 _ff_fix=$2
    shift 2
    # shellcheck disable=SC2086 # the served certificate is one node path, or nothing (an optional argument)
    if keep_new_reasons "$_ff_keep" "$_ff_ran" "$_ff_name" $_ff_cert; then
        [ "$_ff_ran" = 1 ] || set -- "$@" "missing: $_ff_why (before this run)"
        while IFS= read -r _ff_line; do [ -z "$_ff_line" ] || set -- "$@" "$_ff_line"; done <<EOF_EXPIRED
${KP_EXPIRED:-}
EOF_EXPIRED
        printf '%s\n' "$KP_KEPT" | grep -q '^F ' || set -- "$@" "missing: none of these files was on the node before this run"
        while IFS= read -r _ff_line; do set -- "$@" "$_ff_line"; done <<EOF_KEPT
$(keep_new_evidence)
EOF_KEPT
        failure_report "$_ff_step" "$_ff_what" \
            "KEPT THE NEW FILES, no rollback ($KP_KEEP): the $(printf '%s\n' "$KP_KEPT" | grep -c .) file(s) installed and checked by $KP_BACKUP_NODE stay on disk; $_ff_name is NOT verified on them; nothing removed, no rollback counted" \
            "$_ff_fix (it $_ff_verb $_ff_name on the kept files)" "$@"
        exit 4
    fi
    # Roll back; its steps become evidence.
    _ff_ev=$(mktemp "${TMPDIR:-/tmp}/kube-pki-evidence.XXXXXX")
    trap 'rm -f "$_ff_ev"' EXIT
    roll_back "$_ff_record" "$_ff_ev"
    while IFS= read -r _ff_line; do set -- "$@" "$_ff_line"; done <"$_ff_ev"
    if [ -n "$KP_PROBLEMS" ]; then
        failure_report "$_ff_step" "$_ff_what" \
            "ROLLBACK INCOMPLETE [$KP_PROBLEMS]: the node is NOT as before ($KP_RB_STATE); backup $KP_BACKUP_NODE" \
            "bring the components above back by hand (their logs say why they do not start), and if the files are not restored run restore.sh $KP_BACKUP_NODE; then $_ff_fix" "$@"
        exit 3
    fi
    failure_report "$_ff_step" "$_ff_what" \
        "rolled back to $KP_BACKUP_NODE; node is as before: the old files, $KP_ROLLED $_ff_done on them" \
        "$_ff_fix (it installs and restarts this node again)" "$@"
    exit 1
}
