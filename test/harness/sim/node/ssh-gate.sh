#!/bin/sh
# ForceCommand of a simulated node's sshd. Normally it runs the client's command unchanged
# (stdin, stdout, stderr and exit status intact). When the cut-ssh-after-bytes fault is armed
# it is consumed by this one session (the first whose command contains the fault's optional
# second line): the command gets only the first N bytes of stdin, then this connection's sshd
# processes are killed, as a network cut would do.
simdir=$1
fault="$simdir/cut-ssh-after-bytes"
cmd=${SSH_ORIGINAL_COMMAND-}
sh_=${SHELL:-/bin/sh}

claimed="$fault.taken.$$"
# Line 2 of the fault file, when set: only a session whose command contains it takes the fault.
want=$(sed -n 2p "$fault" 2>/dev/null)
taken=0
case $cmd in *"$want"*) [ -f "$fault" ] && mv "$fault" "$claimed" 2>/dev/null && taken=1 ;; esac
if [ "$taken" = 0 ]; then
    if [ -z "$cmd" ]; then exec "$sh_" -l; fi
    exec "$sh_" -c "$cmd"
fi

n=$(sed -n 1p "$claimed")
rm -f "$claimed"
# The command sees N bytes then EOF; its output is lost with the connection.
head -c "$n" | "$sh_" -c "$cmd" >/dev/null 2>&1
printf '{"ts":"%s","node":"%s","component":"sshd","event":"ssh-cut","bytes":%s,"pid":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cat "$simdir/node-name")" "$n" "$$" >>"$simdir/../events.jsonl"

# Walk up to (not including) the listening sshd and kill this connection's sshd processes.
listener=$(cat "$simdir/sshd.pid" 2>/dev/null)
p=$PPID
pids=""
i=0
while [ "$i" -lt 10 ] && [ -n "$p" ] && [ "$p" -gt 1 ] && [ "$p" != "$listener" ]; do
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in
        sshd*) pids="$pids $p" ;;
    esac
    p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2)
    i=$((i + 1))
done
# shellcheck disable=SC2086
[ -n "$pids" ] && kill -KILL $pids
exit 255
