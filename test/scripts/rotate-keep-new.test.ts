/**
 * rotate.sh never makes a node worse (issue 12): where going back cannot help (--keep-new, the
 * component was not running before, the backup would only delete files the node lacked) it
 * keeps the new, checked files, counts no rollback, exits 4 and says what is missing and what to
 * do; a component that was running and fails after the restart is still rolled back (exit 1),
 * unless the backup's copies of the certificates it serves and presents have all expired (the
 * node decides: a control plane recovered after every leaf ran out cannot pass --keep-new).
 * A --root node with the systemctl/docker/crictl stand-ins of ./stand-ins.ts on PATH; the
 * judges are the bytes on disk, kube-pki's records and the report. The cases run concurrently
 * (their waits overlap), spread over dash and bash --posix; the wiped master runs under both.
 */
import { spawn } from "child_process";
import { X509Certificate } from "crypto";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { serializeBundle, sha256Hex } from "../../src/node/bundle-format";
import { scriptPath } from "../../src/node/scripts";
import { issueCert, type CertPaths } from "../harness/sim/openssl-issue";
import { BASH_POSIX, DASH, tempDir, TestCa, type KeyCert } from "./fixtures";
import { standIns } from "./stand-ins";

const MANIFESTS = "/etc/kubernetes/manifests";
const RECORDS = "var/lib/kube-pki/backups";

let ca: TestCa;
let first: KeyCert;
let second: KeyCert;
/** Two certificates that ran out 35 days ago (issued by openssl under libfaketime). */
let expired: { server: KeyCert; peer: KeyCert };
/** A still-valid old peer certificate. */
let validPeer: KeyCert;

beforeAll(async () => {
    ca = new TestCa("keep-new");
    first = ca.issue({ cn: "kube-pki-keep-new", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    second = ca.issue({ cn: "kube-pki-keep-new", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    validPeer = ca.issue({ cn: "kube-pki-keep-new-peer", eku: "serverAuth,clientAuth", sans: ["IP:127.0.0.1"] });
    const dir = tempDir("keep-new-expired");
    const at = (n: string): CertPaths => ({ cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) });
    const old = { eku: ["serverAuth" as const, "clientAuth" as const], ips: ["127.0.0.1"], issuedDaysAgo: 400, validDays: 365, keyType: "ecdsa-p256" as const };
    await Promise.all(["server", "peer"].map((n) => issueCert({ ...old, cn: `kube-pki-expired-${n}`, out: at(n) })));
    const pair = (n: string) => ({ cert: readFileSync(at(n).cert, "utf8"), key: readFileSync(at(n).key, "utf8") });
    expired = { server: pair("server"), peer: pair("peer") };
}, 60_000);

/** CA, certificate and key of one component under `dir` (e.g. /etc/kubernetes/pki/etcd). */
function files(dir: string, leaf: KeyCert, name: string) {
    return [
        { path: `${dir}/ca.crt`, mode: "0644" as const, content: ca.ca.cert },
        { path: `${dir}/${name}.crt`, mode: "0644" as const, content: leaf.cert },
        { path: `${dir}/${name}.key`, mode: "0600" as const, content: leaf.key },
    ];
}

function bundle(dir: string, leaf: KeyCert, name: string): string {
    return serializeBundle({
        files: files(dir, leaf, name),
        checks: [{ cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key`, ca: `${dir}/ca.crt`, sans: ["IP:127.0.0.1"], purpose: "sslserver" }],
    });
}

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** spawnSync without blocking the other cases: exit status and both outputs. */
function spawnAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<Run> {
    return new Promise((resolve, reject) => {
        // Below the cases' 120 s: nine cases share two cores with the live suite; one install took over 60 s at load 20.
        const p = spawn(cmd, args, { env, timeout: 110_000 });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("error", reject);
        p.on("close", (status) => resolve({ status, stdout, stderr }));
        p.stdin.end(input);
    });
}

type Script = "install" | "rotate" | "restore";

/**
 * --timeout for a component that never comes back. The same bound limits the restart command
 * itself (systemctl restart, docker restart: stand-in scripts here), so 1 s failed as "restart
 * failed" instead of "did not come back" when the machine was busy (CI beside other work, load 20).
 */
const FAIL_TIMEOUT = "3";

function node(shell: string[]) {
    const root = tempDir("keep-new");
    const tools = standIns(join(root, MANIFESTS));
    const run = (script: Script, args: string[], input = "") =>
        spawnAsync(shell[0], [...shell.slice(1), scriptPath(script), "--root", root, ...args], tools.env, input);
    const install = async (text: string) => {
        const r = await run("install", [], text);
        expect(r.status, r.stderr).toBe(0);
        return `/${RECORDS}/${readlinkSync(join(root, RECORDS, "latest"))}`;
    };
    const read = (path: string) => readFileSync(join(root, path), "utf8");
    return { root, tools, run, install, read };
}

/** The report (stderr): at most 40 lines, header first, `node now` and `next` last. */
function report(stderr: string): string[] {
    const lines = stderr.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toMatch(/^rotate\.sh: FAILED on node \S+, step: /);
    return lines;
}

const kept = (dir: string, leaf: KeyCert, name: string) =>
    files(dir, leaf, name).map((f) => `  kept: ${f.path} sha256:${sha256Hex(f.content)}`);

const name = (shell: string[]) => (shell.length > 1 ? "bash --posix" : "dash");

describe.concurrent("rotate.sh keeps the new files where a rollback cannot help", { timeout: 120_000 }, () => {
    for (const shell of [[DASH], BASH_POSIX]) {
        it(`wiped master: every file restored from state, no etcd manifest → kept (exit 4), then up again once the manifest is back (${name(shell)})`, async () => {
            const n = node(shell);
            const pki = "/etc/kubernetes/pki/etcd";
            const bk = await n.install(bundle(pki, first, "server"));
            expect(readFileSync(join(n.root, bk, "manifest"), "utf8")).not.toMatch(/^F /m);

            const etcd = ["etcd", "static-pod", "-", "-", "--timeout", FAIL_TIMEOUT];
            const bad = await n.run("rotate", etcd);
            expect(bad.status, bad.stderr).toBe(4);
            const manifest = `${MANIFESTS}/etcd.yaml`;
            expect(report(bad.stderr)).toEqual([
                `rotate.sh: FAILED on node ${hostname()}, step: restart etcd (static-pod)`,
                `  failed: no static pod manifest ${manifest}`,
                `  state: etcd: no running container; manifest ${manifest} MISSING (crictl ps)`,
                `  missing: no static pod manifest ${manifest} (before this run)`,
                "  missing: none of these files was on the node before this run",
                ...kept(pki, first, "server"),
                `  node now: KEPT THE NEW FILES, no rollback (etcd was not running before this run; the backup holds no old file: going back would only delete the new ones): the 3 file(s) installed and checked by ${bk} stay on disk; etcd is NOT verified on them; nothing removed, no rollback counted`,
                `  next: recreate the static pod manifest ${manifest} (kubeadm init phase etcd local --config <your kubeadm config>), then run \`pulumi up\` again (it restarts and verifies etcd on the kept files)`,
            ]);
            // Nothing deleted, nothing counted: the files stay as the install put them.
            expect(n.read(`${pki}/server.crt`)).toBe(first.cert);
            expect(n.read(`${pki}/server.key`)).toBe(first.key);
            expect(existsSync(join(n.root, RECORDS, "rollbacks"))).toBe(false);
            expect(n.read(`${RECORDS}/installed`)).toContain(`${sha256Hex(first.cert)} ${pki}/server.crt`);
            expect(bad.stdout + bad.stderr).not.toContain("PRIVATE KEY");

            // The next `up` retries the failed command: with kube-pki's copy of the manifest the
            // report says to put it back; once it is back, etcd restarts on the kept files.
            mkdirSync(join(n.root, "var/lib/kube-pki/manifests"), { recursive: true });
            writeFileSync(join(n.root, "var/lib/kube-pki/manifests/etcd.yaml"), "kind: Pod\n");
            const again = await n.run("rotate", etcd);
            expect(again.status, again.stderr).toBe(4);
            expect(report(again.stderr).at(-1)).toBe(
                `  next: put back the static pod manifest ${manifest} from kube-pki's copy (cp -p /var/lib/kube-pki/manifests/etcd.yaml ${manifest}) or recreate it (kubeadm init phase etcd local --config <your kubeadm config>), then run \`pulumi up\` again (it restarts and verifies etcd on the kept files)`);
            mkdirSync(join(n.root, MANIFESTS), { recursive: true });
            writeFileSync(join(n.root, manifest), "kind: Pod\n");
            const ok = await n.run("rotate", etcd);
            expect(ok.status, ok.stderr).toBe(0);
            expect(ok.stdout).toContain("rotated etcd on ");
            expect(n.read(`${pki}/server.crt`)).toBe(first.cert);
        });
    }

    it("a unit that was not running before: kept (exit 4) although the backup holds the old files (bash --posix)", async () => {
        const n = node(BASH_POSIX);
        const pki = "/etc/kubernetes/pki";
        await n.install(bundle(pki, first, "apiserver"));
        const bk = await n.install(bundle(pki, second, "apiserver"));
        n.tools.kill();
        const bad = await n.run("rotate", ["kube-apiserver", "systemd", "-", "-", "--timeout", FAIL_TIMEOUT]);
        expect(bad.status, bad.stderr).toBe(4);
        const lines = report(bad.stderr);
        expect(lines).toContain("  missing: systemd unit kube-apiserver failed (before this run)");
        expect(lines).not.toContain("  missing: none of these files was on the node before this run");
        expect(lines).toContain(`  kept: ${pki}/apiserver.crt sha256:${sha256Hex(second.cert)}`);
        expect(lines.at(-2)).toBe(`  node now: KEPT THE NEW FILES, no rollback (kube-apiserver was not running before this run): the 2 file(s) installed and checked by ${bk} stay on disk; kube-apiserver is NOT verified on them; nothing removed, no rollback counted`);
        expect(lines.at(-1)).toBe("  next: start kube-apiserver (systemctl start kube-apiserver; journalctl -u kube-apiserver -n 50 says why it does not run), then run `pulumi up` again (it restarts and verifies kube-apiserver on the kept files)");
        expect(n.read(`${pki}/apiserver.crt`)).toBe(second.cert);
        expect(existsSync(join(n.root, RECORDS, "rollbacks"))).toBe(false);
    });

    it("--keep-new: a running unit that fails on the new files keeps them (exit 4); without it the node is rolled back (exit 1) (dash)", async () => {
        const n = node([DASH]);
        const pki = "/etc/kubernetes/pki";
        const args = ["kube-apiserver", "systemd", "-", "-", "--timeout"];
        await n.install(bundle(pki, first, "apiserver"));
        n.tools.unit("kube-apiserver");
        const bk = await n.install(bundle(pki, second, "apiserver"));
        n.tools.deadWith(join(n.root, pki, "apiserver.crt"), second.cert);

        const keep = await n.run("rotate", [...args, FAIL_TIMEOUT, "--keep-new"]);
        expect(keep.status, keep.stderr).toBe(4);
        const lines = report(keep.stderr);
        expect(lines.filter((l) => l.startsWith("  missing: "))).toEqual([]);
        expect(lines.at(-2)).toBe(`  node now: KEPT THE NEW FILES, no rollback (--keep-new asks for no rollback): the 2 file(s) installed and checked by ${bk} stay on disk; kube-apiserver is NOT verified on them; nothing removed, no rollback counted`);
        expect(lines.at(-1)).toBe("  next: read why kube-apiserver does not run with the new files (journalctl -u kube-apiserver -n 50), fix the cause, then run `pulumi up` again (it restarts and verifies kube-apiserver on the kept files)");
        expect(n.read(`${pki}/apiserver.crt`)).toBe(second.cert);
        expect(existsSync(join(n.root, RECORDS, "rollbacks"))).toBe(false);

        // Same failure, the unit running before, no flag: today's rollback, unchanged.
        n.tools.unit("kube-apiserver");
        // (A longer timeout: the rollback's restart must come back within it on a busy machine.)
        const back = await n.run("rotate", [...args, "5"]);
        expect(back.status, back.stderr).toBe(1);
        expect(report(back.stderr).at(-2)).toBe(`  node now: rolled back to ${bk}; node is as before: the old files, kube-apiserver restarted and verified on them`);
        expect(n.read(`${pki}/apiserver.crt`)).toBe(first.cert);
        expect(n.read(`${RECORDS}/rollbacks`)).toBe("1\n");
    });

    it("docker: a container that had exited before the run is not rolled back to exited (exit 4) (dash)", async () => {
        const n = node([DASH]);
        const pki = "/etc/kubernetes/pki/etcd";
        await n.install(bundle(pki, first, "server"));
        await n.install(bundle(pki, second, "server"));
        n.tools.container("etcd", false);
        n.tools.kill();
        const bad = await n.run("rotate", ["etcd", "docker", "-", "-", "--timeout", FAIL_TIMEOUT]);
        expect(bad.status, bad.stderr).toBe(4);
        const lines = report(bad.stderr);
        expect(lines).toContain("  missing: docker container etcd exited (before this run)");
        expect(lines.at(-1)).toBe("  next: start etcd (docker start etcd; docker logs --tail 50 etcd says why it does not run), then run `pulumi up` again (it restarts and verifies etcd on the kept files)");
        expect(n.read(`${pki}/server.crt`)).toBe(second.cert);
    });

    it("crictl: a container with no running instance before the run is not rolled back to exited (exit 4) (bash --posix)", async () => {
        const n = node(BASH_POSIX);
        const pki = "/etc/kubernetes/pki/etcd";
        await n.install(bundle(pki, first, "server"));
        await n.install(bundle(pki, second, "server"));
        n.tools.criContainer("etcd", false);
        const bad = await n.run("rotate", ["etcd", "crictl", "-", "-", "--timeout", FAIL_TIMEOUT]);
        expect(bad.status, bad.stderr).toBe(4);
        expect(report(bad.stderr)).toContain("  missing: no running container etcd (crictl ps) (before this run)");
        expect(n.read(`${pki}/server.crt`)).toBe(second.cert);
    });

    // Recovery order: etcd restarted on every master together, its old peer and server
    // certificates expired. Only a backup whose served AND presented certificates all ran out
    // is kept; one still-valid old certificate means today's rollback.
    for (const [shell, peerExpired] of [[[DASH], true], [BASH_POSIX, false]] as const) {
        it(`a running etcd whose old ${peerExpired ? "server and peer certificates" : "server certificate (not its peer certificate)"} expired: ${peerExpired ? "kept (exit 4), the expired files named" : "rolled back (exit 1)"} (${name([...shell])})`, async () => {
            const n = node([...shell]);
            const pki = "/etc/kubernetes/pki/etcd";
            const oldPeer = peerExpired ? expired.peer : validPeer;
            // The old files as a kubeadm node holds them (not installed by kube-pki).
            mkdirSync(join(n.root, pki), { recursive: true });
            for (const [f, text] of [["server.crt", expired.server.cert], ["server.key", expired.server.key], ["peer.crt", oldPeer.cert], ["peer.key", oldPeer.key]]) {
                writeFileSync(join(n.root, pki, f), text, { mode: f.endsWith(".key") ? 0o600 : 0o644 });
            }
            n.tools.unit("etcd");
            const bk = await n.install(serializeBundle({
                files: [...files(pki, second, "server"),
                    { path: `${pki}/peer.crt`, mode: "0644", content: first.cert }, { path: `${pki}/peer.key`, mode: "0600", content: first.key }],
                checks: [{ cert: `${pki}/server.crt`, key: `${pki}/server.key`, ca: `${pki}/ca.crt`, sans: ["IP:127.0.0.1"], purpose: "sslserver" }],
            }));
            n.tools.deadWith(join(n.root, pki, "server.crt"), second.cert);

            // (The rollback restart must come back within the timeout on a busy machine.)
            const r = await n.run("rotate", ["etcd", "systemd", "-", `${pki}/server.crt`, "--timeout", peerExpired ? FAIL_TIMEOUT : "5"]);
            const lines = report(r.stderr);
            const notAfter = (pem: string) => new X509Certificate(pem).validTo;
            if (!peerExpired) {
                expect(r.status, r.stderr).toBe(1);
                expect(lines.filter((l) => l.startsWith("  expired: "))).toEqual([]);
                expect(lines.at(-2)).toBe(`  node now: rolled back to ${bk}; node is as before: the old files, etcd restarted and verified on them`);
                expect(n.read(`${pki}/server.crt`)).toBe(expired.server.cert);
                expect(n.read(`${RECORDS}/rollbacks`)).toBe("1\n");
                return;
            }
            expect(r.status, r.stderr).toBe(4);
            expect(lines.filter((l) => l.startsWith("  expired: "))).toEqual([
                `  expired: ${pki}/server.crt (backup copy) notAfter=${notAfter(expired.server.cert)}`,
                `  expired: ${pki}/peer.crt (backup copy) notAfter=${notAfter(expired.peer.cert)}`,
            ]);
            expect(lines.filter((l) => l.startsWith("  missing: "))).toEqual([]);
            expect(lines.at(-2)).toBe(`  node now: KEPT THE NEW FILES, no rollback (the old files are expired: going back cannot help): the 5 file(s) installed and checked by ${bk} stay on disk; etcd is NOT verified on them; nothing removed, no rollback counted`);
            expect(lines.at(-1)).toBe("  next: read why etcd does not run with the new files (journalctl -u etcd -n 50), fix the cause, then run `pulumi up` again (it restarts and verifies etcd on the kept files)");
            expect(n.read(`${pki}/server.crt`)).toBe(second.cert);
            expect(n.read(`${pki}/peer.crt`)).toBe(first.cert);
            expect(existsSync(join(n.root, RECORDS, "rollbacks"))).toBe(false);
            expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
        });
    }

    it("restore.sh says so before it restores a backup that holds no old file (it only removes files) (dash)", async () => {
        const n = node([DASH]);
        const bk = await n.install(bundle("/etc/kubernetes/pki/etcd", first, "server"));
        const r = await n.run("restore", ["latest"]);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.split("\n")[0]).toBe(`note: ${bk} holds no old file: restoring it only removes the 3 file(s) its install put on a node that lacked them`);
        expect(existsSync(join(n.root, "etc/kubernetes/pki/etcd/server.crt"))).toBe(false);
    });
});
