/**
 * `systemctl`, `docker` and `crictl` stand-ins for the node scripts' restart methods, without a
 * cluster: sh scripts put first on PATH that keep their units/containers as files under
 * $KP_TEST_STATE and log every call to $KP_TEST_STATE/calls (the judge is what they received).
 * A restarted unit/container does not come back while $S/dead exists, nor while the file named in
 * $S/dead-with ("<path> <sha256>") has that content (a consumer that fails on the new files only).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { createHash } from "node:crypto";
import { join } from "path";
import { tempDir } from "./fixtures";

const DEAD = `dead() {
    [ ! -f "$S/dead" ] || return 0
    [ -f "$S/dead-with" ] || return 1
    read -r dw_path dw_sha <"$S/dead-with"
    [ "$(sha256sum <"$dw_path" 2>/dev/null | cut -d' ' -f1)" = "$dw_sha" ]
}`;

// A unit is active when $S/units/<unit> exists; `restart` takes it down and brings it back only
// after two `is-active` polls (so a script must wait), never while dead.
const SYSTEMCTL = `#!/bin/sh
S=$KP_TEST_STATE
printf 'systemctl %s\\n' "$*" >>"$S/calls"
${DEAD}
case $1 in
restart) mkdir -p "$S/units"; rm -f "$S/units/$2"; dead || echo 2 >"$S/pending-$2" ;;
is-active)
    u=$2; [ "$u" != --quiet ] || u=$3
    if [ -f "$S/pending-$u" ]; then
        n=$(cat "$S/pending-$u")
        if [ "$n" -le 0 ]; then rm -f "$S/pending-$u"; : >"$S/units/$u"; else echo $((n - 1)) >"$S/pending-$u"; fi
    fi
    if [ -f "$S/units/$u" ]; then st=active rc=0; elif [ -f "$S/pending-$u" ]; then st=activating rc=3; else st=failed rc=3; fi
    [ "$2" = --quiet ] || echo "$st"
    exit $rc ;;
*) exit 1 ;;
esac
`;

// A container is $S/containers/<name> holding "<running> <startedAt>"; `restart` bumps startedAt
// and leaves it exited while dead.
const DOCKER = `#!/bin/sh
S=$KP_TEST_STATE
printf 'docker %s\\n' "$*" >>"$S/calls"
${DEAD}
case $1 in
inspect)
    f=$S/containers/$4
    [ -f "$f" ] || { echo "Error: No such object: $4" >&2; exit 1; }
    read -r running started <"$f"
    case $3 in
        '{{.State.Running}}') echo "$running" ;;
        '{{.State.StartedAt}}') echo "$started" ;;
        '{{.State.Status}}') [ "$running" = true ] && echo running || echo exited ;;
    esac ;;
restart)
    f=$S/containers/$2
    [ -f "$f" ] || { echo "Error: No such container: $2" >&2; exit 1; }
    read -r running started <"$f"
    if dead; then echo "false $((started + 1))" >"$f"; else echo "true $((started + 1))" >"$f"; fi
    echo "$2" ;;
*) exit 1 ;;
esac
`;

// Two kinds of CRI containers. A plain one (kube-proxy as a pod) is $S/cri/<name> holding
// "<generation> <running>"; after `stop <id>` the kubelet starts generation+1 at the next \`ps\`,
// which exits at once while dead. A static pod's container runs while its manifest is in
// $KP_TEST_MANIFESTS; it gets a new id each time the manifest comes back or changes, and one
// started again does not run while dead. Ids: c<generation><name>.
const CRICTL = `#!/bin/sh
S=$KP_TEST_STATE
printf 'crictl %s\\n' "$*" >>"$S/calls"
${DEAD}
case $1 in
ps)
    all=0 name=''
    while [ $# -gt 0 ]; do
        case $1 in -a) all=1 ;; --name) name=$(printf '%s' "$2" | tr -d '^$'); shift ;; esac
        shift
    done
    f=$S/cri/$name
    if [ -f "$f" ]; then
        read -r n running <"$f"
        if [ -f "$f.stopped" ]; then
            rm -f "$f.stopped"
            n=$((n + 1)); if dead; then running=false; else running=true; fi
            echo "$n $running" >"$f"
        fi
        [ "$running" = false ] && [ "$all" = 0 ] || echo "c$n$name"
        exit 0
    fi
    n=$(cat "$S/gen-$name" 2>/dev/null || echo 1)
    if [ -f "$KP_TEST_MANIFESTS/$name.yaml" ]; then
        sha=$(sha256sum <"$KP_TEST_MANIFESTS/$name.yaml" | cut -d' ' -f1)
        [ -f "$S/sha-$name" ] || echo "$sha" >"$S/sha-$name"
        # Back after being gone, or edited in place: the kubelet runs a new container.
        if [ -f "$S/gone-$name" ] || [ "$(cat "$S/sha-$name")" != "$sha" ]; then
            n=$((n + 1)); echo "$n" >"$S/gen-$name"; echo "$sha" >"$S/sha-$name"; rm -f "$S/gone-$name"
        fi
        # A static pod started again does not run while dead (it exits at once).
        [ "$n" -gt 1 ] && dead || echo "c$n$name"
    else
        : >"$S/gone-$name"
    fi ;;
stop)
    for f in "$S"/cri/*; do
        [ -f "$f" ] || continue
        read -r n running <"$f"
        [ "c$n\${f##*/}" = "$2" ] && [ "$running" = true ] || continue
        echo "$n false" >"$f"; : >"$f.stopped"; echo "$2"; exit 0
    done
    echo "container $2 not found" >&2; exit 1 ;;
*) exit 1 ;;
esac
`;

export interface StandIns {
    /** Directory on PATH first, also $KP_TEST_STATE. */
    readonly state: string;
    /** Environment for the script: PATH and KP_TEST_STATE (and KP_TEST_MANIFESTS when given). */
    readonly env: NodeJS.ProcessEnv;
    /** Every call the stand-ins received, in order ("docker restart kube-proxy"). */
    calls(): string[];
    /** A running docker container started at 100. */
    container(name: string, running?: boolean): void;
    /** A running systemd unit. */
    unit(name: string): void;
    /** A plain CRI container (generation 1), running or exited. */
    criContainer(name: string, running?: boolean): void;
    /** Restarted units/containers never come back. */
    kill(): void;
    /** Restarted units/containers do not come back while the file at `realPath` holds `content`. */
    deadWith(realPath: string, content: string): void;
}

export function standIns(manifests?: string): StandIns {
    const state = tempDir("stand-ins");
    for (const [name, text] of [["systemctl", SYSTEMCTL], ["docker", DOCKER], ["crictl", CRICTL]]) {
        writeFileSync(join(state, name), text);
        chmodSync(join(state, name), 0o755);
    }
    for (const d of ["containers", "units", "cri"]) mkdirSync(join(state, d));
    return {
        state,
        env: { ...process.env, PATH: `${state}:${process.env.PATH}`, KP_TEST_STATE: state, ...(manifests ? { KP_TEST_MANIFESTS: manifests } : {}) },
        calls: () => (existsSync(join(state, "calls")) ? readFileSync(join(state, "calls"), "utf8").trim().split("\n") : []),
        container: (name, running = true) => writeFileSync(join(state, "containers", name), `${running} 100\n`),
        unit: (name) => writeFileSync(join(state, "units", name), ""),
        criContainer: (name, running = true) => writeFileSync(join(state, "cri", name), `1 ${running}\n`),
        kill: () => writeFileSync(join(state, "dead"), ""),
        deadWith: (realPath, content) =>
            writeFileSync(join(state, "dead-with"), `${realPath} ${createHash("sha256").update(content).digest("hex")}\n`),
    };
}
