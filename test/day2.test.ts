/**
 * Day 2 under the provider contract (test/harness/mocks/provider-contract.ts): successive runs of
 * the program against one state store, planned as the real engine plans them. Settings that
 * change no file restart nothing, generated CAs and the sa pair never change implicitly, a
 * rolled-back node is installed and restarted again, and a stack deployed by the last landed
 * program moves to this one without a replacement.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKit, currentKit, type Kit } from "../src/node/kit";
import type { KitReship } from "../src/node/kit-ship";
import { SCRIPTS_DIR } from "../src/node/scripts";
import { kubePki } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import type { CertInfo } from "../src/drift/cert-info";
import type { NodeInventory } from "../src/drift/inventory";
import { pemSha256 } from "../src/pki/kubelet-client";
import { haCluster } from "./fixtures/cluster";
import { createEchoMocks } from "./harness/mocks/echo-mocks";
import { runProgram } from "./harness/mocks/run-program";
import { MockStateStore, type RunReport } from "./harness/mocks/state-store";

const noDrift = (rollbacks: Record<string, number> = {}, kitReships: Record<string, KitReship> = {}) =>
    async () => ({ reasons: {}, repairs: {}, report: "", rollbacks, kitReships });
const COMMAND = "command:remote:Command";
/** A restart (rotate.sh) or a push (install.sh), inlined (before the kit) or called from the kit. */
const DISRUPTIVE = /kube-pki-rotate|kube-pki-install|\/rotate\.sh|\/install\.sh/;

async function up(store: MockStateStore, spec: ClusterSpec, rollbacks: Record<string, number> = {}, more: { kit?: Kit; kitReships?: Record<string, KitReship> } = {}): Promise<RunReport> {
    await runProgram(() => kubePki({ spec, inspect: noDrift(rollbacks, more.kitReships), kit: more.kit }), { mocks: createEchoMocks({ store }), stack: "prod" });
    return store.lastRun;
}

const byOp = (report: RunReport, pattern: RegExp) =>
    Object.entries(report.operations).filter(([urn]) => pattern.test(urn)).map(([urn, op]) => `${op} ${urn.split("::").pop()}`);

/** The command text each command resource of the last run would run (create or update). */
function commandsRun(store: MockStateStore, report: RunReport): { name: string; op: string; script: string }[] {
    return Object.entries(report.operations)
        .filter(([urn, op]) => urn.includes(COMMAND) && op !== "same")
        .map(([urn, op]) => {
            const inputs = store.get(urn)!.inputs;
            return { name: urn.split("::").pop()!, op, script: String(op === "update" ? inputs.update ?? inputs.create : inputs.create) };
        });
}

describe("changes that touch no file restart nothing", () => {
    const changes: Array<[string, (s: ClusterSpec) => ClusterSpec]> = [
        ["component timeout", (s) => ({ ...s, rollout: { ...s.rollout, componentTimeoutSeconds: 300 } })],
        ["SSH port and user", (s) => ({ ...s, nodes: s.nodes.map((n) => ({ ...n, ssh: { ...n.ssh!, port: 2222, user: "kube-pki" } })) })],
        ["SSH login key", (s) => ({ ...s, nodes: s.nodes.map((n) => ({ ...n, ssh: { ...n.ssh!, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nOTHER\n-----END OPENSSH PRIVATE KEY-----\n" } })) })],
        ["host-key pins", (s) => ({ ...s, nodes: s.nodes.map((n) => ({ ...n, ssh: { ...n.ssh!, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEFOzRZ/KWQqZ5V5kLq/2Cj0b0v2jKZ5V5kLq/2Cj0b0" } })) })],
        ["backup count (every install's arguments)", (s) => ({ ...s, rollout: { ...s.rollout, keepBackups: 9 } })],
    ];
    for (const [what, change] of changes) {
        it(`${what}: no replacement, every update only checks`, async () => {
            const store = new MockStateStore();
            const spec = haCluster("1.30.4", 1);
            await up(store, spec);
            const report = await up(store, change(spec));
            expect(report.replaced).toEqual([]);
            expect(report.created).toEqual([]);
            expect(byOp(report, /tls:/).filter((l) => !l.startsWith("same"))).toEqual([]);
            for (const run of commandsRun(store, report)) {
                expect(run.op, run.name).toBe("update");
                // Neither a restart (rotate.sh) nor a push (install.sh) runs on an update.
                expect(run.script, run.name).not.toMatch(DISRUPTIVE);
            }
        });
    }
});

describe("the node kit", () => {
    /** This package's scripts with one changed comment line: another kube-pki version's kit. */
    function otherKit(): Kit {
        const dir = mkdtempSync(join(tmpdir(), "kube-pki-kit-"));
        for (const f of readdirSync(SCRIPTS_DIR)) copyFileSync(join(SCRIPTS_DIR, f), join(dir, f));
        appendFileSync(join(dir, "lib.sh"), "# another kube-pki version\n");
        return buildKit(dir);
    }

    it("a new kit (kube-pki upgrade) replaces only the kit ship and activation; every command only updates and checks", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await up(store, spec);
        const kit = otherKit();
        expect(kit.id).not.toBe(currentKit().id);
        const report = await up(store, spec, {}, { kit });
        expect(report.created).toEqual([]);
        expect(byOp(report, /tls:/).filter((l) => !l.startsWith("same"))).toEqual([]);
        expect(report.replaced.map((u) => u.split("::").pop()).sort()).toEqual(
            spec.nodes.flatMap((n) => [`prod-kit-${n.name}`, `prod-kit-${n.name}-activate`]).sort());
        for (const run of commandsRun(store, report).filter((r) => !r.name.startsWith("prod-kit-"))) {
            expect(run.op, run.name).toBe("update");
            expect(run.script, run.name).not.toMatch(DISRUPTIVE);
            // The next create (a file change) calls the new kit.
            expect(String(store.get(store.urns().find((u) => u.endsWith(`::${run.name}`))!)!.inputs.create), run.name).toContain(kit.id);
        }
    });

    it("a kit missing on a node declares a re-ship for that node only, which goes away the next run", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await up(store, spec);
        const report = await up(store, spec, {}, { kitReships: { "master-2": { problem: "missing", signature: "s1" } } });
        expect(report.created.map((u) => u.split("::").pop()).sort()).toEqual(["prod-kit-master-2-reship", "prod-kit-master-2-reship-activate"]);
        expect([...report.updated, ...report.replaced, ...report.deleted]).toEqual([]);
        // Lost again before a run saw it in place (another signature): the re-ship still in state ships again.
        const again = await up(store, spec, {}, { kitReships: { "master-2": { problem: "missing", signature: "s2" } } });
        expect(again.replaced.map((u) => u.split("::").pop()).sort()).toEqual(["prod-kit-master-2-reship", "prod-kit-master-2-reship-activate"]);
        expect([...again.created, ...again.updated, ...again.deleted]).toEqual([]);
        const after = await up(store, spec);
        expect(after.deleted.map((u) => u.split("::").pop()).sort()).toEqual(["prod-kit-master-2-reship", "prod-kit-master-2-reship-activate"]);
        expect([...after.created, ...after.updated, ...after.replaced]).toEqual([]);
        expect(after.executions).toEqual([]);
    });
});

describe("generated CAs and the sa pair never change implicitly", () => {
    it("keyAlgorithm, authorities.keyAlgorithm and caYears: leaves reissued, every CA and sa key kept", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await up(store, spec);
        const keep = /prod-(ca|front-proxy-ca|etcd-ca)-(key|cert)$|prod-sa-key$/;
        const before = Object.fromEntries(store.urns().filter((u) => keep.test(u)).map((u) => [u, store.get(u)!.id]));
        expect(Object.keys(before)).toHaveLength(7);
        const report = await up(store, {
            ...spec, keyAlgorithm: "ECDSA-P256",
            authorities: { ...spec.authorities, keyAlgorithm: "RSA-4096" },
            validity: { ...spec.validity, caYears: 20 },
        });
        for (const [urn, id] of Object.entries(before)) {
            expect(report.operations[urn], urn).toBe("same");
            expect(store.get(urn)!.id).toBe(id);
            expect(store.get(urn)!.protect, urn).toBe(true);
        }
        const leafKeys = byOp(report, /LeafCertificate.*privateKey:PrivateKey::/);
        expect(leafKeys.length).toBeGreaterThan(10);
        expect(leafKeys.every((l) => l.startsWith("replace"))).toBe(true);
    });

    it("a generated CA due for renewal fails the run instead of being replaced", async () => {
        let now = new Date("2025-01-01T00:00:00Z");
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 0, { validity: { caYears: 1, leafDays: 100, renewBeforeDays: 30, leafDaysOverrides: {} } });
        const run = () => runProgram(() => kubePki({ spec, inspect: noDrift() }), { mocks: createEchoMocks({ store, now: () => now }), stack: "prod" });
        await run();
        now = new Date("2026-01-02T00:00:00Z");
        await expect(run()).rejects.toThrow(/unable to replace resource .*prod-ca-cert.*\nas it is currently marked for protection/);
    });
});

describe("a rolled-back node is installed and restarted again", () => {
    it("a new rollback count replaces that node's install and restarts only, once", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await up(store, spec);
        const report = await up(store, spec, { "master-2": 1 });
        const replaced = report.replaced.map((u) => u.split("::").pop()).sort();
        expect(replaced).toEqual([
            "prod-rollout-master-2-etcd", "prod-rollout-master-2-install", "prod-rollout-master-2-kube-apiserver",
            "prod-rollout-master-2-kube-controller-manager", "prod-rollout-master-2-kube-scheduler", "prod-rollout-master-2-kubelet",
        ]);
        expect((await up(store, spec, { "master-2": 1 })).replaced).toEqual([]);
    });
});

// Programs that landed before: a stack either deployed must move over without a replacement or
// a restart. 6ead50f: before issue 8; 6eb475c: the last program before the kit (scripts inlined).
for (const BASELINE of ["6ead50f", "6eb475c"]) {
    describe(`upgrade from the program at ${BASELINE}`, () => {
        it("replaces nothing; only the kit is created; commands only update, and their updates neither push nor restart", async () => {
            // Outside test/ and src/ (tsconfig includes them): the old tree is only loaded, not type-checked.
            const dir = join(__dirname, "..", ".baseline", BASELINE);
            if (!existsSync(join(dir, "src", "program.ts"))) {
                mkdirSync(dir, { recursive: true });
                execFileSync("sh", ["-c", `git archive ${BASELINE} src | tar -x -C '${dir}'`], { cwd: join(__dirname, "..") });
            }
            const old = await import(join(dir, "src", "program.ts"));
            const store = new MockStateStore();
            const spec = haCluster("1.30.4", 1);
            await runProgram(() => old.kubePki({ spec, inspect: noDrift() }), { mocks: createEchoMocks({ store }), stack: "prod" });
            const report = await up(store, spec);
            expect(report.replaced).toEqual([]);
            expect(report.created.map((u) => u.split("::").pop()).sort()).toEqual(
                spec.nodes.flatMap((n) => [`prod-kit-${n.name}`, `prod-kit-${n.name}-activate`]).sort());
            expect(report.deleted).toEqual([]);
            for (const run of commandsRun(store, report).filter((r) => !r.name.startsWith("prod-kit-"))) {
                expect(run.op, run.name).toBe("update");
                expect(run.script, run.name).not.toMatch(DISRUPTIVE);
            }
        });
    });
}

// kube-pki:kubelet.clientCertificate rotate (the new default) on a stack deployed by the last
// program before it, whose kubelets rotate their own healthy certificates: kubelet.conf is rewritten
// once in kubeadm's form (one push), no component restarts, no certificate is reissued.
describe("upgrade to kubelet.clientCertificate rotate (from 6eb475c)", () => {
    const DAY = 86_400_000;
    /** What each node holds after the old program's run: its ca.crt and kubelet.conf, and a healthy rotated client cert. */
    function rotatingInventories(spec: ClusterSpec, caPem: string): NodeInventory[] {
        const now = Date.now();
        const sha = pemSha256(caPem);
        const ca: CertInfo = {
            subjectCN: "kubernetes", subjectO: [], issuerCN: "kubernetes", issuerO: [], dnsNames: [], ipAddresses: [], sha256: sha,
            notBefore: new Date(now - DAY), notAfter: new Date(now + 3000 * DAY), serialNumber: "1", isCa: true, selfSigned: true,
            signedBy: "/etc/kubernetes/pki/ca.crt", pem: caPem,
        };
        const server = `https://${spec.controlPlaneEndpoint.host}:${spec.controlPlaneEndpoint.port}`;
        return spec.nodes.map((n) => ({
            node: n.name, role: n.role, reachable: true, served: [], kubeletConfig: { present: true, rotateCertificates: true },
            files: [
                { key: "ca.crt", path: "/etc/kubernetes/pki/ca.crt", kind: "certificate", exists: true, cert: ca },
                { key: "kubelet.conf", path: "/etc/kubernetes/kubelet.conf", kind: "kubeconfig", exists: true, kubeconfig: { server, ca } },
                { key: "kubelet-client-current", path: "/var/lib/kubelet/pki/kubelet-client-2026-01-01-00-00-00.pem", kind: "kubelet-pem", exists: true,
                  linkTarget: "/var/lib/kubelet/pki/kubelet-client-2026-01-01-00-00-00.pem", keyMatches: true,
                  cert: { ...ca, subjectCN: `system:node:${n.name}`, subjectO: ["system:nodes"], isCa: false, selfSigned: false, sha256: "cd".repeat(32),
                          notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 335 * DAY) } },
            ],
        }));
    }

    it("rewrites kubelet.conf with no restart and no reissue; a second run does nothing", async () => {
        const dir = join(__dirname, "..", ".baseline", "6eb475c");
        if (!existsSync(join(dir, "src", "program.ts"))) {
            mkdirSync(dir, { recursive: true });
            execFileSync("sh", ["-c", `git archive 6eb475c src | tar -x -C '${dir}'`], { cwd: join(__dirname, "..") });
        }
        const old = await import(join(dir, "src", "program.ts"));
        const store = new MockStateStore();
        const embedded = haCluster("1.30.4", 1);
        await runProgram(() => old.kubePki({ spec: embedded, inspect: noDrift() }), { mocks: createEchoMocks({ store }), stack: "prod" });
        const caPem = String(store.get(store.urns().find((u) => u.endsWith("::prod-ca-cert"))!)!.state.certPem);
        const spec: ClusterSpec = { ...embedded, kubelet: { ...embedded.kubelet, clientCertificate: "rotate" } };
        const inventories = rotatingInventories(spec, caPem);
        const run = async () => {
            await runProgram(() => kubePki({ spec, inspect: async () => ({ reasons: {}, repairs: {}, report: "", inventories }) }), { mocks: createEchoMocks({ store }), stack: "prod" });
            return store.lastRun;
        };
        const report = await run();
        // No certificate is issued or reissued; only kubelet.conf's own client certificates leave state.
        expect(byOp(report, /tls:/).filter((l) => !l.startsWith("same") && !/^delete .*-kubelet\.conf-(key|csr|cert)$/.test(l))).toEqual([]);
        expect(byOp(report, /tls:/).filter((l) => l.startsWith("delete"))).toHaveLength(3 * spec.nodes.length);
        expect(report.created.filter((u) => /kubelet-client/.test(u))).toEqual([]);
        const runs = commandsRun(store, report).filter((r) => !r.name.startsWith("prod-kit-"));
        // One push per node (kubelet.conf's new form) and the kubelet's command, which only says why it
        // does not restart; the rest only update (the new kit) and check.
        expect(runs.filter((r) => r.op !== "update").map((r) => `${r.op} ${r.name}`).sort()).toEqual(spec.nodes.flatMap((n) => [
            `replace prod-rollout-${n.name}-install`, `replace prod-rollout-${n.name}-kubelet`]).sort());
        for (const r of runs.filter((x) => !x.name.endsWith("-install"))) expect(r.script, r.name).not.toMatch(DISRUPTIVE);
        for (const r of runs.filter((x) => x.name.endsWith("-kubelet"))) expect(r.script, r.name).toContain("kubelet.conf rewritten, not restarted");
        const again = await run();
        expect([...again.created, ...again.updated, ...again.replaced, ...again.deleted]).toEqual([]);
    });
});
