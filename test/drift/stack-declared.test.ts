/**
 * Files declared in kube-pki:certificates are judged by drift, the preview's `certificates`
 * table and `check --stack` exactly like catalogue files (issue 11): expiry and renew-before,
 * bytes that differ from what kube-pki installed, a key that no longer matches, a subject the
 * stack no longer declares, missing. They are read where the stack puts them, even outside the
 * layout's directories; a kubeconfig-kind entry is judged like the catalogue's kubeconfigs; a
 * user's kubeconfig kept only as a stack output is on no node and in no list. A drifted declared
 * file is pushed again by the node's repair, which restarts only that file's declared readers.
 * The trees are real (openssl via TestCa), read by inventory.sh over the local transport.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRows } from "../../src/cli/rows";
import { parseClusterSpec } from "../../src/config";
import { planFileActions } from "../../src/drift/actions";
import { readInventory, type NodeInventory } from "../../src/drift/inventory";
import { compareNode, type NodeDriftResult } from "../../src/drift/report";
import { declaredReads, wantedFromSpec } from "../../src/drift/wanted";
import { findingsFrom, repairFor, wantedWithInstalled } from "../../src/findings";
import { INSTALLED_RECORD } from "../../src/pki/layout";
import { knownFiles } from "../../src/pki/plan";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { fakeEnv, withConfig } from "../config/helpers";
import { createEchoMocks } from "../harness/mocks/echo-mocks";
import { runProgram } from "../harness/mocks/run-program";
import { kubeconfig, tempDir, TestCa } from "../scripts/fixtures";

const PROXY = "/etc/kube-proxy/kube-proxy.pem";
const PROXY_KEY = "/etc/kube-proxy/kube-proxy-key.pem";
const FLANNEL = "/etc/flannel/kubeconfig";
const DECLARED = [PROXY, PROXY_KEY, FLANNEL];
const CLIENT = ["digital_signature", "key_encipherment", "client_auth"];

/** A master whose declared files sit outside the layout's PKI dir, a kubeconfig-kind entry, a user kubeconfig (output only). */
function stackSpec(root: string, renewBeforeDays = 7, patch: Record<string, unknown> = {}): ClusterSpec {
    return parseClusterSpec(withConfig({
        ...patch,
        nodes: [{ name: "m1", role: "master", address: "127.0.0.1", transport: "local", localRoot: root }],
        keyAlgorithm: "ECDSA-P256",
        validity: { renewBeforeDays },
        certificates: [
            { id: "kube-proxy", signer: "ca", commonName: "system:kube-proxy", usages: CLIENT, nodes: "all", validityDays: 30,
              files: { cert: PROXY, key: PROXY_KEY }, consumers: [{ name: "kube-proxy", restart: "systemd" }] },
            { id: "flannel", signer: "ca", commonName: "flanneld", usages: CLIENT, nodes: "all", validityDays: 30,
              kubeconfig: { path: FLANNEL, server: "endpoint" }, consumers: [{ name: "flanneld", restart: "docker", container: "flannel" }] },
            { id: "alice", signer: "ca", commonName: "alice", organizations: ["devs"], usages: ["client_auth"], kubeconfig: { server: "endpoint" }, output: true },
        ],
    }), fakeEnv());
}

/** The adopted cluster CA and the declared files as kube-pki's install left them (its record names them). */
function seed() {
    const root = tempDir("stack-declared");
    const ca = new TestCa("kubernetes");
    const put = (p: string, text: string, mode = 0o644) => {
        mkdirSync(join(root, p, ".."), { recursive: true });
        writeFileSync(join(root, p), text, { mode });
    };
    put("/etc/kubernetes/pki/ca.crt", ca.ca.cert);
    put("/etc/kubernetes/pki/ca.key", ca.ca.key, 0o600);
    const proxy = ca.issue({ cn: "system:kube-proxy", eku: "clientAuth" });
    put(PROXY, proxy.cert);
    put(PROXY_KEY, proxy.key, 0o600);
    put(FLANNEL, kubeconfig(ca.ca.cert, ca.issue({ cn: "flanneld", eku: "clientAuth" }), "flannel"), 0o600);
    const sha = (p: string) => createHash("sha256").update(readFileSync(join(root, p))).digest("hex");
    put(INSTALLED_RECORD, DECLARED.map((p) => `${sha(p)} ${p}\n`).join(""), 0o600);
    return { root, ca, put };
}

async function judge(spec: ClusterSpec, now = new Date()): Promise<{ inventory: NodeInventory; result: NodeDriftResult }> {
    const node = spec.nodes[0];
    const inventory = await readInventory(node, spec.layout, { declared: declaredReads(spec) });
    expect(inventory.reachable, inventory.error).toBe(true);
    const result = compareNode(wantedWithInstalled(wantedFromSpec(spec)[node.name], inventory), inventory, { now, renewBeforeDays: spec.validity.renewBeforeDays });
    return { inventory, result };
}

const at = (r: NodeDriftResult, p: string) => r.files.find((f) => f.path === p)!;
/** The drift of the declared files alone (the catalogue files of this tree are not seeded). */
const declaredOnly = (r: NodeDriftResult): NodeDriftResult => ({ ...r, files: r.files.filter((f) => DECLARED.includes(f.path)) });

describe("files declared in kube-pki:certificates", () => {
    it("are wanted and read where the stack puts them; a user kubeconfig kept as an output is on no node", () => {
        const spec = stackSpec("/nonexistent");
        const wanted = wantedFromSpec(spec).m1;
        expect(wanted.filter((w) => DECLARED.includes(w.path)).map((w) => [w.key, w.path, w.extraConsumers])).toEqual([
            ["kube-proxy", PROXY, ["kube-proxy"]], ["kube-proxy:key", PROXY_KEY, ["kube-proxy"]], ["flannel", FLANNEL, ["flanneld"]],
        ]);
        expect(wanted.some((w) => w.key === "alice" || w.name === "alice")).toBe(false);
        expect(declaredReads(spec)).toEqual({ m1: { files: DECLARED, pairs: [[PROXY, PROXY_KEY]] } });
        // A stack without kube-pki:certificates reads nothing more than its layout.
        expect(declaredReads(parseClusterSpec(withConfig({ nodes: [{ name: "m1", role: "master", address: "10.0.0.1" }] }), fakeEnv()))).toEqual({});
    });

    it("as installed: ok, managed, named by their ids in check, no repair", async () => {
        const { root } = seed();
        const spec = stackSpec(root);
        const { inventory, result } = await judge(spec);
        expect(inventory.installed?.[PROXY]).toBe(inventory.files.find((f) => f.path === PROXY)?.sha256);
        for (const p of DECLARED) expect(at(result, p), `${p}: ${at(result, p)?.detail}`).toMatchObject({ reasons: ["ok"], managed: true });
        expect(at(result, FLANNEL).kind).toBe("kubeconfig");
        expect(repairFor(declaredOnly(result))).toBeUndefined();

        const rows = checkRows([result], knownFiles(spec.layout, spec.nodes[0])).flatMap((n) => n.rows).filter((r) => DECLARED.includes(r.path));
        expect(rows.map((r) => [r.name, r.section, r.authority, r.status, r.severity])).toEqual([
            ["flannel", "certificate", "ca", "ok", "ok"], ["kube-proxy", "certificate", "ca", "ok", "ok"],
        ]);
        expect(rows.some((r) => r.detail.includes("not declared"))).toBe(false);

        const actions = planFileActions(spec, [inventory], { now: new Date() }).m1;
        expect(actions["kube-proxy"]).toMatchObject({ action: "keep" });
        expect(actions.flannel).toMatchObject({ action: "keep" });
        expect(actions.alice).toBeUndefined();
        rmSync(root, { recursive: true, force: true });
    });

    it("inside renew-before: expiring in drift and check, reissued in the certificates table", async () => {
        const { root } = seed();
        // TestCa issues for 30 days: a renew-before of 60 days makes them due.
        const spec = stackSpec(root, 60);
        const { inventory, result } = await judge(spec);
        for (const p of [PROXY, FLANNEL]) expect(at(result, p).reasons).toEqual(["expiring"]);
        const rows = checkRows([declaredOnly(result)], new Map()).flatMap((n) => n.rows);
        expect(rows.map((r) => [r.name, r.severity])).toEqual([["flannel", "warning"], ["kube-proxy", "warning"]]);
        const actions = planFileActions(spec, [inventory], { now: new Date() }).m1;
        expect(actions["kube-proxy"].action).toBe("reissue");
        expect(actions["kube-proxy"].reason).toMatch(/^expires in (29|30) d, inside renew-before 60 d$/);
        expect(actions.flannel.action).toBe("reissue");
        rmSync(root, { recursive: true, force: true });
    });

    it("differs, key-mismatch, spec-changed, missing: re-pushed by the node's repair, which restarts only their readers", async () => {
        const { root, ca, put } = seed();
        const spec = stackSpec(root);
        // Another kube-proxy certificate from the same CA (bytes differ from the install), and a key of another one.
        const other = ca.issue({ cn: "system:kube-proxy", eku: "clientAuth" });
        put(PROXY, other.cert);
        let { inventory, result } = await judge(spec);
        expect(at(result, PROXY).reasons).toEqual(["key-mismatch", "differs"]);
        expect(at(result, PROXY_KEY).reasons).toEqual(["ok"]);
        let repair = repairFor(declaredOnly(result));
        expect(repair).toMatchObject({ components: [], extraConsumers: ["kube-proxy"] });
        expect(planFileActions(spec, [inventory], { now: new Date() }).m1["kube-proxy"]).toMatchObject({ action: "re-push" });
        expect(planFileActions(spec, [inventory], { now: new Date() }).m1["kube-proxy"].reason).toMatch(/differs \(disk sha256:[0-9a-f]+… ≠ installed sha256:[0-9a-f]+…\)/);

        // A subject the stack no longer declares.
        put(PROXY, ca.issue({ cn: "system:kube-proxy-old", eku: "clientAuth" }).cert);
        ({ result } = await judge(spec));
        expect(at(result, PROXY).reasons).toContain("spec-changed");
        expect(at(result, PROXY).detail).toContain("CN system:kube-proxy-old → system:kube-proxy");

        // The flannel kubeconfig gone: missing; only flanneld restarts for it.
        put(PROXY, readFileSync(join(root, PROXY), "utf8"));
        rmSync(join(root, FLANNEL));
        ({ inventory, result } = await judge(spec));
        expect(at(result, FLANNEL)).toMatchObject({ reasons: ["missing"], managed: true });
        const flannelOnly = { ...result, files: result.files.filter((f) => f.path === FLANNEL) };
        repair = repairFor(flannelOnly);
        expect(repair).toMatchObject({ components: [], extraConsumers: ["flanneld"] });
        expect(findingsFrom([flannelOnly]).report).toMatch(/m1\s+flannel\s+missing/);
        rmSync(root, { recursive: true, force: true });
    });

    it("check --stack names a declared file missing, not as an unmanaged stray", async () => {
        const { root } = seed();
        rmSync(join(root, PROXY));
        const spec = stackSpec(root);
        const { result } = await judge(spec);
        const row = checkRows([result], knownFiles(spec.layout, spec.nodes[0]))[0].rows.find((r) => r.path === PROXY)!;
        expect(row).toMatchObject({ name: "kube-proxy", missing: true, status: "missing", severity: "critical" });
        rmSync(root, { recursive: true, force: true });
    });
});

describe("the repair of a drifted declared file", () => {
    it("installs the node again and restarts only the file's declared consumer, after it", async () => {
        // Generated CAs: nothing to adopt under the echo mocks.
        const spec = stackSpec("/nonexistent", 7, { authorities: { ca: "generate", frontProxyCa: "generate", etcdCa: "generate", serviceAccount: "generate" } });
        const repairs = { m1: { components: [], extraConsumers: ["kube-proxy"], signature: "sig-1" } };
        const inventories: NodeInventory[] = [{ node: "m1", role: "master", reachable: true, files: [], served: [] }];
        const res = await runProgram(() => kubePki({ spec, inspect: async () => ({ reasons: {}, repairs, report: "", inventories }) }),
            { mocks: createEchoMocks(), stack: "declared" });
        const repairSteps = res.resources.filter((r) => /-m1-repair/.test(r.name));
        expect(repairSteps.map((r) => r.name.replace(/^.*-m1-/, ""))).toEqual(["repair", "repair-kube-proxy"]);
        const [install, restart] = repairSteps;
        expect(String(install.inputs.create)).toMatch(/install/);
        expect(String(restart.inputs.create)).toContain(`restart-consumer.sh" '--root' '/nonexistent' 'kube-proxy' 'systemd' 'kube-proxy'`);
        expect(restart.inputs.triggers).toEqual(["sig-1"]);
    });
});
