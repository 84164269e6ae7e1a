/**
 * kubelet-client.sh on a temp --root, without a cluster: a `systemctl` stand-in on PATH plays
 * the kubelet (records where kubelet-client-current.pem points at each restart), and a small
 * HTTPS server plays the apiserver (asks for a client certificate, 401 unless it chains to the CA
 * it was started with, else 403 like an unprivileged node). Certificates come from the openssl
 * CLI (the sim's issueCert), never from kube-pki. Judges: the bytes, modes and link on disk, the
 * stand-ins' records and the script's exit code and report.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { issueCert, type CertPaths } from "../harness/sim/openssl-issue";
import { BASH_POSIX, DASH, pemBody, snapshotTree, tempDir } from "./fixtures";

const PKI = "/var/lib/kubelet/pki";
const LINK = `${PKI}/kubelet-client-current.pem`;
const CA = "/etc/kubernetes/pki/ca.crt";
const NODE = hostname();

const SYSTEMCTL = `#!/bin/sh
# test stand-in for systemctl: the kubelet "unit" is a state file; each restart records the link target.
S=$KP_TEST_STATE
[ "$2" = kubelet ] || [ "$3" = kubelet ] || exit 5
case $1 in
restart) readlink "$KP_TEST_ROOT${LINK}" >>"$S/restarts"; touch "$S/active" ;;
is-active)
    if [ -f "$S/active" ]; then st=active rc=0; else st=inactive rc=3; fi
    [ "$2" = --quiet ] || printf '%s\\n' "$st"
    exit $rc ;;
*) exit 1 ;;
esac
`;

/** The apiserver stand-in: argv = CA file, port; prints "ready" once listening. */
const APISERVER = `
const https = require("node:https"), fs = require("node:fs");
const [ca, port] = process.argv.slice(1);
const s = https.createServer({ key: fs.readFileSync(ca.replace(/ca\\.crt$/, "srv.key")), cert: fs.readFileSync(ca.replace(/ca\\.crt$/, "srv.crt")),
    ca: fs.readFileSync(ca), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const code = req.socket.authorized ? 403 : 401;
    fs.appendFileSync(ca + ".log", JSON.stringify({ code, cn: req.socket.getPeerCertificate().subject?.CN }) + "\\n");
    res.writeHead(code, { "content-type": "application/json" });
    res.end("{}");
});
s.listen(Number(port), "127.0.0.1", () => console.log("ready"));
setTimeout(() => process.exit(0), 60000);
`;

let dir: string;
let cluster: CertPaths;
let foreign: CertPaths;
let fresh: CertPaths;
let old: CertPaths;
let expired: CertPaths;
const servers: ChildProcess[] = [];

const pem = (p: CertPaths) => readFileSync(p.cert, "utf8") + readFileSync(p.key, "utf8");
const fp = (p: CertPaths) => new X509Certificate(readFileSync(p.cert)).fingerprint256.replace(/:/g, "").toLowerCase();

beforeAll(async () => {
    dir = tempDir("kubelet-client-certs");
    const at = (n: string): CertPaths => ({ cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) });
    cluster = at("cluster/ca");
    foreign = at("foreign/ca");
    const ca = { isCa: true, issuedDaysAgo: 400, validDays: 3650, keyType: "ecdsa-p256" as const };
    await Promise.all([issueCert({ ...ca, cn: "kubernetes", out: cluster }), issueCert({ ...ca, cn: "kubernetes", out: foreign })]);
    const node = { cn: `system:node:${NODE}`, o: ["system:nodes"], eku: ["clientAuth" as const], keyType: "ecdsa-p256" as const };
    fresh = at("fresh");
    old = at("old");
    expired = at("expired");
    await Promise.all([
        issueCert({ ...node, issuer: cluster, issuedDaysAgo: 0, validDays: 365, out: fresh }),
        issueCert({ ...node, issuer: cluster, issuedDaysAgo: 100, validDays: 365, out: old }),
        issueCert({ ...node, issuer: cluster, issuedDaysAgo: 400, validDays: 365, out: expired }),
        // The stand-ins' serving pairs (s_client is not asked to verify them strictly).
        issueCert({ cn: "kube-apiserver", eku: ["serverAuth"], ips: ["127.0.0.1"], issuer: cluster, issuedDaysAgo: 0, validDays: 30, keyType: "ecdsa-p256", out: at("cluster/srv") }),
        issueCert({ cn: "kube-apiserver", eku: ["serverAuth"], ips: ["127.0.0.1"], issuer: foreign, issuedDaysAgo: 0, validDays: 30, keyType: "ecdsa-p256", out: at("foreign/srv") }),
    ]);
}, 60_000);

afterEach(() => {
    for (const s of servers.splice(0)) s.kill();
});

/** Starts the apiserver stand-in trusting `trusts`; resolves with its port. */
async function apiserver(trusts: CertPaths): Promise<number> {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, ["-e", APISERVER, trusts.cert, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
    servers.push(child);
    await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
        child.once("exit", (c) => reject(new Error(`apiserver stand-in exited ${c}`)));
    });
    return port;
}

/**
 * A --root node: the cluster CA at /etc/kubernetes/pki/ca.crt, and kubelet-client-current.pem
 * linked (absolute target, as the kubelet writes it) to `current`, or absent.
 */
function node(current: CertPaths | "none" | "dangling" | "expired") {
    if (current === "expired") current = expired;
    const root = tempDir("kubelet-client");
    const state = tempDir("kubelet-client-state");
    mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
    writeFileSync(join(root, CA), readFileSync(cluster.cert));
    mkdirSync(join(root, PKI), { recursive: true, mode: 0o700 });
    const target = `${PKI}/kubelet-client-2025-01-01-00-00-00.pem`;
    if (current !== "none") {
        if (current !== "dangling") writeFileSync(join(root, target), pem(current), { mode: 0o600 });
        symlinkSync(target, join(root, LINK));
    }
    writeFileSync(join(state, "systemctl"), SYSTEMCTL, { mode: 0o755 });
    chmodSync(join(state, "systemctl"), 0o755);
    const env = { ...process.env, PATH: `${state}:${process.env.PATH}`, KP_TEST_STATE: state, KP_TEST_ROOT: root };
    const run = (port: number, input: string, shell = [DASH]) =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath("kubelet-client"), "--root", root, "--strategy", "systemd",
            "--endpoint", `127.0.0.1:${port}`, "--ca", CA, "--timeout", "2"], { input, env, encoding: "utf8", timeout: 60_000 });
    const link = () => readlinkSync(join(root, LINK));
    const restarts = () => (existsSync(join(state, "restarts")) ? readFileSync(join(state, "restarts"), "utf8").trim().split("\n") : []);
    const installed = () => readdirSync(join(root, PKI)).filter((f) => f.startsWith("kubelet-client-kube-pki-"));
    return { root, target, run, link, restarts, installed };
}

/** The failure report's lines: header first, `node now` and `next` last, at most 40. */
function report(stderr: string): string[] {
    const lines = stderr.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toMatch(/^kubelet-client\.sh: FAILED on node \S+, step: /);
    expect(lines.at(-2)).toMatch(/^ {2}node now: /);
    expect(lines.at(-1)).toMatch(/^ {2}next: /);
    return lines;
}

function noKeyIn(r: { stdout: string; stderr: string }, ...pairs: CertPaths[]) {
    const out = r.stdout + r.stderr;
    expect(out).not.toContain("PRIVATE KEY");
    for (const p of pairs) for (const line of pemBody(readFileSync(p.key, "utf8"))) expect(out).not.toContain(line);
}

const NEXT = "  next: read why the kubelet or the apiserver refuses the new certificate (journalctl -u kubelet -n 50; the apiserver's log), fix the cause, then run `pulumi up` again";

describe("kubelet-client.sh (systemctl and apiserver stand-ins)", () => {
    for (const shell of [[DASH], BASH_POSIX]) {
        it(`installs 0600 beside the kubelet's file, switches the link by rename, restarts, verifies by the apiserver's answer (${shell.join(" ")})`, async () => {
            const n = node(old);
            const port = await apiserver(cluster);
            // A watcher that looks at the link all through the run: it must never be missing.
            const watch = spawn("/bin/sh", ["-c", `while [ ! -f ${n.root}/stop ]; do [ -L ${n.root}${LINK} ] || echo gap; done`], { stdio: ["ignore", "pipe", "ignore"] });
            let gaps = "";
            watch.stdout!.on("data", (d) => (gaps += d));
            const r = n.run(port, pem(fresh), shell);
            writeFileSync(join(n.root, "stop"), "");
            await new Promise((res) => watch.once("exit", res));
            expect(r.status, r.stderr).toBe(0);
            expect(gaps).toBe("");
            const [file] = n.installed();
            expect(file).toMatch(/^kubelet-client-kube-pki-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
            const installed = `${PKI}/${file}`;
            expect(readFileSync(join(n.root, installed), "utf8")).toBe(pem(fresh));
            expect((lstatSync(join(n.root, installed)).mode & 0o777).toString(8)).toBe("600");
            expect(n.link()).toBe(installed);
            // The kubelet's own file is untouched, nothing staged is left behind.
            expect(readFileSync(join(n.root, n.target), "utf8")).toBe(pem(old));
            expect(readdirSync(join(n.root, PKI)).sort()).toEqual([file, "kubelet-client-2025-01-01-00-00-00.pem", "kubelet-client-current.pem"].sort());
            // The kubelet was restarted once, with the link already on the new file.
            expect(n.restarts()).toEqual([installed]);
            const log = readFileSync(`${cluster.cert}.log`, "utf8");
            expect(log).toContain(`{"code":403,"cn":"system:node:${NODE}"}`);
            expect(r.stdout.trim().split("\n")).toEqual([
                `installed ${installed} sha256:${fp(fresh)}`,
                `${LINK} -> ${installed} (was ${n.target})`,
                "restarted kubelet (systemd unit active)",
                `verified kubelet client certificate sha256:${fp(fresh)}: kubelet active, ${LINK} -> ${installed}, apiserver 127.0.0.1:${port} answered 403`,
            ]);
            expect(r.stderr).toBe("");
            noKeyIn(r, fresh, old);
        }, 60_000);
    }

    it("after a verified switch, kube-pki's older files are pruned to the newest one; the kubelet's own files stay", async () => {
        const n = node(old);
        const ours = ["2020-01-01-00-00-00", "2021-01-01-00-00-00", "2022-01-01-00-00-00"].map((s) => `kubelet-client-kube-pki-${s}.pem`);
        for (const f of ours) writeFileSync(join(n.root, PKI, f), pem(old), { mode: 0o600 });
        const port = await apiserver(cluster);
        const r = n.run(port, pem(fresh));
        expect(r.status, r.stderr).toBe(0);
        const installed = n.link();
        expect(readdirSync(join(n.root, PKI)).sort()).toEqual([
            "kubelet-client-2025-01-01-00-00-00.pem", "kubelet-client-current.pem", ours[2], installed.slice(PKI.length + 1)].sort());
        expect(r.stdout.trim().split("\n").slice(-2)).toEqual([`removed ${PKI}/${ours[0]} (an older kube-pki certificate)`, `removed ${PKI}/${ours[1]} (an older kube-pki certificate)`]);
    }, 60_000);

    it("the apiserver refuses the new certificate (401): the link goes back to the usable old file, kubelet restarted, the report says so", async () => {
        const n = node(old);
        // An apiserver that trusts another CA answers 401 to every certificate of the cluster CA.
        const port = await apiserver(foreign);
        const r = n.run(port, pem(fresh));
        expect(r.status).toBe(1);
        const [file] = n.installed();
        const installed = `${PKI}/${file}`;
        expect(n.link()).toBe(n.target);
        expect(n.restarts()).toEqual([installed, n.target]);
        expect(report(r.stderr)).toEqual([
            `kubelet-client.sh: FAILED on node ${NODE}, step: verify the kubelet's client certificate`,
            `  failed: the apiserver at 127.0.0.1:${port} answered 401 to the new certificate`,
            `  new: ${installed} sha256:${fp(fresh)}`,
            "  state: kubelet: systemctl is-active kubelet: active",
            `  node now: rolled back: ${LINK} -> ${n.target} again (kubelet restarted); ${installed} left beside it`,
            NEXT,
        ]);
        noKeyIn(r, fresh, old);
    }, 60_000);

    const keeps: Array<[string, "expired" | "none" | "dangling", (target: string) => string]> = [
        ["expired", "expired", (t) => `${t} has expired (or does not parse)`],
        ["missing (dangling link)", "dangling", (t) => `its target ${t} is missing`],
        ["absent (no link at all)", "none", () => `there was no ${LINK}`],
    ];
    for (const [what, current, why] of keeps) {
        it(`the apiserver refuses the new certificate, the old one is ${what}: the new one stays, the report says why`, async () => {
            const n = node(current);
            const port = await apiserver(foreign);
            const r = n.run(port, pem(fresh));
            expect(r.status).toBe(1);
            const [file] = n.installed();
            const installed = `${PKI}/${file}`;
            expect(n.link()).toBe(installed);
            expect(n.restarts()).toEqual([installed]);
            expect(report(r.stderr)).toEqual([
                `kubelet-client.sh: FAILED on node ${NODE}, step: verify the kubelet's client certificate`,
                `  failed: the apiserver at 127.0.0.1:${port} answered 401 to the new certificate`,
                `  new: ${installed} sha256:${fp(fresh)}`,
                "  state: kubelet: systemctl is-active kubelet: active",
                `  node now: kept the new certificate: ${LINK} -> ${installed} (not rolled back: ${why(n.target)}, so going back would be worse)`,
                NEXT,
            ]);
            noKeyIn(r, fresh);
        }, 60_000);
    }

    const usage: Array<[string[], string]> = [
        [["--strategy", "podman", "--endpoint", "10.0.0.1:6443", "--ca", CA], "unknown strategy 'podman'"],
        [["--endpoint", "10.0.0.1", "--ca", CA], "--endpoint must be host:port, got '10.0.0.1'"],
        [["--endpoint", "10.0.0.1:6443", "--ca", "etc/ca.crt"], "--ca must be an absolute node path without blanks"],
        [["--endpoint", "10.0.0.1:6443", "--ca", CA, "--timeout", "0"], "--timeout must be a number of seconds >= 1"],
        [["--endpoint", "10.0.0.1:6443", "--ca", CA, "extra"], "unexpected argument 'extra'"],
    ];
    for (const [args, message] of usage) {
        for (const shell of [[DASH], BASH_POSIX]) {
            it(`${JSON.stringify(args)} → exit 2: ${message}, nothing touched (${shell.join(" ")})`, () => {
                const n = node(old);
                const before = snapshotTree(n.root);
                const r = spawnSync(shell[0], [...shell.slice(1), scriptPath("kubelet-client"), "--root", n.root, ...args], { input: pem(fresh), encoding: "utf8" });
                expect(r.status).toBe(2);
                expect(r.stderr).toContain(message);
                expect(r.stderr).toContain("usage: kubelet-client.sh");
                expect(snapshotTree(n.root)).toEqual(before);
                noKeyIn(r, fresh);
            });
        }
    }

    it("a certificate that does not chain to --ca is refused before anything changes", async () => {
        const n = node(old);
        const bad = join(dir, "foreign-node");
        const paths = { cert: `${bad}.crt`, key: `${bad}.key` };
        await issueCert({ cn: `system:node:${NODE}`, o: ["system:nodes"], eku: ["clientAuth"], issuer: foreign, issuedDaysAgo: 0, validDays: 30, keyType: "ecdsa-p256", out: paths });
        const before = snapshotTree(n.root);
        const r = n.run(1, pem(paths));
        expect(r.status).toBe(1);
        expect(report(r.stderr)).toEqual([
            `kubelet-client.sh: FAILED on node ${NODE}, step: check the certificate before installing it`,
            `  failed: the certificate does not chain to ${CA} for client auth`,
            `  node now: nothing was changed: ${LINK} is as it was`,
            "  next: run `pulumi up` again (the certificate is sent again); if this repeats, report it as a kube-pki bug",
        ]);
        expect(snapshotTree(n.root)).toEqual(before);
        expect(n.restarts()).toEqual([]);
        noKeyIn(r, paths);
        rmSync(n.root, { recursive: true, force: true });
    }, 60_000);
});
