/**
 * verify-recovery.sh (recovery's end-to-end check) against a real TLS server that stands in for
 * the apiserver's /healthz and accepts only client certificates of the test CA. PATH is a folder
 * of the tools the script needs without kubectl and etcdctl, so the openssl path is the one run
 * (the etcdctl quorum write runs against a real etcd in test/e2e/recovery-expired.live.test.ts).
 */
import { execFileSync, spawn } from "child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "fs";
import { createServer, type Server } from "https";
import type { AddressInfo } from "net";
import { join } from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { BASH_POSIX, DASH, kubeconfig, pemBody, tempDir, TestCa, type KeyCert } from "./fixtures";

const TOOLS = ["dirname", "mktemp", "rm", "date", "sed", "base64", "tail", "tr", "cut", "openssl", "timeout", "uname", "sleep", "cat"];

let ca: TestCa;
let admin: KeyCert;
let stranger: KeyCert;
let dir: string;
let bin: string;
let server: Server;
let port: number;
/** What the server answers on /healthz: "ok", or anything else to play an unhealthy apiserver. */
let health = "ok";
const seen: string[] = [];

function run(args: string[], shell: string[] = [DASH]): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const p = spawn(shell[0], [...shell.slice(1), scriptPath("verify-recovery"), ...args], { env: { PATH: bin }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => { stdout += d; });
        p.stderr.on("data", (d) => { stderr += d; });
        const limit = setTimeout(() => p.kill("SIGKILL"), 30_000);
        p.once("error", reject);
        p.once("exit", (code) => { clearTimeout(limit); resolve({ status: code ?? -1, stdout, stderr }); });
    });
}

beforeAll(async () => {
    ca = new TestCa("recovery");
    const serving = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    admin = ca.issue({ cn: "kubernetes-admin", eku: "clientAuth" });
    stranger = new TestCa("other").issue({ cn: "kubernetes-admin", eku: "clientAuth" });
    dir = tempDir("kube-pki-verify-recovery-");
    bin = join(dir, "bin");
    mkdirSync(bin);
    for (const t of TOOLS) symlinkSync(execFileSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).trim(), join(bin, t));
    mkdirSync(join(dir, "etc/kubernetes/pki"), { recursive: true });
    writeFileSync(join(dir, "etc/kubernetes/pki/ca.crt"), ca.ca.cert);
    writeFileSync(join(dir, "etc/kubernetes/admin.conf"), kubeconfig(ca.ca.cert, admin), { mode: 0o600 });
    writeFileSync(join(dir, "etc/kubernetes/stranger.conf"), kubeconfig(ca.ca.cert, stranger), { mode: 0o600 });
    server = createServer({ cert: serving.cert, key: serving.key, ca: ca.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
        const peer = (req.socket as import("tls").TLSSocket).getPeerCertificate();
        seen.push(`${req.url} ${peer.subject?.CN}`);
        res.end(req.url === "/healthz" ? health : "not found");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
});

afterAll(() => { server?.close(); });

const apiserverArgs = (conf = "admin.conf") => ["--root", dir, "--timeout", "3", "--apiserver", `127.0.0.1:${port}`,
    "--kubeconfig", `/etc/kubernetes/${conf}`, "--ca", "/etc/kubernetes/pki/ca.crt"];

describe.each([["dash", [DASH]], ["bash --posix", BASH_POSIX]])("verify-recovery.sh under %s", (_name, shell) => {
    it("GET /healthz with the admin kubeconfig's client pair (no kubectl on the node); the key never printed", async () => {
        health = "ok";
        seen.length = 0;
        const r = await run(apiserverArgs(), shell);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`apiserver healthz ok at 127.0.0.1:${port} with /etc/kubernetes/admin.conf (openssl s_client)`);
        expect(seen).toContain("/healthz kubernetes-admin");
        for (const line of pemBody(admin.key)) expect(r.stdout + r.stderr).not.toContain(line);
    });

    it("an apiserver that never answers ok fails with a runbook report", async () => {
        health = "[-]etcd failed: reason withheld";
        const r = await run(apiserverArgs(), shell);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/verify-recovery(\.sh)?: FAILED on node .*, step: GET \/healthz at 127\.0\.0\.1:\d+ with \/etc\/kubernetes\/admin\.conf/);
        expect(r.stderr).toContain("failed: the apiserver did not answer ok within 3 s");
        expect(r.stderr).toContain("answer: [-]etcd failed: reason withheld");
        expect(r.stderr).toMatch(/next: find why the apiserver is unhealthy .* then run `pulumi up` again/);
        health = "ok";
    });

    it("credentials of another CA are refused by the apiserver: not ok", async () => {
        const r = await run(apiserverArgs("stranger.conf"), shell);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("failed: the apiserver did not answer ok within 3 s");
    });

    it("without etcdctl the quorum write is said to be skipped, not failed", async () => {
        const r = await run(["--root", dir, "--timeout", "3", "--etcd", "127.0.0.1:1", "--etcd-cert", "/x.crt", "--etcd-key", "/x.key", "--etcd-ca", "/ca.crt"], shell);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^note: no etcdctl on .*; the etcd quorum write was not made/);
    });

    it.each([
        [[], "nothing to verify: give --etcd … and/or --apiserver …"],
        [["--etcd", "127.0.0.1:2379"], "--etcd, --etcd-cert, --etcd-key and --etcd-ca go together"],
        [["--apiserver", "127.0.0.1:6443", "--kubeconfig", "/a"], "--apiserver, --kubeconfig and --ca go together"],
    ])("usage error %j: exit 2, nothing run", async (args, message) => {
        const r = await run(args, shell);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain(message);
    });
});
