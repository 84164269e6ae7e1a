/**
 * restart-consumer.sh (components outside the catalogue that read a stack-declared certificate:
 * kube-proxy, flanneld) on a temp root, with `systemctl` and `docker` stand-ins on PATH that keep
 * units/containers as files and log every call. A unit or container "never returns" when
 * $S/dead exists. Each case runs under dash and bash --posix.
 */
import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { BASH_POSIX, DASH, snapshotTree, tempDir } from "./fixtures";

// systemctl: a unit is active when $S/units/<unit> exists; `restart` takes it down and brings it
// back only after two `is-active` polls (so the script must wait), never when $S/dead exists.
const SYSTEMCTL = `#!/bin/sh
S=$KP_TEST_STATE
printf 'systemctl %s\\n' "$*" >>"$S/calls"
case $1 in
restart) mkdir -p "$S/units"; rm -f "$S/units/$2"; [ -f "$S/dead" ] || echo 2 >"$S/pending-$2" ;;
is-active)
    u=$2; [ "$u" != --quiet ] || u=$3
    if [ -f "$S/pending-$u" ]; then
        n=$(cat "$S/pending-$u")
        if [ "$n" -le 0 ]; then rm -f "$S/pending-$u"; : >"$S/units/$u"; else echo $((n - 1)) >"$S/pending-$u"; fi
    fi
    if [ -f "$S/units/$u" ]; then st=active rc=0; elif [ -f "$S/dead" ]; then st=failed rc=3; else st=activating rc=3; fi
    [ "$2" = --quiet ] || echo "$st"
    exit $rc ;;
*) exit 1 ;;
esac
`;

// docker: a container is $S/containers/<name> holding "<running> <startedAt>"; `restart` bumps
// startedAt and leaves it exited when $S/dead exists.
const DOCKER = `#!/bin/sh
S=$KP_TEST_STATE
printf 'docker %s\\n' "$*" >>"$S/calls"
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
    if [ -f "$S/dead" ]; then echo "false $((started + 1))" >"$f"; else echo "true $((started + 1))" >"$f"; fi
    echo "$2" ;;
*) exit 1 ;;
esac
`;

function node(shell: string[]) {
    const root = tempDir("consumer");
    const state = tempDir("consumer-state");
    for (const [name, text] of [["systemctl", SYSTEMCTL], ["docker", DOCKER]]) {
        writeFileSync(join(state, name), text);
        chmodSync(join(state, name), 0o755);
    }
    mkdirSync(join(state, "containers"));
    const env = { ...process.env, PATH: `${state}:${process.env.PATH}`, KP_TEST_STATE: state };
    const run = (args: string[], withRoot = true) =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath("restart-consumer"), ...(withRoot ? ["--root", root] : []), ...args], {
            env,
            encoding: "utf8",
            timeout: 60_000,
        });
    const calls = () => (existsSync(join(state, "calls")) ? readFileSync(join(state, "calls"), "utf8").trim().split("\n") : []);
    const container = (name: string) => writeFileSync(join(state, "containers", name), "true 100\n");
    const kill = () => writeFileSync(join(state, "dead"), "");
    return { root, state, run, calls, container, kill };
}

for (const shell of [[DASH], BASH_POSIX]) {
    describe(`restart-consumer.sh (${shell.join(" ")})`, () => {
        it("systemd: restarts the unit and waits until it is active again", () => {
            const n = node(shell);
            const r = n.run(["kube-proxy", "systemd", "kube-proxy.service", "--timeout", "10"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`restarted kube-proxy (systemd kube-proxy.service) on ${hostname()}\n`);
            const calls = n.calls();
            expect(calls[0]).toBe("systemctl restart kube-proxy.service");
            // It polled through the unit's "activating" answers until the active one.
            const polls = calls.filter((c) => c === "systemctl is-active --quiet kube-proxy.service");
            expect(polls.length).toBeGreaterThanOrEqual(3);
            expect(existsSync(join(n.state, "pending-kube-proxy.service"))).toBe(false);
            expect(calls.some((c) => c.startsWith("docker"))).toBe(false);
        });

        it("systemd: a unit that never returns fails (exit 1) naming the unit, its state and where its logs are", () => {
            const n = node(shell);
            n.kill();
            const r = n.run(["kube-proxy", "systemd", "kube-proxy.service", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(r.stdout).toBe("");
            expect(r.stderr.split("\n")).toEqual([
                `restart-consumer.sh: FAILED on node ${hostname()}, step: restart kube-proxy (systemd kube-proxy.service)`,
                "  failed: unit kube-proxy.service is not active within 2 s after systemctl restart",
                "  state: systemctl is-active kube-proxy.service: failed",
                "  node now: the new files are on disk; kube-proxy is NOT verified on them",
                "  next: read why kube-proxy does not run with them (journalctl -u kube-proxy.service -n 50), fix the cause, then run `pulumi up` again",
                "",
            ]);
        });

        it("docker: restarts the container and waits until it runs", () => {
            const n = node(shell);
            n.container("kube-proxy");
            const r = n.run(["kube-proxy", "docker", "kube-proxy", "--timeout", "10"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`restarted kube-proxy (docker kube-proxy) on ${hostname()}\n`);
            expect(n.calls()).toContain("docker restart kube-proxy");
            expect(n.calls().indexOf("docker restart kube-proxy")).toBeLessThan(n.calls().lastIndexOf("docker inspect -f {{.State.Running}} kube-proxy"));
            expect(readFileSync(join(n.state, "containers", "kube-proxy"), "utf8")).toBe("true 101\n");
            expect(n.calls().some((c) => c.startsWith("systemctl"))).toBe(false);
        });

        it("docker: a container that stays exited fails naming it, its state and docker's logs command", () => {
            const n = node(shell);
            n.container("flanneld");
            n.kill();
            const r = n.run(["flanneld", "docker", "flanneld", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("step: restart flanneld (docker flanneld)");
            expect(r.stderr).toContain("failed: container flanneld is not running within 2 s after docker restart");
            expect(r.stderr).toContain("state: docker inspect flanneld: exited");
            expect(r.stderr).toContain("docker logs --tail 50 flanneld");
        });

        it("docker: no such container fails with 'no such container' as its state", () => {
            const n = node(shell);
            const r = n.run(["kube-proxy", "docker", "kube-proxy", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("state: docker inspect kube-proxy: no such container");
        });

        it("none: restarts and checks nothing", () => {
            const n = node(shell);
            const r = n.run(["kube-proxy", "none", "-"]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toBe("kube-proxy: restart method none; not restarted\n");
            expect(n.calls()).toEqual([]);
        });

        const usage: Array<[string[], string]> = [
            [[], "name must be a plain name, got ''"],
            [["kube-proxy", "podman", "kube-proxy"], "unknown method 'podman'"],
            [["kube-proxy;reboot", "systemd", "kube-proxy"], "name must be a plain name, got 'kube-proxy;reboot'"],
            [["kube-proxy", "systemd", "kube proxy"], "systemd needs a plain unit or container name, got 'kube proxy'"],
            [["kube-proxy", "docker", "-"], "docker needs a plain unit or container name, got '-'"],
            [["kube-proxy", "systemd", "kube-proxy", "--endpoint", "127.0.0.1:10256"], "--endpoint and --cert go together"],
            [["kube-proxy", "systemd", "kube-proxy", "--endpoint", "localhost", "--cert", "/etc/x.pem"], "--endpoint must be host:port, got 'localhost'"],
            [["kube-proxy", "systemd", "kube-proxy", "--endpoint", "127.0.0.1:1", "--cert", "etc/x.pem"], "'etc/x.pem' must be an absolute node path without blanks"],
            [["kube-proxy", "systemd", "kube-proxy", "--timeout", "soon"], "--timeout must be a number"],
            [["kube-proxy", "systemd", "kube-proxy", "extra"], "unexpected argument 'extra'"],
            [["kube-proxy", "systemd", "kube-proxy", "--bogus"], "unknown option '--bogus'"],
        ];
        for (const [args, message] of usage) {
            it(`${JSON.stringify(args)} → exit 2: ${message}, nothing touched`, () => {
                const n = node(shell);
                const before = snapshotTree(n.root);
                const r = n.run(args);
                expect(r.stderr).toContain(`restart-consumer.sh: ${message}`);
                expect(r.stderr).toContain("usage: restart-consumer.sh ");
                expect(r.stdout).toBe("");
                expect(r.status).toBe(2);
                expect(n.calls()).toEqual([]);
                expect(snapshotTree(n.root)).toEqual(before);
            });
        }
    });
}
