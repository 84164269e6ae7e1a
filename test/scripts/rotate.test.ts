/**
 * rotate.sh success and rollback with the `systemd` strategy, without a cluster: a tiny
 * `systemctl` stand-in on PATH (re)starts a real `openssl s_server` that serves the apiserver
 * cert under --root, or, with the fault switch, keeps serving a fixed old cert. The judges are
 * the TLS fingerprint actually served and the bytes on disk. The static-pod and crictl
 * strategies are exercised against the simulated cluster (test/harness/sim).
 */
import { execFileSync, spawnSync } from "child_process";
import { chmodSync, existsSync, readFileSync, readlinkSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { createHash } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { serializeBundle, type Bundle } from "../../src/node/bundle-format";
import { scriptPath } from "../../src/node/scripts";
import { DASH, tempDir, TestCa, type KeyCert } from "./fixtures";

const SHIM = `#!/bin/sh
# test stand-in for systemctl: the "unit" is an openssl s_server (bounded by timeout 60).
# Faults (files in $KP_TEST_STATE): fault = keep serving old.crt; fail-new = do not start unless
# the cert on disk is old.crt; dead = never start.
S=$KP_TEST_STATE
case $1 in
restart)
    [ -f "$S/pid" ] && kill "$(cat "$S/pid")" 2>/dev/null
    rm -f "$S/pid"
    c=$KP_TEST_ROOT/etc/kubernetes/pki/apiserver.crt k=$KP_TEST_ROOT/etc/kubernetes/pki/apiserver.key
    [ ! -f "$S/dead" ] || exit 0
    [ ! -f "$S/fail-new" ] || cmp -s "$c" "$S/old.crt" || exit 0
    [ ! -f "$S/fault" ] || { c=$S/old.crt; k=$S/old.key; }
    timeout 60 /usr/bin/openssl s_server -accept 127.0.0.1:$KP_TEST_PORT -cert "$c" -key "$k" -www </dev/null >/dev/null 2>&1 &
    printf '%s\\n' $! >"$S/pid" ;;
is-active)
    if [ -f "$S/pid" ] && kill -0 "$(cat "$S/pid")" 2>/dev/null; then st=active rc=0; else st=inactive rc=3; fi
    [ "$2" = --quiet ] || printf '%s\\n' "$st"
    exit $rc ;;
*) exit 1 ;;
esac
`;

let ca: TestCa;
let first: KeyCert;
let second: KeyCert;
let state = "";

function bundle(leaf: KeyCert): string {
    const b: Bundle = {
        files: [
            { path: "/etc/kubernetes/pki/ca.crt", mode: "0644", content: ca.ca.cert },
            { path: "/etc/kubernetes/pki/apiserver.crt", mode: "0644", content: leaf.cert },
            { path: "/etc/kubernetes/pki/apiserver.key", mode: "0600", content: leaf.key },
        ],
        checks: [{ cert: "/etc/kubernetes/pki/apiserver.crt", key: "/etc/kubernetes/pki/apiserver.key", ca: "/etc/kubernetes/pki/ca.crt", sans: ["IP:127.0.0.1"], purpose: "sslserver" }],
    };
    return serializeBundle(b);
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

function fp(pem: string): string {
    return execFileSync("/usr/bin/openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem, encoding: "utf8" })
        .trim().replace(/^.*=/, "").replace(/:/g, "").toLowerCase();
}

beforeAll(() => {
    ca = new TestCa("rotate");
    first = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    second = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
});

afterEach(() => {
    const pid = join(state, "pid");
    if (state && existsSync(pid)) spawnSync("kill", [readFileSync(pid, "utf8").trim()]);
});

/** A --root node whose "kube-apiserver" is the systemctl stand-in; scripts run under `shell`. */
function node(shell: string[] = [DASH]) {
    const root = tempDir("rotate");
    state = tempDir("rotate-state");
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(state, "systemctl"), SHIM);
    chmodSync(join(state, "systemctl"), 0o755);
    const env = { ...process.env, PATH: `${state}:${process.env.PATH}`, KP_TEST_STATE: state, KP_TEST_ROOT: root, KP_TEST_PORT: String(port) };
    const run = (script: "install" | "rotate", args: string[], input = "") =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath(script), "--root", root, ...args], { input, env, encoding: "utf8", timeout: 60_000 });
    const rotateArgs = ["kube-apiserver", "systemd", `127.0.0.1:${port}`, "/etc/kubernetes/pki/apiserver.crt", "--timeout", "3"];
    const fault = (name: "fault" | "fail-new" | "dead") => {
        writeFileSync(join(state, "old.crt"), first.cert);
        writeFileSync(join(state, "old.key"), first.key, { mode: 0o600 });
        writeFileSync(join(state, name), "");
    };
    /** first installed and rotated (verified), second installed: the next rotate is the one under test. */
    const secondInstalled = () => {
        expect(run("install", [], bundle(first)).status).toBe(0);
        const ok = run("rotate", rotateArgs);
        expect(ok.status, ok.stderr).toBe(0);
        expect(run("install", [], bundle(second)).status).toBe(0);
    };
    const backup = () => readlinkSync(join(root, "var/lib/kube-pki/backups/latest"));
    return { root, port, run, rotateArgs, fault, secondInstalled, backup };
}

/** The failure report's lines (stderr): at most 40, the header first, `node now` and `next` last. */
function report(stderr: string): string[] {
    const lines = stderr.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toMatch(/^rotate\.sh: FAILED on node \S+, step: /);
    expect(lines.at(-2)).toMatch(/^ {2}node now: /);
    expect(lines.at(-1)).toMatch(/^ {2}next: /);
    return lines;
}

describe("rotate.sh (systemd strategy, systemctl stand-in)", () => {
    it("verifies the new cert is served, and on failure restores the backup, restarts and says so", () => {
        const n = node();
        const { root, run, rotateArgs } = n;
        expect(run("install", [], bundle(first)).status).toBe(0);
        const ok = run("rotate", rotateArgs);
        expect(ok.status).toBe(0);
        expect(ok.stdout).toContain(`served kube-apiserver sha256:${fp(first.cert)}`);
        expect(readFileSync(join(root, "var/lib/kube-pki/backups/latest/restarted"), "utf8")).toContain("kube-apiserver systemd");

        // The unit now keeps serving the first cert whatever is on disk.
        n.fault("fault");
        expect(run("install", [], bundle(second)).status).toBe(0);
        const bk = n.backup();
        const started = Date.now();
        const bad = run("rotate", rotateArgs);
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(bad.status).toBe(1);
        // Component serves the old certificate: the report, line by line.
        const crt = "/etc/kubernetes/pki/apiserver.crt";
        expect(report(bad.stderr)).toEqual([
            `rotate.sh: FAILED on node ${hostname()}, step: verify kube-apiserver serves ${crt} at 127.0.0.1:${n.port}`,
            `  failed: kube-apiserver at 127.0.0.1:${n.port} serves sha256:${fp(first.cert)}, expected sha256:${fp(second.cert)} from ${root}${crt} (waited 3 s)`,
            `  served: sha256:${fp(first.cert)}; expected: sha256:${fp(second.cert)} (the file ${crt} on disk)`,
            "  state: kube-apiserver: systemctl is-active kube-apiserver: active",
            `  rollback: restored 2 file(s) from /var/lib/kube-pki/backups/${bk}`,
            `  rollback: rolled back kube-apiserver (restarted, serves the old sha256:${fp(first.cert)})`,
            `  node now: rolled back to /var/lib/kube-pki/backups/${bk}; node is as before: the old files, kube-apiserver restarted and verified on them`,
            `  next: find why kube-apiserver does not serve ${crt}: its flags or manifest must name that file (grep -r ${crt} /etc/kubernetes/manifests), then run \`pulumi up\` again (it installs and restarts this node again)`,
        ]);
        expect(readFileSync(join(root, "etc/kubernetes/pki/apiserver.crt"), "utf8")).toBe(first.cert);
        expect(readFileSync(join(root, "etc/kubernetes/pki/apiserver.key"), "utf8")).toBe(first.key);
        expect(bad.stdout + bad.stderr).not.toContain("PRIVATE KEY");
        // The rollback is counted (the program re-runs this node while the count is new), and the
        // install record says what is on disk again, so drift does not call the rollback a hand edit.
        const records = join(root, "var/lib/kube-pki/backups");
        expect(readFileSync(join(records, "rollbacks"), "utf8")).toBe("1\n");
        const installed = readFileSync(join(records, "installed"), "utf8");
        expect(installed).toContain(`${sha256(first.cert)} /etc/kubernetes/pki/apiserver.crt`);
        expect(installed).toContain(`${sha256(first.key)} /etc/kubernetes/pki/apiserver.key`);
        expect(installed).not.toContain(sha256(second.cert));
    });

    for (const shell of [[DASH], ["/bin/bash", "--posix"]]) {
        it(`component never comes back with the new files: rolled back, the report says so (${shell.join(" ")})`, () => {
            const n = node(shell);
            n.secondInstalled();
            n.fault("fail-new");
            const bk = n.backup();
            const bad = n.run("rotate", n.rotateArgs);
            expect(bad.status, bad.stderr).toBe(1);
            expect(report(bad.stderr)).toEqual([
                `rotate.sh: FAILED on node ${hostname()}, step: restart kube-apiserver (systemd)`,
                "  failed: kube-apiserver did not come back within 3 s (systemctl is-active kube-apiserver)",
                "  state: kube-apiserver: systemctl is-active kube-apiserver: inactive",
                `  rollback: restored 2 file(s) from /var/lib/kube-pki/backups/${bk}`,
                `  rollback: rolled back kube-apiserver (restarted, serves the old sha256:${fp(first.cert)})`,
                `  node now: rolled back to /var/lib/kube-pki/backups/${bk}; node is as before: the old files, kube-apiserver restarted and verified on them`,
                "  next: read why kube-apiserver does not run with the new files (journalctl -u kube-apiserver -n 50), fix the cause, then run `pulumi up` again (it installs and restarts this node again)",
            ]);
            expect(readFileSync(join(n.root, "etc/kubernetes/pki/apiserver.crt"), "utf8")).toBe(first.cert);
        });
    }

    it("rollback incomplete: the component starts neither with the new nor the old files → exit 3, backup path, next step", () => {
        const n = node();
        n.secondInstalled();
        n.fault("dead");
        const bk = `/var/lib/kube-pki/backups/${n.backup()}`;
        const bad = n.run("rotate", n.rotateArgs);
        expect(bad.status, bad.stderr).toBe(3);
        const why = "kube-apiserver did not come back within 3 s (systemctl is-active kube-apiserver)";
        expect(report(bad.stderr)).toEqual([
            `rotate.sh: FAILED on node ${hostname()}, step: restart kube-apiserver (systemd)`,
            `  failed: ${why}`,
            "  state: kube-apiserver: systemctl is-active kube-apiserver: inactive",
            `  rollback: restored 2 file(s) from ${bk}`,
            `  rollback: kube-apiserver FAILED after rollback: ${why}`,
            "  state: kube-apiserver: systemctl is-active kube-apiserver: inactive",
            `  node now: ROLLBACK INCOMPLETE [kube-apiserver after rollback: ${why}]: the node is NOT as before (the old files are back on disk, but not every component runs on them); backup ${bk}`,
            `  next: bring the components above back by hand (their logs say why they do not start), and if the files are not restored run restore.sh ${bk}; then read why kube-apiserver does not run with the new files (journalctl -u kube-apiserver -n 50), fix the cause, then run \`pulumi up\` again`,
        ]);
        expect(readFileSync(join(n.root, "etc/kubernetes/pki/apiserver.crt"), "utf8")).toBe(first.cert);
    });

    it("restart.sh: a component that never comes back is reported with its state, files untouched", () => {
        const n = node();
        expect(n.run("install", [], bundle(first)).status).toBe(0);
        n.fault("dead");
        const r = spawnSync(DASH, [scriptPath("restart"), "--root", n.root, "kube-apiserver", "systemd", "--timeout", "2"],
            { env: { ...process.env, PATH: `${state}:${process.env.PATH}`, KP_TEST_STATE: state, KP_TEST_ROOT: n.root }, encoding: "utf8", timeout: 60_000 });
        expect(r.status).toBe(1);
        expect(r.stderr.split("\n")).toEqual([
            `restart.sh: FAILED on node ${hostname()}, step: restart kube-apiserver (systemd)`,
            "  failed: kube-apiserver did not come back within 2 s (systemctl is-active kube-apiserver)",
            "  state: kube-apiserver: systemctl is-active kube-apiserver: inactive",
            "  node now: the files on disk are unchanged; kube-apiserver is not confirmed running on them",
            "  next: read why kube-apiserver does not run (journalctl -u kube-apiserver -n 50), fix the cause, then run `pulumi up` again",
            "",
        ]);
    });

    it("--if-needed (drift repair): restarts after an install that changed files or when the file is not served, else only reports", () => {
        const { port, run } = node();
        const repair = ["kube-apiserver", "systemd", `127.0.0.1:${port}`, "/etc/kubernetes/pki/apiserver.crt", "--timeout", "5", "--if-needed"];
        const pid = () => readFileSync(join(state, "pid"), "utf8").trim();

        // The install changed files: restart + verify.
        expect(run("install", [], bundle(first)).status).toBe(0);
        const changed = run("rotate", repair);
        expect(changed.status, changed.stderr).toBe(0);
        expect(changed.stdout).toContain(`served kube-apiserver sha256:${fp(first.cert)}\n`);
        expect(changed.stdout).toContain("rotated kube-apiserver on ");
        const started = pid();

        // Same bundle again (last-install: none) and the file is served: no restart, the served line is still printed.
        expect(run("install", [], bundle(first)).stdout).toContain("no changes");
        const quiet = run("rotate", repair);
        expect(quiet.status, quiet.stderr).toBe(0);
        expect(quiet.stdout).toBe(`served kube-apiserver sha256:${fp(first.cert)}\nrepair: kube-apiserver unchanged and serving its file\n`);
        expect(pid()).toBe(started);

        // Unchanged files but nothing serves them (the process is gone): restart + verify.
        spawnSync("kill", [started]);
        const down = run("rotate", repair);
        expect(down.status, down.stderr).toBe(0);
        expect(down.stdout).toContain(`repair: kube-apiserver at 127.0.0.1:${port} serves no certificate (no TLS handshake), expected sha256:${fp(first.cert)}`);
        expect(down.stdout).toContain(`served kube-apiserver sha256:${fp(first.cert)}\n`);
        expect(down.stdout).toContain("rotated kube-apiserver on ");
        expect(pid()).not.toBe(started);

        // A component without a served check (the kubelet): unchanged files, nothing to do.
        const kubelet = run("rotate", ["kubelet", "systemd", "-", "-", "--if-needed"]);
        expect(kubelet.status, kubelet.stderr).toBe(0);
        expect(kubelet.stdout).toBe("repair: kubelet unchanged\n");
    });
});
