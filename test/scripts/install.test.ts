/**
 * install.sh / restore.sh against a temporary --root, with a real PKI made by openssl.
 * Judges: the tree on disk (hashes, modes, links), openssl's own view of the certs, and the
 * scripts' exit status and messages.
 */
import { execFileSync } from "child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleFingerprints, serializeBundle, type Bundle, type BundleCheck, type BundleFile } from "../../src/node/bundle-format";
import { BASH_POSIX, DASH, kubeconfig, modeOf, pemBody, runScript, snapshotTree, tempDir, TestCa, type KeyCert, type RunResult } from "./fixtures";

const PKI = "/etc/kubernetes/pki";
const BACKUPS = "/var/lib/kube-pki/backups";

let ca: TestCa;
let other: TestCa;
let server: KeyCert;
let client: KeyCert;
const secrets: string[] = [];

beforeAll(() => {
    ca = new TestCa("kubernetes");
    other = new TestCa("other");
    server = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", rsa: true, sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] });
    client = ca.issue({ cn: "kubernetes-admin", eku: "clientAuth" });
    secrets.push(ca.ca.key, server.key, client.key, other.ca.key);
});

interface Parts {
    apiserver?: KeyCert;
    apiserverCheck?: Partial<{ sans: string[]; purpose: "sslserver" | "sslclient"; ca: string }>;
    admin?: string;
    withCa?: boolean;
    extraChecks?: BundleCheck[];
}

function files(p: Parts = {}): BundleFile[] {
    const api = p.apiserver ?? server;
    const out: BundleFile[] = [];
    if (p.withCa ?? true) {
        out.push({ path: `${PKI}/ca.crt`, mode: "0644", owner: "root:root", content: ca.ca.cert });
        out.push({ path: `${PKI}/ca.key`, mode: "0600", owner: "root:root", content: ca.ca.key });
    }
    out.push({ path: `${PKI}/apiserver.crt`, mode: "0644", content: api.cert });
    out.push({ path: `${PKI}/apiserver.key`, mode: "0600", content: api.key });
    out.push({ path: "/etc/kubernetes/admin.conf", mode: "0600", content: p.admin ?? kubeconfig(ca.ca.cert, client) });
    return out;
}

function bundle(p: Parts = {}): Bundle {
    const checks: BundleCheck[] = [
        { cert: `${PKI}/ca.crt`, key: `${PKI}/ca.key`, ca: `${PKI}/ca.crt` },
        {
            cert: `${PKI}/apiserver.crt`, key: `${PKI}/apiserver.key`, ca: p.apiserverCheck?.ca ?? `${PKI}/ca.crt`,
            sans: p.apiserverCheck?.sans ?? ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"],
            purpose: p.apiserverCheck?.purpose ?? "sslserver",
        },
        { kubeconfig: "/etc/kubernetes/admin.conf", ca: `${PKI}/ca.crt` },
        ...(p.extraChecks ?? []),
    ];
    return { files: files(p), checks };
}

function install(root: string, text: string, extra: string[] = []): RunResult {
    const r = runScript("install", ["--root", root, ...extra], text);
    expectNoSecrets(r);
    return r;
}

function expectNoSecrets(r: RunResult): void {
    const out = r.stdout + r.stderr;
    expect(out).not.toContain("PRIVATE KEY");
    for (const s of secrets) for (const line of pemBody(s)) expect(out).not.toContain(line);
}

/** The tree minus the backup store, which legitimately grows. */
function managedTree(root: string): Record<string, string> {
    return Object.fromEntries(Object.entries(snapshotTree(root)).filter(([k]) => !k.startsWith("/var")));
}

function backupsOf(root: string): string[] {
    const dir = join(root, BACKUPS);
    return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d{6}-/.test(n)).sort() : [];
}

describe("install.sh", () => {
    it("installs a fresh tree with modes, a 0700 backup, a latest link and fingerprints on stdout", () => {
        const root = tempDir("install");
        const b = bundle();
        const r = install(root, serializeBundle(b));
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        for (const [path, sha] of Object.entries(bundleFingerprints(b))) {
            expect(r.stdout).toContain(`installed ${path} sha256:${sha}\n`);
            expect(readFileSync(join(root, path), "utf8")).toBe(b.files.find((f) => f.path === path)!.content);
        }
        expect(modeOf(join(root, PKI, "ca.key"))).toBe("0600");
        expect(modeOf(join(root, PKI, "apiserver.key"))).toBe("0600");
        expect(modeOf(join(root, PKI, "apiserver.crt"))).toBe("0644");
        expect(modeOf(join(root, "etc/kubernetes/admin.conf"))).toBe("0600");
        expect(modeOf(join(root, PKI))).toBe("0755");
        // No staging leftovers.
        expect(Object.keys(snapshotTree(root)).filter((k) => k.includes(".kube-pki-"))).toEqual([]);
        const [name] = backupsOf(root);
        expect(r.stdout).toContain(`backup ${BACKUPS}/${name}\n`);
        expect(modeOf(join(root, BACKUPS, name))).toBe("0700");
        expect(modeOf(join(root, BACKUPS))).toBe("0700");
        expect(readlinkSync(join(root, BACKUPS, "latest"))).toBe(name);
        // Every file was new: the manifest says so, so restore can remove them.
        const manifest = readFileSync(join(root, BACKUPS, name, "manifest"), "utf8");
        expect(manifest.split("\n").filter((l) => l.startsWith("N "))).toHaveLength(5);
        // openssl, not our script, agrees the installed leaf chains and serves TLS server auth.
        expect(execFileSync("/usr/bin/openssl", ["verify", "-CAfile", join(root, PKI, "ca.crt"), "-purpose", "sslserver",
            join(root, PKI, "apiserver.crt")], { encoding: "utf8" })).toContain(": OK");
    });

    it("leaves equal files alone, backs up only what changes, and bounds the number of backups", () => {
        const root = tempDir("install");
        expect(install(root, serializeBundle(bundle())).status).toBe(0);
        const caInode = statSync(join(root, PKI, "ca.crt")).ino;

        const again = install(root, serializeBundle(bundle()));
        expect(again.status).toBe(0);
        expect(again.stdout).toContain("no changes");
        expect(again.stdout).not.toContain("installed ");
        expect(again.stdout.match(/^unchanged /gm)).toHaveLength(5);
        expect(backupsOf(root)).toHaveLength(1);

        const before = managedTree(root);
        for (let i = 0; i < 3; i++) {
            const next = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] });
            secrets.push(next.key);
            const r = install(root, serializeBundle(bundle({ apiserver: next })), ["--keep", "2"]);
            expect(r.status).toBe(0);
            expect(r.stdout).toContain(`installed ${PKI}/apiserver.key`);
            expect(r.stdout).toContain(`unchanged ${PKI}/ca.crt`);
            if (i === 0) {
                const m = readFileSync(join(root, BACKUPS, "latest", "manifest"), "utf8");
                expect(m.split("\n").filter((l) => /^[FN] /.test(l)).map((l) => l.split(" ")[1]).sort()).toEqual([`${PKI}/apiserver.crt`, `${PKI}/apiserver.key`]);
            }
        }
        expect(statSync(join(root, PKI, "ca.crt")).ino).toBe(caInode);
        const names = backupsOf(root);
        expect(names).toHaveLength(2);
        expect(readlinkSync(join(root, BACKUPS, "latest"))).toBe(names[1]);
        expect(before).not.toEqual(managedTree(root));
    });

    it("restore.sh brings back the exact previous tree, and removes files and dirs that were new", () => {
        const root = tempDir("restore");
        const empty = managedTree(root);
        expect(install(root, serializeBundle(bundle())).status).toBe(0);
        const first = managedTree(root);
        const first0 = backupsOf(root)[0];

        const next = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] });
        secrets.push(next.key);
        const b2 = bundle({ apiserver: next });
        b2.files.push({ path: "/etc/kubernetes/pki/etcd/extra.crt", mode: "0644", content: ca.ca.cert });
        expect(install(root, serializeBundle(b2)).status).toBe(0);
        expect(managedTree(root)).not.toEqual(first);

        const r = runScript("restore", ["--root", root, "latest"]);
        expectNoSecrets(r);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`restored ${PKI}/apiserver.key`);
        expect(r.stdout).toContain("removed /etc/kubernetes/pki/etcd/extra.crt");
        expect(r.stdout).toContain("removed directory /etc/kubernetes/pki/etcd");
        expect(managedTree(root)).toEqual(first);
        expect(modeOf(join(root, PKI, "apiserver.key"))).toBe("0600");

        // The first backup recorded a tree with nothing in it.
        const r0 = runScript("restore", ["--root", root, first0]);
        expect(r0.status).toBe(0);
        expect(managedTree(root)).toEqual(empty);
    });

    it("uses the CA on disk when the bundle does not carry it", () => {
        const root = tempDir("install");
        expect(install(root, serializeBundle(bundle())).status).toBe(0);
        const ok = install(root, serializeBundle(bundle({ withCa: false, admin: kubeconfig(ca.ca.cert, client) })));
        expect(ok.status).toBe(0);
        const bad = other.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] });
        secrets.push(bad.key);
        const before = snapshotTree(root);
        const r = install(root, serializeBundle(bundle({ withCa: false, apiserver: bad })));
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`${PKI}/apiserver.crt: does not chain to ${PKI}/ca.crt`);
        expect(snapshotTree(root)).toEqual(before);
    });
});

describe("install.sh refuses bad bundles and leaves the tree byte-identical", () => {
    const cases: Array<[string, () => Bundle, RegExp]> = [
        ["key mismatch", () => bundle({ apiserver: { cert: server.cert, key: client.key } }),
            /\/etc\/kubernetes\/pki\/apiserver\.crt: does not match its key \/etc\/kubernetes\/pki\/apiserver\.key/],
        ["wrong CA", () => bundle({ apiserver: other.issue({ cn: "x", eku: "serverAuth", sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] }) }),
            /\/etc\/kubernetes\/pki\/apiserver\.crt: does not chain to \/etc\/kubernetes\/pki\/ca\.crt/],
        ["missing SAN", () => bundle({ apiserverCheck: { sans: ["DNS:node-1", "DNS:kubernetes.default.svc", "IP:10.0.0.9"] } }),
            /\/etc\/kubernetes\/pki\/apiserver\.crt: missing SANs: DNS:kubernetes\.default\.svc IP:10\.0\.0\.9/],
        ["wrong purpose", () => bundle({ apiserver: client, apiserverCheck: { sans: [] } }),
            /\/etc\/kubernetes\/pki\/apiserver\.crt: not valid for purpose sslserver/],
        ["not-yet-valid cert (node clock lags)", () => bundle({ apiserver: ca.issue({ cn: "kube-apiserver", eku: "serverAuth", future: true }), apiserverCheck: { sans: [] } }),
            /\/etc\/kubernetes\/pki\/apiserver\.crt: certificate is not yet valid on this node .*clock lags/],
        ["kubeconfig with a mismatched key", () => bundle({ admin: kubeconfig(ca.ca.cert, { cert: client.cert, key: server.key }) }),
            /\/etc\/kubernetes\/admin\.conf: embedded client certificate does not match the embedded client key/],
        ["kubeconfig signed by another CA", () => bundle({ admin: kubeconfig(ca.ca.cert, other.issue({ cn: "admin", eku: "clientAuth" })) }),
            /\/etc\/kubernetes\/admin\.conf: client certificate does not chain to \/etc\/kubernetes\/pki\/ca\.crt/],
        ["missing file referenced by a check", () => bundle({ withCa: false }),
            /\/etc\/kubernetes\/pki\/ca\.crt: not found/],
    ];

    for (const [what, make, message] of cases) {
        it(what, () => {
            // A fresh root (first install) and a populated one (a later install) both stay as they were.
            const fresh = tempDir("refuse");
            const populated = tempDir("refuse");
            if (what !== "missing file referenced by a check") expect(install(populated, serializeBundle(bundle())).status).toBe(0);
            const text = serializeBundle(make());
            for (const root of [fresh, populated]) {
                if (root === populated && what === "missing file referenced by a check") continue;
                const before = snapshotTree(root);
                const r = install(root, text);
                expect(r.status).toBe(1);
                expect(r.stderr).toMatch(message);
                expect(r.stderr).toContain("nothing was changed");
                expect(snapshotTree(root)).toEqual(before);
            }
        });
    }

    it("node clock lags (a not-yet-valid cert): the report names node, step, problem, that nothing changed and the clock fix, under dash and bash --posix", () => {
        const future = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", future: true });
        secrets.push(future.key);
        const text = serializeBundle(bundle({ apiserver: future, apiserverCheck: { sans: [] } }));
        const notBefore = execFileSync("/usr/bin/openssl", ["x509", "-noout", "-startdate"], { input: future.cert, encoding: "utf8" }).trim().replace(/^notBefore=/, "");
        for (const shell of [[DASH], BASH_POSIX]) {
            const root = tempDir("clock");
            const before = snapshotTree(root);
            const r = runScript("install", ["--root", root], text, 60_000, shell);
            expectNoSecrets(r);
            expect(r.status).toBe(1);
            const lines = r.stderr.trimEnd().split("\n");
            expect(lines.length).toBeLessThanOrEqual(40);
            expect(lines[0]).toBe(`install.sh: FAILED on node ${hostname()}, step: verify the staged files (key match, chain, purpose, SANs, kubeconfigs)`);
            expect(lines[1]).toBe("  failed: install refused: 1 problem(s) in the bundle");
            expect(lines[2]).toMatch(new RegExp(`^  problem: ${PKI}/apiserver\\.crt: certificate is not yet valid on this node \\(notBefore ${notBefore.replace(/ +/g, " +")}, node clock .+ GMT\\); the node's clock lags behind the issuer's: fix its time \\(NTP\\) and run again$`));
            expect(lines.slice(3)).toEqual([
                "  node now: nothing was changed: it keeps its current files (staged copies removed)",
                "  next: fix this node's clock, which lags behind the machine that issued the certificates (timedatectl set-ntp true; chronyc tracking / timedatectl status), then run `pulumi up` again",
            ]);
            expect(r.stdout).toBe("");
            expect(snapshotTree(root)).toEqual(before);
        }
    });

    it("many problems stay a short report: at most 40 lines, the surplus counted", () => {
        const root = tempDir("refuse");
        const extraChecks: BundleCheck[] = Array.from({ length: 50 }, (_, i) => ({ cert: `${PKI}/missing-${i}.crt`, ca: `${PKI}/ca.crt` }));
        const r = install(root, serializeBundle({ ...bundle(), checks: [...bundle().checks, ...extraChecks] }));
        expect(r.status).toBe(1);
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines.length).toBeLessThanOrEqual(40);
        expect(lines[1]).toBe("  failed: install refused: 50 problem(s) in the bundle");
        expect(lines).toContain(`  problem: ${PKI}/missing-0.crt: not found (neither in the bundle nor on the node)`);
        expect(lines).toContain("  (15 more lines not shown)");
    });

    it("truncated, tampered or trailer-less bundles are rejected before anything is touched", () => {
        const root = tempDir("refuse");
        expect(install(root, serializeBundle(bundle())).status).toBe(0);
        const next = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["DNS:node-1"] });
        secrets.push(next.key);
        const good = serializeBundle(bundle({ apiserver: next, apiserverCheck: { sans: ["DNS:node-1"] } }));
        const lines = good.split("\n");
        const keyLine = lines.findIndex((l) => l.includes(" /etc/kubernetes/pki/apiserver.key "));
        const tampered = [...lines];
        const at = tampered[keyLine].length - 30;
        const flipped = tampered[keyLine][at] === "A" ? "B" : "A";
        tampered[keyLine] = tampered[keyLine].slice(0, at) + flipped + tampered[keyLine].slice(at + 1);
        expect(tampered.join("\n")).not.toBe(good);
        const variants: Array<[string, string, string]> = [
            ["cut in half", good.slice(0, Math.floor(good.length / 2)), "no E trailer"],
            ["cut before the trailer", lines.slice(0, -2).join("\n") + "\n", "no E trailer"],
            ["one byte changed", tampered.join("\n"), "does not match the E trailer hash"],
            ["F line dropped", [...lines.slice(0, keyLine), ...lines.slice(keyLine + 1)].join("\n"), "does not match the E trailer hash"],
            ["empty", "", "empty input"],
        ];
        for (const [what, text, message] of variants) {
            const before = snapshotTree(root);
            const r = install(root, text);
            expect(r.status, what).toBe(1);
            expect(r.stderr, what).toContain(message);
            expect(r.stderr, what).toContain("nothing was changed");
            expect(snapshotTree(root), what).toEqual(before);
        }
    });
});

describe("restore.sh", () => {
    it("fails clearly without a backup, and refuses a backup whose copy was altered", () => {
        const root = tempDir("restore");
        const none = runScript("restore", ["--root", root]);
        expect(none.status).toBe(1);
        expect(none.stderr).toContain("no backups");

        expect(install(root, serializeBundle(bundle())).status).toBe(0);
        const next = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["DNS:node-1", "DNS:kubernetes", "IP:10.96.0.1", "IP:::1"] });
        secrets.push(next.key);
        expect(install(root, serializeBundle(bundle({ apiserver: next }))).status).toBe(0);
        const latest = join(root, BACKUPS, "latest");
        const copy = join(latest, "files", PKI, "apiserver.crt");
        execFileSync("/bin/sh", ["-c", 'printf x >> "$1"', "sh", copy]);
        const before = snapshotTree(root);
        const r = runScript("restore", ["--root", root]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`backup copy of ${PKI}/apiserver.crt does not match its recorded sha256`);
        expect(snapshotTree(root)).toEqual(before);
        expect(lstatSync(latest).isSymbolicLink()).toBe(true);
    });
});
