/**
 * restart-consumer.sh (components outside the catalogue that read a stack-declared certificate:
 * kube-proxy, flanneld) on a temp root, with the systemctl/docker/crictl stand-ins of
 * ./stand-ins.ts on PATH. Judges: the calls the stand-ins received, the bytes on disk after an
 * install.sh + failure + rollback, the rollback counter, the TLS fingerprint an `openssl s_server`
 * really serves (--endpoint) and the runbook report. Each case runs under dash and bash --posix.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { hostname } from "os";
import { join } from "path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { serializeBundle } from "../../src/node/bundle-format";
import { scriptPath } from "../../src/node/scripts";
import { BASH_POSIX, DASH, OPENSSL, snapshotTree, tempDir, TestCa, type KeyCert } from "./fixtures";
import { standIns } from "./stand-ins";

const CERT = "/etc/kubernetes/ssl/kube-proxy.pem";
const KEY = "/etc/kubernetes/ssl/kube-proxy-key.pem";
const BACKUPS = "var/lib/kube-pki/backups";
const H = hostname();

let ca: TestCa;
let oldPair: KeyCert;
let newPair: KeyCert;
beforeAll(() => {
    ca = new TestCa("consumer");
    oldPair = ca.issue({ cn: "system:kube-proxy", eku: "serverAuth,clientAuth", sans: ["IP:127.0.0.1"] });
    newPair = ca.issue({ cn: "system:kube-proxy", eku: "serverAuth,clientAuth", sans: ["IP:127.0.0.1"] });
});

const servers: ChildProcess[] = [];
afterEach(() => {
    for (const s of servers.splice(0)) s.kill();
});

function bundle(pair: KeyCert): string {
    return serializeBundle({
        files: [
            { path: "/etc/kubernetes/ssl/ca.pem", mode: "0644", content: ca.ca.cert },
            { path: CERT, mode: "0644", content: pair.cert },
            { path: KEY, mode: "0600", content: pair.key },
        ],
        checks: [{ cert: CERT, key: KEY, ca: "/etc/kubernetes/ssl/ca.pem", purpose: "sslclient" }],
    });
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function fp(pem: string): string {
    return execFileSync(OPENSSL, ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem, encoding: "utf8" })
        .trim().replace(/^.*=/, "").replace(/:/g, "").toLowerCase();
}

function node(shell: string[]) {
    const root = tempDir("consumer");
    const tools = standIns();
    const run = (script: "restart-consumer" | "install" | "rotate", args: string[], input = "") =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath(script), "--root", root, ...args], { input, env: tools.env, encoding: "utf8", timeout: 60_000 });
    /** The old pair installed, then the new one (its backup holds the old pair): the state a consumer restart follows. */
    const newInstalled = () => {
        expect(run("install", [], bundle(oldPair)).status).toBe(0);
        expect(run("install", [], bundle(newPair)).status).toBe(0);
        return `/${BACKUPS}/${readlinkSync(join(root, BACKUPS, "latest")).split("/").pop()}`;
    };
    const onDisk = (p: string) => readFileSync(join(root, p), "utf8");
    const rollbacks = () => (existsSync(join(root, BACKUPS, "rollbacks")) ? readFileSync(join(root, BACKUPS, "rollbacks"), "utf8") : "");
    /** A TLS server on 127.0.0.1 that serves `pair`, whatever is on disk (a consumer that never reloads). */
    const serve = (pair: KeyCert) => {
        const dir = tempDir("consumer-tls");
        writeFileSync(join(dir, "c.pem"), pair.cert);
        writeFileSync(join(dir, "k.pem"), pair.key, { mode: 0o600 });
        const port = 20000 + Math.floor(Math.random() * 20000);
        const s = spawn("timeout", ["60", OPENSSL, "s_server", "-accept", `127.0.0.1:${port}`, "-cert", join(dir, "c.pem"), "-key", join(dir, "k.pem"), "-www"], { stdio: "ignore" });
        servers.push(s);
        return port;
    };
    return { root, run, newInstalled, onDisk, rollbacks, serve, ...tools };
}

/** The failure report's lines: at most 40, header first, `node now` and `next` last. */
function report(stderr: string): string[] {
    const lines = stderr.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toMatch(/^restart-consumer\.sh: FAILED on node \S+, step: /);
    expect(lines.at(-2)).toMatch(/^ {2}node now: /);
    expect(lines.at(-1)).toMatch(/^ {2}next: /);
    return lines;
}

for (const shell of [[DASH], BASH_POSIX]) {
    describe(`restart-consumer.sh (${shell.join(" ")})`, () => {
        it("systemd: restarts the unit, waits until it is active again, and records it for a later rollback", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.unit("kube-proxy.service");
            const r = n.run("restart-consumer", ["kube-proxy", "systemd", "kube-proxy.service", "--timeout", "10"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`restarted kube-proxy (systemd unit kube-proxy.service active)\nrestarted kube-proxy (systemd kube-proxy.service) on ${H}\n`);
            const calls = n.calls();
            expect(calls.filter((c) => c.startsWith("systemctl restart"))).toEqual(["systemctl restart kube-proxy.service"]);
            // It polled through the unit's "activating" answers until the active one.
            const after = calls.slice(calls.indexOf("systemctl restart kube-proxy.service"));
            expect(after.filter((c) => c === "systemctl is-active --quiet kube-proxy.service").length).toBeGreaterThanOrEqual(3);
            expect(calls.some((c) => c.startsWith("docker") || c.startsWith("crictl"))).toBe(false);
            expect(readFileSync(join(n.root, backup, "restarted"), "utf8")).toBe("kube-proxy systemd:kube-proxy.service - - - - -\n");
        });

        it("systemd: fails on the new files → restores the backup, restarts the unit and the catalogue component rotated before it, counts the rollback", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.unit("kube-proxy");
            n.container("kube-apiserver");
            // The catalogue's step before it (rotate.sh) succeeded and is in <backup>/restarted.
            const rotated = n.run("rotate", ["kube-apiserver", "docker", "-", "-", "--container", "kube-apiserver", "--timeout", "5"]);
            expect(rotated.status, rotated.stderr).toBe(0);
            n.deadWith(join(n.root, CERT), newPair.cert);
            const r = n.run("restart-consumer", ["kube-proxy", "systemd", "kube-proxy", "--timeout", "5"]);
            expect(r.status, r.stderr).toBe(1);
            expect(report(r.stderr)).toEqual([
                `restart-consumer.sh: FAILED on node ${H}, step: restart kube-proxy (systemd:kube-proxy)`,
                "  failed: kube-proxy did not come back within 5 s (systemctl is-active kube-proxy)",
                "  state: kube-proxy: systemctl is-active kube-proxy: failed",
                `  rollback: restored 2 file(s) from ${backup}`,
                "  rollback: rolled back kube-apiserver (restarted)",
                "  rollback: rolled back kube-proxy (restarted)",
                `  node now: rolled back to ${backup}; node is as before: the old files, kube-apiserver, kube-proxy restarted on them`,
                "  next: read why kube-proxy does not run with the new files (journalctl -u kube-proxy -n 50), fix the cause, then run `pulumi up` again (it installs and restarts this node again)",
            ]);
            expect(n.onDisk(CERT)).toBe(oldPair.cert);
            expect(n.onDisk(KEY)).toBe(oldPair.key);
            expect(n.rollbacks()).toBe("1\n");
            expect(n.calls().filter((c) => c.includes(" restart "))).toEqual([
                "docker restart kube-apiserver", "systemctl restart kube-proxy", "docker restart kube-apiserver", "systemctl restart kube-proxy",
            ]);
            // That rollout's restarts are undone: a later failure has nothing more to restart.
            expect(readFileSync(join(n.root, backup, "restarted"), "utf8")).toBe("");
        });

        it("systemd: a consumer that did not run before keeps the new files (exit 4) and the report says what is missing", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.kill();
            const before = snapshotTree(n.root);
            const r = n.run("restart-consumer", ["kube-proxy", "systemd", "kube-proxy.service", "--timeout", "2"]);
            expect(r.status).toBe(4);
            expect(report(r.stderr)).toEqual([
                `restart-consumer.sh: FAILED on node ${H}, step: restart kube-proxy (systemd:kube-proxy.service)`,
                "  failed: kube-proxy did not come back within 2 s (systemctl is-active kube-proxy.service)",
                "  state: kube-proxy: systemctl is-active kube-proxy.service: failed",
                "  missing: systemd unit kube-proxy.service failed (before this run)",
                `  kept: ${CERT} sha256:${sha256(newPair.cert)}`,
                `  kept: ${KEY} sha256:${sha256(newPair.key)}`,
                `  node now: KEPT THE NEW FILES, no rollback (kube-proxy was not running before this run): the 2 file(s) installed and checked by ${backup} stay on disk; kube-proxy is NOT verified on them; nothing removed, no rollback counted`,
                "  next: start kube-proxy (systemctl start kube-proxy.service; journalctl -u kube-proxy.service -n 50 says why it does not run), then run `pulumi up` again (it restarts kube-proxy on the kept files)",
            ]);
            expect(snapshotTree(n.root)).toEqual(before);
            expect(n.onDisk(CERT)).toBe(newPair.cert);
            expect(n.rollbacks()).toBe("");
        });

        it("systemd: without a backup (none installed) it fails naming why there is no rollback", () => {
            const n = node(shell);
            n.unit("kube-proxy");
            n.kill();
            const r = n.run("restart-consumer", ["kube-proxy", "systemd", "kube-proxy", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(report(r.stderr).at(-2)).toBe(
                "  node now: the new files of the last install; kube-proxy NOT verified on them; no rollback (no backup: /var/lib/kube-pki/backups/latest does not exist)");
        });

        it("docker: restarts the container, waits until it runs with a new start time", () => {
            const n = node(shell);
            n.container("kube-proxy");
            const r = n.run("restart-consumer", ["kube-proxy", "docker", "kube-proxy", "--timeout", "10"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`restarted kube-proxy (docker container kube-proxy, started 101)\nrestarted kube-proxy (docker kube-proxy) on ${H}\n`);
            expect(n.calls().filter((c) => !c.startsWith("docker inspect"))).toEqual(["docker restart kube-proxy"]);
            expect(n.calls().some((c) => c.startsWith("systemctl") || c.startsWith("crictl"))).toBe(false);
        });

        it("docker: fails on the new files → the old files are back and the container runs on them", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.container("flanneld");
            n.deadWith(join(n.root, CERT), newPair.cert);
            const r = n.run("restart-consumer", ["flanneld", "docker", "flanneld", "--timeout", "5"]);
            expect(r.status, r.stderr).toBe(1);
            const lines = report(r.stderr);
            expect(lines.slice(1)).toEqual([
                "  failed: flanneld did not come back within 5 s (docker container flanneld not running again)",
                "  state: flanneld: docker container flanneld: exited",
                `  rollback: restored 2 file(s) from ${backup}`,
                "  rollback: rolled back flanneld (restarted)",
                `  node now: rolled back to ${backup}; node is as before: the old files, flanneld restarted on them`,
                "  next: read why flanneld does not run with the new files (docker logs --tail 50 flanneld), fix the cause, then run `pulumi up` again (it installs and restarts this node again)",
            ]);
            expect(n.calls().filter((c) => c.startsWith("docker restart"))).toEqual(["docker restart flanneld", "docker restart flanneld"]);
            expect(readFileSync(join(n.state, "containers", "flanneld"), "utf8")).toBe("true 102\n");
            expect(n.onDisk(CERT)).toBe(oldPair.cert);
            expect(n.rollbacks()).toBe("1\n");
        });

        it("docker: a container that stays down on the old files too → ROLLBACK INCOMPLETE (exit 3), old files on disk", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.container("kube-proxy");
            n.kill();
            const r = n.run("restart-consumer", ["kube-proxy", "docker", "kube-proxy", "--timeout", "1"]);
            expect(r.status).toBe(3);
            const lines = report(r.stderr);
            expect(lines).toContain("  rollback: kube-proxy FAILED after rollback: kube-proxy did not come back within 1 s (docker container kube-proxy not running again)");
            expect(lines.at(-2)).toBe(`  node now: ROLLBACK INCOMPLETE [kube-proxy after rollback: kube-proxy did not come back within 1 s (docker container kube-proxy not running again)]: the node is NOT as before (the old files are back on disk, but not every component runs on them); backup ${backup}`);
            expect(n.onDisk(CERT)).toBe(oldPair.cert);
            expect(n.rollbacks()).toBe("1\n");
        });

        it("docker: no such container fails naming it; nothing was running, so nothing is rolled back (exit 4)", () => {
            const n = node(shell);
            n.newInstalled();
            const r = n.run("restart-consumer", ["kube-proxy", "docker", "kube-proxy", "--timeout", "2"]);
            expect(r.status).toBe(4);
            const lines = report(r.stderr);
            expect(lines[1]).toBe("  failed: no docker container kube-proxy (kube-proxy)");
            expect(lines).toContain("  state: kube-proxy: docker container kube-proxy: no such container");
            expect(lines).toContain("  missing: no docker container kube-proxy (before this run)");
            expect(n.calls().filter((c) => c.startsWith("docker restart"))).toEqual([]);
            expect(n.onDisk(CERT)).toBe(newPair.cert);
            expect(n.rollbacks()).toBe("");
        });

        it("crictl: stops the running container and waits until the kubelet runs a new one", () => {
            const n = node(shell);
            n.criContainer("kube-proxy");
            const r = n.run("restart-consumer", ["kube-proxy", "crictl", "kube-proxy", "--timeout", "10"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`restarted kube-proxy (container c1kube-proxy -> c2kube-proxy)\nrestarted kube-proxy (crictl kube-proxy) on ${H}\n`);
            expect(n.calls()).toContain("crictl stop c1kube-proxy");
            expect(n.calls().filter((c) => c.startsWith("crictl ps --name"))).toContain("crictl ps --name ^kube-proxy$ -q");
            expect(n.calls().some((c) => c.startsWith("systemctl") || c.startsWith("docker"))).toBe(false);
        });

        it("crictl --endpoint: verifies the new certificate is served at the endpoint", () => {
            const n = node(shell);
            n.newInstalled();
            n.criContainer("kube-proxy");
            const port = n.serve(newPair);
            const r = n.run("restart-consumer", ["kube-proxy", "crictl", "kube-proxy", "--timeout", "10", "--endpoint", `127.0.0.1:${port}`, "--cert", CERT]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toContain(`served kube-proxy sha256:${fp(newPair.cert)}\n`);
            expect(n.calls()).toContain("crictl stop c1kube-proxy");
        });

        it("crictl --endpoint: still serving the old certificate → rollback, verified serving the old one", () => {
            const n = node(shell);
            const backup = n.newInstalled();
            n.criContainer("kube-proxy");
            const port = n.serve(oldPair);
            const r = n.run("restart-consumer", ["kube-proxy", "crictl", "kube-proxy", "--timeout", "5", "--endpoint", `127.0.0.1:${port}`, "--cert", CERT]);
            expect(r.status, r.stderr).toBe(1);
            expect(report(r.stderr)).toEqual([
                `restart-consumer.sh: FAILED on node ${H}, step: verify kube-proxy serves ${CERT} at 127.0.0.1:${port}`,
                `  failed: kube-proxy at 127.0.0.1:${port} serves sha256:${fp(oldPair.cert)}, expected sha256:${fp(newPair.cert)} from ${n.root}${CERT} (waited 5 s)`,
                `  served: sha256:${fp(oldPair.cert)}; expected: sha256:${fp(newPair.cert)} (the file ${CERT} on disk)`,
                "  state: kube-proxy: container c2kube-proxy running (crictl ps)",
                `  rollback: restored 2 file(s) from ${backup}`,
                `  rollback: rolled back kube-proxy (restarted, serves the old sha256:${fp(oldPair.cert)})`,
                `  node now: rolled back to ${backup}; node is as before: the old files, kube-proxy restarted on them`,
                `  next: find why kube-proxy does not serve ${CERT} (its flags must name that file), then run \`pulumi up\` again (it installs and restarts this node again)`,
            ]);
            expect(n.calls().filter((c) => c.startsWith("crictl stop"))).toEqual(["crictl stop c1kube-proxy", "crictl stop c2kube-proxy"]);
            expect(n.onDisk(CERT)).toBe(oldPair.cert);
            expect(n.rollbacks()).toBe("1\n");
        });

        it("crictl: no container running before and none starting → new files stay (exit 4), no rollback", () => {
            const n = node(shell);
            n.newInstalled();
            n.criContainer("kube-proxy", false);
            const r = n.run("restart-consumer", ["kube-proxy", "crictl", "kube-proxy", "--timeout", "1"]);
            expect(r.status).toBe(4);
            const lines = report(r.stderr);
            expect(lines[1]).toBe("  failed: kube-proxy did not come back within 1 s (no new running container)");
            expect(lines).toContain("  state: kube-proxy: no running container (newest: c1kube-proxy, exited) (crictl ps)");
            expect(lines).toContain("  missing: no running container kube-proxy (crictl ps) (before this run)");
            expect(lines.at(-1)).toMatch(/^ {2}next: start kube-proxy \(its kubelet starts the container; crictl logs --tail 50 c1kube-proxy says why it does not run\)/);
            expect(n.calls().filter((c) => c.startsWith("crictl stop"))).toEqual([]);
            expect(n.onDisk(CERT)).toBe(newPair.cert);
            expect(n.rollbacks()).toBe("");
        });

        it("none: restarts and checks nothing", () => {
            const n = node(shell);
            const r = n.run("restart-consumer", ["kube-proxy", "none", "-"]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toBe("kube-proxy: restart method none; not restarted\n");
            expect(n.calls()).toEqual([]);
        });

        const usage: Array<[string[], string]> = [
            [[], "name must be a plain name, got ''"],
            [["kube-proxy", "podman", "kube-proxy"], "unknown method 'podman'"],
            [["kube-proxy;reboot", "systemd", "kube-proxy"], "name must be a plain name, got 'kube-proxy;reboot'"],
            [["kubelet", "systemd", "kubelet"], "kubelet is a catalogue component: rotate.sh restarts it"],
            [["kube-proxy", "systemd", "kube proxy"], "systemd needs a plain unit or container name, got 'kube proxy'"],
            [["kube-proxy", "docker", "-"], "docker needs a plain unit or container name, got '-'"],
            [["kube-proxy", "crictl", "-"], "crictl needs a plain unit or container name, got '-'"],
            [["kube-proxy", "crictl", "kube-proxy", "--endpoint", "127.0.0.1:10256"], "--endpoint and --cert go together"],
            [["kube-proxy", "crictl", "kube-proxy", "--endpoint", "localhost", "--cert", "/etc/x.pem"], "--endpoint must be host:port, got 'localhost'"],
            [["kube-proxy", "crictl", "kube-proxy", "--endpoint", "127.0.0.1:1", "--cert", "etc/x.pem"], "'etc/x.pem' must be an absolute node path without blanks"],
            [["kube-proxy", "systemd", "kube-proxy", "--timeout", "soon"], "--timeout must be a number"],
            [["kube-proxy", "systemd", "kube-proxy", "extra"], "unexpected argument 'extra'"],
            [["kube-proxy", "systemd", "kube-proxy", "--bogus"], "unknown option '--bogus'"],
        ];
        for (const [args, message] of usage) {
            it(`${JSON.stringify(args)} → exit 2: ${message}, nothing touched`, () => {
                const n = node(shell);
                const before = snapshotTree(n.root);
                const r = n.run("restart-consumer", args);
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
