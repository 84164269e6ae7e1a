/**
 * Recovery order (issue 12 part 1): when the control plane is judged down, and what the rollout
 * then declares. Detection is table- and property-tested on hand-made inventories; the graph is
 * the whole program under the echo mocks, compared with today's order for the same stack.
 */
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import type { CertInfo } from "../../src/drift/cert-info";
import type { NodeInventory } from "../../src/drift/inventory";
import { filePath } from "../../src/pki/layout";
import { kubePki } from "../../src/program";
import { detectControlPlaneDown, recoveryMessage } from "../../src/rollout/recovery";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { createAdoptingEchoMocks } from "../harness/mocks/echo-mocks";
import type { RunResult } from "../harness/mocks/records";
import { runProgram } from "../harness/mocks/run-program";

const DAY = 86_400_000;
/** The program judges by the real clock, so the made-up certificates are dated from it. */
const NOW = new Date();
type State = "valid" | "expired" | "absent" | "not-yet";

function cert(state: Exclude<State, "absent">): CertInfo {
    const [from, to] = state === "valid" ? [-100, 265] : state === "expired" ? [-400, -35] : [1, 366];
    return {
        subjectO: [], issuerO: [], dnsNames: [], ipAddresses: [], sha256: "00", serialNumber: "1", isCa: false, selfSigned: false, pem: "",
        notBefore: new Date(NOW.getTime() + from * DAY), notAfter: new Date(NOW.getTime() + to * DAY),
    };
}

interface MasterShape { reachable?: boolean; peer?: State; server?: State; apiserver?: "valid" | "expired" | "down" | "not-read" }

/** One inventory per node of `cluster`: masters as shaped (default: all valid, apiserver serving), workers empty. */
function inventories(cluster: ClusterSpec, shapes: Record<string, MasterShape> = {}): NodeInventory[] {
    return cluster.nodes.map((n) => {
        const s = { reachable: true, peer: "valid", server: "valid", apiserver: "valid", ...shapes[n.name] } as Required<MasterShape>;
        if (!s.reachable) return { node: n.name, role: n.role, reachable: false, error: "ssh: connect timed out", files: [], served: [] };
        if (n.role !== "master") return { node: n.name, role: n.role, reachable: true, files: [], served: [] };
        const file = (key: "etcd/peer.crt" | "etcd/server.crt", st: State) => ({
            key, path: filePath(cluster.layout, key, n), kind: "certificate" as const, exists: st !== "absent",
            ...(st !== "absent" ? { cert: cert(st) } : {}),
        });
        const served = s.apiserver === "not-read" ? [] : [{
            component: "kube-apiserver" as const, host: n.advertiseAddress, port: 6443,
            ...(s.apiserver === "down" ? { error: "connection refused" } : { cert: cert(s.apiserver) }),
        }];
        return { node: n.name, role: n.role, reachable: true, files: [file("etcd/peer.crt", s.peer), file("etcd/server.crt", s.server)], served };
    });
}

describe("detectControlPlaneDown", () => {
    const cluster = haCluster("1.30.4", 1);
    const all = (shape: MasterShape) => ({ "master-1": shape, "master-2": shape, "master-3": shape });

    it.each<[string, Record<string, MasterShape> | undefined, boolean, RegExp?]>([
        ["healthy", {}, false],
        ["every leaf expired, apiservers down", all({ peer: "expired", server: "expired", apiserver: "down" }),
            true, /0 of 3 masters hold a valid etcd peer and server certificate; etcd needs 2 .*no apiserver serves a valid certificate \(3 of 3 unreachable, 0 expired\)/],
        ["etcd certificates expired on two masters", { "master-1": { peer: "expired" }, "master-2": { server: "expired" } }, true, /^1 of 3 masters/],
        ["etcd certificates expired on one master only", { "master-2": { peer: "expired", server: "expired" } }, false],
        ["a master's peer certificate absent, another's not valid yet", { "master-1": { peer: "absent" }, "master-3": { peer: "not-yet" } }, true, /^1 of 3/],
        ["every apiserver serves an expired certificate, etcd fine", all({ apiserver: "expired" }), true, /^no apiserver serves .*0 of 3 unreachable, 3 expired/],
        ["one apiserver still serves", { "master-1": { apiserver: "down" }, "master-2": { apiserver: "expired" } }, false],
        ["a single unreadable master, the others healthy", { "master-2": { reachable: false } }, false],
        ["a wiped master (nothing on disk, nothing served), the others healthy", { "master-2": { peer: "absent", server: "absent", apiserver: "down" } }, false],
        ["a single unreadable master, the others expired and down", { "master-1": { peer: "expired", apiserver: "down" }, "master-2": { reachable: false }, "master-3": { server: "expired", apiserver: "down" } },
            true, /0 of 3 masters .* \(1 not read\)/],
        ["every master unreadable", all({ reachable: false }), false],
        ["served certificates not read (drift.checkServed off), etcd fine", all({ apiserver: "not-read" }), false],
        ["no inventory (nothing read)", undefined, false],
    ])("%s", (_title, shapes, down, why) => {
        const decision = detectControlPlaneDown(cluster, shapes === undefined ? undefined : inventories(cluster, shapes), NOW);
        expect(decision.down).toBe(down);
        expect(decision.reasons.length > 0).toBe(down);
        if (why) expect(decision.reasons.join("; ")).toMatch(why);
    });

    it("local-directory masters (the dev stack) run no components: an empty tree is a first run, never an outage", () => {
        const local = haCluster("1.30.4", 1);
        const nodes = local.nodes.map((n) => ({ ...n, transport: "local" as const, localRoot: `/tmp/kube-pki-dev/${n.name}` }));
        const c = { ...local, nodes } as ClusterSpec;
        const empty = c.nodes.map((n) => ({ node: n.name, role: n.role, reachable: true, files: [], served: [] }));
        expect(detectControlPlaneDown(c, empty, NOW)).toEqual({ down: false, reasons: [] });
        // The same readings on SSH masters say nothing of etcd (its files not listed): not judged down.
        expect(detectControlPlaneDown(local, empty, NOW).down).toBe(false);
    });

    it("external etcd: only the apiservers are judged", () => {
        const external = haCluster("1.30.4", 1, { etcd: { ...cluster.etcd, mode: "external" } as ClusterSpec["etcd"] });
        expect(detectControlPlaneDown(external, inventories(external, all({ peer: "absent", server: "absent" })), NOW).down).toBe(false);
    });

    it("property: etcd is judged down exactly when the masters that may hold valid certificates are fewer than a majority", () => {
        const state = fc.constantFrom<State>("valid", "expired", "absent", "not-yet");
        const master = fc.record({ reachable: fc.boolean(), peer: state, server: state });
        fc.assert(fc.property(fc.integer({ min: 1, max: 7 }).chain((n) => fc.array(master, { minLength: n, maxLength: n })), (masters) => {
            const spec = haCluster("1.30.4", 0);
            const nodes = masters.map((_, i) => ({ ...spec.nodes[0], name: `master-${i + 1}`, advertiseAddress: `10.0.0.${i + 1}` }));
            const c = { ...spec, nodes };
            const shapes = Object.fromEntries(masters.map((m, i) => [`master-${i + 1}`, { ...m, apiserver: "valid" as const }]));
            const possible = masters.filter((m) => !m.reachable || (m.peer === "valid" && m.server === "valid")).length;
            const decision = detectControlPlaneDown(c, inventories(c, shapes), NOW);
            expect(decision.down).toBe(possible < Math.floor(masters.length / 2) + 1);
        }), { numRuns: 300 });
    });

    it("names the recovery order and why", () => {
        expect(recoveryMessage({ down: true, reasons: ["0 of 3 masters hold a valid etcd peer and server certificate"] }))
            .toMatch(/^control plane down: recovery order \(0 of 3 masters hold a valid etcd peer and server certificate\): every master is installed first/);
    });
});

describe("recovery rollout (3 masters + 2 workers)", () => {
    const cluster = haCluster("1.30.4", 2);
    const downShapes = { "master-1": { peer: "expired", server: "expired", apiserver: "down" }, "master-2": { peer: "expired", server: "expired", apiserver: "down" },
        "master-3": { peer: "expired", server: "expired", apiserver: "down" } } as const;
    const program = (inv: NodeInventory[] | undefined) => runProgram(() => kubePki({
        spec: cluster, inspect: async () => ({ reasons: {}, repairs: {}, report: "", ...(inv ? { inventories: inv } : {}) }),
    }), { mocks: createAdoptingEchoMocks(), preview: true, stack: "prod" });
    const COMMAND = "command:remote:Command";
    const nodeCommands = (r: RunResult) => r.ofType(COMMAND).filter((c) => c.name.startsWith("prod-rollout-"));

    it("declares the same resources with the same inputs as today's order (only dependsOn differs), and says why in preview", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        let recovery: RunResult;
        let healthy: RunResult;
        try {
            recovery = await program(inventories(cluster, downShapes as Record<string, MasterShape>));
            const warned = warn.mock.calls.map((c) => String(c[0]));
            expect(warned.filter((w) => w.startsWith("control plane down: recovery order (0 of 3 masters hold a valid etcd peer"))).toHaveLength(1);
            warn.mockClear();
            healthy = await program(inventories(cluster));
            expect(warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes("control plane down"))).toEqual([]);
        } finally {
            warn.mockRestore();
        }
        // The only difference: recovery's end-to-end check, which exists only while the control plane is down.
        const check = (x: { name: string }) => x.name === "prod-rollout-recovery-check";
        const shape = (r: RunResult) => r.resources.filter((x) => !check(x)).map((x) => [x.urn, JSON.stringify(x.inputs)]).sort();
        expect(shape(recovery)).toEqual(shape(healthy));
        expect(healthy.resources.filter(check)).toEqual([]);
        expect(recovery.resources.filter(check)).toHaveLength(1);
        // --keep-new is not in any recorded input: a second `up` after a recovery finds nothing to update.
        for (const c of nodeCommands(recovery)) expect(JSON.stringify(c.inputs)).not.toContain("keep-new");
    });

    it("orders installs → etcd on all masters → apiservers → controller-managers and schedulers → kubelets → workers", async () => {
        const res = await program(inventories(cluster, downShapes as Record<string, MasterShape>));
        const urn = (node: string, step: string) => res.get(`prod-rollout-${node}-${step}`, COMMAND).urn;
        const deps = (node: string, step: string) => res.get(`prod-rollout-${node}-${step}`, COMMAND).dependencies;
        const masters = ["master-1", "master-2", "master-3"];
        const phases = [["install"], ["etcd"], ["kube-apiserver"], ["kube-controller-manager", "kube-scheduler"], ["kubelet"]];
        for (const m of masters) {
            phases.forEach((phase, p) => {
                for (const step of phase) {
                    const d = deps(m, step);
                    // Every step of every earlier phase on every master…
                    for (const earlier of phases.slice(0, p).flat()) for (const o of masters) expect(d, `${m} ${step} after ${o} ${earlier}`).toContain(urn(o, earlier));
                    // …and no step of its own phase on another master (etcd restarts go together).
                    for (const same of phase) for (const o of masters) if (o !== m) expect(d, `${m} ${step} not after ${o} ${same}`).not.toContain(urn(o, same));
                }
            });
        }
        // The end-to-end check (etcd quorum write, /healthz with admin.conf) on master-1 after every etcd and apiserver.
        const check = res.get("prod-rollout-recovery-check", COMMAND);
        for (const m of masters) for (const step of ["install", "etcd", "kube-apiserver"]) expect(check.dependencies).toContain(urn(m, step));
        expect(check.dependencies).not.toContain(urn("master-1", "kube-controller-manager"));
        expect(String(check.inputs.create)).toMatch(/verify-recovery\.sh" '--timeout' '\d+' '--etcd' '127\.0\.0\.1:2379' '--etcd-cert' '\/etc\/kubernetes\/pki\/etcd\/healthcheck-client\.crt'.* '--apiserver' '[^']+:6443' '--kubeconfig' '\/etc\/kubernetes\/admin\.conf' '--ca' '\/etc\/kubernetes\/pki\/ca\.crt'/);
        expect(check.inputs.triggers).toEqual([expect.stringMatching(/^0 of 3 masters hold a valid etcd peer/), expect.stringMatching(/^no apiserver serves/)]);
        // Workers in batches after every master's last step, as today.
        for (const w of ["worker-1", "worker-2"]) {
            for (const m of masters) expect(deps(w, "install")).toContain(urn(m, "kubelet"));
        }
        expect(deps("worker-2", "install")).not.toContain(urn("worker-1", "install"));
    });

    it("leaves drift repairs to a run on a healthy control plane", async () => {
        const repairs = { "master-2": { components: ["etcd" as const], signature: "abc" } };
        const withRepairs = (inv: NodeInventory[]) => runProgram(() => kubePki({
            spec: cluster, inspect: async () => ({ reasons: {}, repairs, report: "", inventories: inv }),
        }), { mocks: createAdoptingEchoMocks(), preview: true, stack: "prod" });
        const repairNames = (r: RunResult) => nodeCommands(r).map((c) => c.name).filter((n) => n.includes("-repair"));
        expect(repairNames(await withRepairs(inventories(cluster, downShapes as Record<string, MasterShape>)))).toEqual([]);
        expect(repairNames(await withRepairs(inventories(cluster)))).toEqual(["prod-rollout-master-2-repair", "prod-rollout-master-2-repair-etcd"]);
    });

    it("keeps today's order for a healthy cluster and without inventories", async () => {
        for (const inv of [inventories(cluster), undefined]) {
            const res = await program(inv);
            const deps = (node: string, step: string) => res.get(`prod-rollout-${node}-${step}`, COMMAND).dependencies;
            expect(deps("master-2", "install")).toContain(res.get("prod-rollout-master-1-kubelet", COMMAND).urn);
            expect(deps("master-1", "etcd")).not.toContain(res.get("prod-rollout-master-2-install", COMMAND).urn);
        }
    });
});
