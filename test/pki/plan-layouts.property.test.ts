/**
 * Property tests of the layout features of the plan (src/pki/plan.ts), from configs parsed as a
 * stack's would be: per-node path templates, one file serving several roles (same-as-ca,
 * layout.sameCertificate) and layout.omit. The oracles are independent of the plan's merging:
 * the same config planned without path overrides says what each role holds on each node.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseClusterSpec, type RawConfig } from "../../src/config";
import { catalog, catalogEntryIds, type CatalogEntry } from "../../src/pki/catalog";
import type { WantedFile } from "../../src/pki/cluster-pki";
import { COMPONENT_ORDER } from "../../src/pki/components";
import { filePath, KUBEADM_LAYOUT, layoutFileKeys, type FileKey } from "../../src/pki/layout";
import { planCluster, type PlannedFile } from "../../src/pki/plan";
import { componentsToRestart, rotateArgs, verifyArgs } from "../../src/rollout/plan";
import type { ClusterSpec } from "../../src/spec";
import { fakeEnv, withConfig } from "../config/helpers";

const SSL = "/etc/kubernetes/ssl";
const slug = (key: string) => key.replace(/[/.]/g, "_");
const parse = (raw: RawConfig): ClusterSpec => parseClusterSpec(raw, fakeEnv());
const tryParse = (raw: RawConfig): { spec?: ClusterSpec; error?: ConfigError } => {
    try {
        return { spec: parse(raw) };
    } catch (err) {
        if (err instanceof ConfigError) return { error: err };
        throw err;
    }
};
const keysOf = (f: PlannedFile): string[] => [f.key, ...(f.alsoKeys ?? [])];
const canonicalIp = (a: string) => (a.includes(":") ? new URL(`http://[${a}]/`).hostname : a);

// ---- per-node path templates ----

const TEMPLATES = ["{node}", "{address}", "{address-dashed}", "{node}-{address-dashed}", "{address}/{node}"] as const;

/**
 * Nodes with distinct names and distinct addresses (IPv4 and IPv6). IPv6 with an embedded IPv4
 * ("::1.2.3.4") is left out: {address-dashed} writes it as "--1-2-3-4", as it writes "::1:2:3:4".
 */
const arbNodes = fc.tuple(
    fc.uniqueArray(fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 2, maxLength: 6 }),
    fc.uniqueArray(fc.oneof(fc.ipV4(), fc.ipV6().filter((a) => !a.includes("."))), { minLength: 6, maxLength: 6, selector: canonicalIp }),
    fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
).map(([names, addresses, workers]) => names.map((name, i) => ({ name, role: i > 0 && workers[i] ? "worker" : "master", address: addresses[i] })));

const arbTemplated = fc.record({
    nodes: arbNodes,
    templates: fc.dictionary(fc.constantFrom(...layoutFileKeys), fc.constantFrom(...TEMPLATES), { minKeys: 1, maxKeys: 12 }),
    managed: fc.boolean(),
});

describe("per-node path templates", () => {
    it("expand fully on every node and never give two nodes one per-node path", () => {
        fc.assert(fc.property(arbTemplated, ({ nodes, templates, managed }) => {
            const paths = Object.fromEntries(Object.entries(templates).map(([key, t]) => [key, `${SSL}/${slug(key)}-${t}.pem`]));
            const spec = parse(withConfig({ nodes, layout: { kind: "custom", paths }, kubelet: { servingCertificate: managed ? "managed" : "self-signed" } }));
            const plan = planCluster(spec);
            for (const n of Object.values(plan.nodes)) {
                for (const f of n.files) {
                    for (const p of [f.path, f.expected?.keyPath, f.expected?.caPath]) if (p !== undefined) expect(p, `${n.node.name} ${f.key}`).not.toMatch(/[{}]/);
                }
            }
            for (const key of Object.keys(templates)) {
                const holders = Object.values(plan.nodes).flatMap((n) => n.files.filter((f) => keysOf(f).includes(key)).map((f) => ({ node: n.node, path: f.path })));
                // Distinct across nodes, and each is the template filled with that node's own name and address.
                expect(new Set(holders.map((h) => h.path)).size, key).toBe(holders.length);
                for (const { node, path } of holders) {
                    const dashed = node.advertiseAddress.replace(/[.:]/g, "-");
                    expect(path).toBe(`${SSL}/${slug(key)}-${templates[key]!.replace("{node}", node.name).replace("{address-dashed}", dashed).replace("{address}", node.advertiseAddress)}.pem`);
                }
            }
        }), { numRuns: 60 });
    });
});

// ---- one file, several roles ----

/** Keys that may share one path: pairs a cluster really merges (with the flag that makes them one material) and pairs that never are one. */
const GROUPS: readonly (readonly FileKey[])[] = [
    ["ca.crt", "etcd/ca.crt"], ["ca.crt", "front-proxy-ca.crt"], ["ca.key", "etcd/ca.key"],
    ["apiserver.crt", "apiserver-kubelet-client.crt"], ["apiserver.key", "apiserver-kubelet-client.key"],
    ["apiserver.crt", "apiserver-etcd-client.crt"], ["apiserver.key", "apiserver-etcd-client.key"],
    ["apiserver-etcd-client.crt", "etcd/healthcheck-client.crt"], ["apiserver-etcd-client.key", "etcd/healthcheck-client.key"],
    ["front-proxy-client.crt", "apiserver-kubelet-client.crt"],
    ["apiserver.crt", "apiserver.key"], ["ca.crt", "apiserver.crt"],
];
const ROLES: readonly [string, string][] = [
    ["apiserver-kubelet-client", "apiserver"], ["apiserver-etcd-client", "apiserver"], ["etcd-healthcheck-client", "apiserver-etcd-client"],
    ["front-proxy-client", "apiserver-kubelet-client"],
];

const arbMerged = fc.record({
    groups: fc.subarray([...GROUPS], { maxLength: 3 }),
    roles: fc.subarray([...ROLES]),
    etcdCa: fc.constantFrom("generate", "same-as-ca"),
    frontProxyCa: fc.constantFrom("generate", "same-as-ca"),
    workers: fc.integer({ min: 0, max: 2 }),
});

/** Union of the chosen groups: every key of one class lands at the class's one path. */
function classesOf(groups: readonly (readonly FileKey[])[]): Map<string, string> {
    const parent = new Map<string, string>();
    const find = (k: string): string => (parent.get(k) ?? k) === k ? k : find(parent.get(k)!);
    for (const g of groups) for (const k of g.slice(1)) parent.set(find(k), find(g[0]));
    const out = new Map<string, string>();
    for (const g of groups) for (const k of g) out.set(k, find(k));
    return out;
}

describe("one file serving several roles (same-as-ca, layout.sameCertificate)", () => {
    it("a path shared by two materials is refused at parse; otherwise every path holds one material, the one each of its roles holds alone", () => {
        fc.assert(fc.property(arbMerged, ({ groups, roles, etcdCa, frontProxyCa, workers }) => {
            const nodes = [{ name: "m1", role: "master", address: "10.0.0.1" }, { name: "m2", role: "master", address: "10.0.0.2" },
                ...Array.from({ length: workers }, (_, i) => ({ name: `w${i + 1}`, role: "worker", address: `10.0.1.${i + 1}` }))];
            const layout = { kind: "custom", ...(roles.length > 0 ? { sameCertificate: Object.fromEntries(roles) } : {}) };
            const raw = (paths: Record<string, string>) => withConfig({ nodes, layout: { ...layout, paths }, authorities: { etcdCa, frontProxyCa } });
            // Oracle: the same cluster with every role at its own (kubeadm) path.
            const alone = tryParse(raw({}));
            fc.pre(alone.spec !== undefined); // sameCertificate across issuers, chains: refused whatever the paths
            const material = new Map<string, Map<string, string>>();
            for (const [name, n] of Object.entries(planCluster(alone.spec!).nodes)) {
                material.set(name, new Map(n.files.flatMap((f) => keysOf(f).map((k) => [k, JSON.stringify(f.material)] as [string, string]))));
            }
            const classes = classesOf(groups);
            const paths = Object.fromEntries([...classes].map(([key, rep]) => [key, `${SSL}/${slug(rep)}.pem`]));
            const clash = [...material.values()].some((held) => {
                const byPath = new Map<string, Set<string>>();
                for (const [key, m] of held) if (paths[key]) byPath.set(paths[key], new Set([...(byPath.get(paths[key]) ?? []), m]));
                return [...byPath.values()].some((s) => s.size > 1);
            });

            const merged = tryParse(raw(paths));
            if (clash) {
                expect(merged.error?.lines.some((l) => l.startsWith("kube-pki:layout.paths") && l.includes("which hold different contents"))).toBe(true);
                return;
            }
            expect(merged.error?.lines).toBeUndefined();
            for (const [name, n] of Object.entries(planCluster(merged.spec!).nodes)) {
                const held = material.get(name)!;
                expect(new Set(n.files.map((f) => f.path)).size, name).toBe(n.files.length);
                for (const f of n.files) {
                    // Exactly the roles held here at this path, each with the material it holds alone.
                    const roles = [...held.keys()].filter((k) => (paths[k] ?? filePath(KUBEADM_LAYOUT, k as FileKey)) === f.path);
                    expect(keysOf(f).sort(), `${name} ${f.path}`).toEqual(roles.sort());
                    for (const k of keysOf(f)) expect(JSON.stringify(f.material), `${name} ${k}`).toBe(held.get(k));
                }
            }
        }), { numRuns: 150 });
    });
});

// ---- layout.omit ----

const FULL = catalog("1.30.0", "stacked", true, true);
const filesOfEntry = (e: CatalogEntry): FileKey[] =>
    e.kind === "ca" || e.kind === "leaf" ? [e.certFile, e.keyFile] : e.kind === "kubeconfig" ? [e.file] : [e.privateKeyFile, e.publicKeyFile];

const arbOmit = fc.record({
    omit: fc.subarray(catalogEntryIds().filter((id) => id !== "ca" && id !== "admin.conf")),
    version: fc.constantFrom("1.30.4", "1.27.6", "1.19.16"),
    etcd: fc.constantFrom("stacked", "external"),
    componentServingCerts: fc.boolean(),
    managed: fc.boolean(),
    workers: fc.integer({ min: 0, max: 2 }),
}).map((o) => {
    // An omitted CA takes what it signs with it (else the config is refused, as it should be).
    const omitted = new Set(o.omit);
    for (const e of FULL) if (e.kind === "leaf" && omitted.has(e.signer)) omitted.add(e.id);
    return { ...o, omit: [...omitted] };
});

describe("layout.omit", () => {
    it("an omitted entry is in no node's plan, and no component's restart or check reads its files", () => {
        fc.assert(fc.property(arbOmit, ({ omit, version, etcd, componentServingCerts, managed, workers }) => {
            const nodes = [{ name: "m1", role: "master", address: "10.0.0.1" }, { name: "m2", role: "master", address: "10.0.0.2" },
                ...Array.from({ length: workers }, (_, i) => ({ name: `w${i + 1}`, role: "worker", address: `10.0.1.${i + 1}` }))];
            const spec = parse(withConfig({
                cluster: { name: "lab", kubernetesVersion: version, etcd: { mode: etcd } }, nodes,
                layout: { kind: "custom", omit, componentServingCerts }, kubelet: { servingCertificate: managed ? "managed" : "self-signed" },
            }));
            const plan = planCluster(spec);
            const omitted = new Set(omit);
            const omittedKeys = new Set<string>(FULL.filter((e) => omitted.has(e.id)).flatMap(filesOfEntry));
            expect(plan.entries.filter((e) => omitted.has(e.id))).toEqual([]);
            expect([...plan.certificates.values()].filter((c) => omitted.has(c.source))).toEqual([]);
            for (const n of Object.values(plan.nodes)) {
                const omittedPaths = new Set([...omittedKeys].map((k) => filePath(spec.layout, k as FileKey, n.node)));
                for (const f of n.files) {
                    expect(omitted.has(f.source), `${n.node.name} ${f.key}`).toBe(false);
                    expect(keysOf(f).filter((k) => omittedKeys.has(k))).toEqual([]);
                    expect(omittedPaths.has(f.path), f.path).toBe(false);
                }
                const components = componentsToRestart(n.files as unknown as WantedFile[], n.node.role, spec);
                for (const c of components) {
                    expect(COMPONENT_ORDER).toContain(c);
                    // Restarted for a file it reads on this node, and its restart and check name no omitted file.
                    expect(n.files.some((f) => f.consumers.includes(c)), c).toBe(true);
                    const args = [...rotateArgs(c, n.node, spec), ...(verifyArgs(c, n.node, spec, 10) ?? [])];
                    expect(args.filter((a) => omittedPaths.has(a)), `${n.node.name} ${c}`).toEqual([]);
                }
            }
        }), { numRuns: 150 });
    });
});
