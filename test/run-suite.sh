#!/bin/sh
# `npm test`: the unit and live vitest projects side by side, each still one file at a time.
# One `vitest run` would run them one after the other (the live project's fileParallelism:false
# puts its files in a group of their own, run after the unit files), and on 2 cores the unit
# project gets a single worker anyway. The live files mostly wait on restarts and polls, so the
# unit files fit beside them. They share nothing: unit tests use temp dirs and loopback ports,
# the live ones the sim bridge, namespaces and /tmp/kube-pki-sim.
# Arguments go to both runs (e.g. a file filter); the unit output is printed after the live one.
set -u
cd "$(dirname "$0")/.."
unit_log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-unit-XXXXXX")
trap 'rm -f "$unit_log"' EXIT
started=$(date +%s)
npx vitest run --project unit --passWithNoTests "$@" >"$unit_log" 2>&1 &
unit_pid=$!
npx vitest run --project live --passWithNoTests "$@"
live_rc=$?
wait "$unit_pid"
unit_rc=$?
echo
echo "==== unit project (ran beside the live project) ===="
cat "$unit_log"
echo "suite: live exit $live_rc, unit exit $unit_rc, $(($(date +%s) - started)) s"
[ "$live_rc" -eq 0 ] && [ "$unit_rc" -eq 0 ]
