/**
 * planFileActions over inventories holding real certificates (tls provider semantics): every
 * action and reason kind, with its values, and the expiry each file will have.
 */
import { describe, expect, it } from "vitest";
import { keyAlgorithmOf, planFileActions, renderFileActions, type PlannedFile } from "../../src/drift/actions";
import type { NodeInventory } from "../../src/drift/inventory";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { buildInventories, daysAgo, type InventoryShape } from "./inventory-builder";

const now = new Date("2025-06-01T00:00:00Z");
const DAY = 86_400_000;
const HOUR = 3_600_000;
const base: InventoryShape = { issuedAt: daysAgo(now, 100), days: 365, keyAlgorithm: "ECDSA-P256", installed: true };
const cluster = (overrides: Partial<ClusterSpec> = {}) => haCluster("1.30.4", 1, { keyAlgorithm: "ECDSA-P256", ...overrides });
const validity = (v: Partial<ClusterSpec["validity"]>) => ({ validity: { ...cluster().validity, ...v } });

function allRows(plan: Record<string, Record<string, PlannedFile>>): Array<PlannedFile & { node: string; key: string }> {
    return Object.entries(plan).flatMap(([node, files]) => Object.entries(files).map(([key, p]) => ({ node, key, ...p })));
}

describe("planFileActions", () => {
    it("keeps everything on a stack that holds what it last installed, with the disk expiry", async () => {
        const spec = cluster();
        const inv = await buildInventories(spec, base);
        const plan = planFileActions(spec, inv, { now });
        const rows = allRows(plan);
        expect(rows.length).toBeGreaterThan(40);
        for (const r of rows) expect(r.action, `${r.node} ${r.key}: ${r.reason}`).toBe("keep");
        expect(plan["master-1"]["apiserver.crt"]).toEqual({
            action: "keep", reason: "ok (expires in 265 d)", expires: new Date(base.issuedAt.getTime() + 365 * DAY).toISOString(),
        });
        expect(Object.keys(plan["worker-1"]).sort()).toEqual(["ca.crt", "kubelet.conf"]);
    });

    it("reissues at the renew-before boundary, and only certificates inside it (both sides)", async () => {
        const spec = cluster();
        // 30 d left minus/plus one hour: the provider's ready_for_renewal is now ≥ notAfter − 30 d.
        const inside = new Date(now.getTime() - 335 * DAY - HOUR);
        const outside = new Date(now.getTime() - 335 * DAY + HOUR);
        const inv = await buildInventories(spec, { ...base, files: { "apiserver.crt": { issuedAt: inside }, "front-proxy-client.crt": { issuedAt: outside } } });
        const plan = planFileActions(spec, inv, { now });
        expect(plan["master-1"]["apiserver.crt"]).toEqual({
            action: "reissue", reason: "expires in 29 d, inside renew-before 30 d", expires: new Date(now.getTime() + 365 * DAY).toISOString(),
        });
        expect(plan["master-1"]["front-proxy-client.crt"]).toMatchObject({ action: "keep", reason: "ok (expires in 30 d)" });
        expect(allRows(plan).filter((r) => r.action !== "keep").map((r) => `${r.node} ${r.key}`).sort())
            .toEqual(["master-1 apiserver.crt", "master-2 apiserver.crt", "master-3 apiserver.crt"]);
    });

    it("changing renewBeforeDays alone reissues only the certificates now inside the new window", async () => {
        const files = { "etcd/server.crt": { issuedAt: daysAgo(now, 365 - 50) }, "admin.conf": { issuedAt: daysAgo(now, 365 - 70) } };
        const inv = await buildInventories(cluster(), { ...base, files });
        const actions = (renewBeforeDays: number) => {
            const plan = planFileActions(cluster(validity({ renewBeforeDays })), inv, { now });
            return allRows(plan).filter((r) => r.action !== "keep").map((r) => `${r.node} ${r.key}: ${r.reason}`).sort();
        };
        expect(actions(30)).toEqual([]);
        expect(actions(60)).toEqual([
            "master-1 etcd/server.crt: expires in 50 d, inside renew-before 60 d",
            "master-2 etcd/server.crt: expires in 50 d, inside renew-before 60 d",
            "master-3 etcd/server.crt: expires in 50 d, inside renew-before 60 d",
        ]);
        expect(actions(71)).toContain("master-1 admin.conf: expires in 70 d, inside renew-before 71 d");
        expect(actions(69).some((r) => r.includes("admin.conf"))).toBe(false);
    });

    it("reads a changed validity from notAfter − notBefore, leaves and kubeconfigs alike; CAs stay", async () => {
        const inv = await buildInventories(cluster(), base);
        const spec = cluster(validity({ leafDays: 730, leafDaysOverrides: { "front-proxy-client": 365 } }));
        const plan = planFileActions(spec, inv, { now });
        for (const key of ["apiserver.crt", "etcd/peer.crt", "admin.conf", "kubelet.conf"]) {
            expect(plan["master-2"][key], key).toEqual({ action: "reissue", reason: "validity 365 d → 730 d", expires: new Date(now.getTime() + 730 * DAY).toISOString() });
        }
        expect(plan["worker-1"]["kubelet.conf"].reason).toBe("validity 365 d → 730 d");
        expect(plan["master-2"]["front-proxy-client.crt"].action).toBe("keep");
        expect(plan["master-2"]["ca.crt"]).toMatchObject({ action: "keep", reason: "ok (expires in 3550 d)" });
    });

    it("names a changed key algorithm and changed SANs", async () => {
        const inv = await buildInventories(cluster(), { ...base, keyAlgorithm: "RSA-2048", files: { "apiserver.crt": { extraDns: ["old.example"] } } });
        const master1 = inv.find((i) => i.node === "master-1")!;
        expect(keyAlgorithmOf(master1.files.find((f) => f.key === "apiserver.crt")!.cert!.pem)).toBe("RSA-2048");
        const plan = planFileActions(cluster({ apiServerCertSans: [...cluster().apiServerCertSans, "10.0.0.5"] }), inv, { now });
        expect(plan["master-1"]["apiserver.crt"].reason).toBe("key algorithm RSA-2048 → ECDSA-P256; SANs +IP:10.0.0.5 −DNS:old.example");
        expect(plan["master-1"]["scheduler.conf"]).toMatchObject({ action: "reissue", reason: "key algorithm RSA-2048 → ECDSA-P256" });
        // The CA's key algorithm is its own matter: never reissued with the leaves.
        expect(plan["master-1"]["etcd/ca.crt"].action).toBe("keep");
    });

    it("re-pushes what is missing, differs or is signed by a foreign CA; restarts what serves something else", async () => {
        const spec = cluster();
        const inv = await buildInventories(spec, { ...base, files: {
            "front-proxy-client.crt": { absent: true }, "apiserver-etcd-client.crt": { differs: true },
            "apiserver-kubelet-client.crt": { foreign: true }, "etcd/peer.key": { absent: true },
        } });
        const m1 = inv.find((i) => i.node === "master-1")!;
        const disk = (key: string) => m1.files.find((f) => f.key === key)!;
        const stale = disk("etcd/server.crt").cert!;
        m1.served = [{ component: "kube-apiserver", host: "10.0.0.11", port: 6443, diskPath: disk("apiserver.crt").path, cert: stale }];
        const plan = planFileActions(spec, inv, { now })["master-1"];
        expect(plan["front-proxy-client.crt"]).toEqual({ action: "re-push", reason: "missing", expires: "" });
        expect(plan["apiserver-etcd-client.crt"]).toEqual({
            action: "re-push", expires: "",
            reason: `differs (disk sha256:${disk("apiserver-etcd-client.crt").sha256!.slice(0, 8)}… ≠ installed sha256:${m1.installed![disk("apiserver-etcd-client.crt").path].slice(0, 8)}…)`,
        });
        expect(plan["apiserver-kubelet-client.crt"]).toMatchObject({
            action: "re-push", reason: "foreign CA on disk (issuer someone-else, not signed by /etc/kubernetes/pki/ca.crt)",
            expires: disk("apiserver-kubelet-client.crt").cert!.notAfter.toISOString(),
        });
        expect(plan["etcd/peer.crt"]).toMatchObject({ action: "re-push", reason: "etcd/peer.key missing" });
        expect(plan["apiserver.crt"]).toEqual({
            action: "restart only", expires: disk("apiserver.crt").cert!.notAfter.toISOString(),
            reason: `served ≠ disk (served sha256:${stale.sha256.slice(0, 8)}… ≠ disk sha256:${disk("apiserver.crt").cert!.sha256.slice(0, 8)}…)`,
        });
        // Where this run repairs nothing (drift off), the drift is named but the file is kept.
        const unrepaired = planFileActions(spec, inv, { now, repairedNodes: new Set() })["master-1"];
        expect(unrepaired["apiserver.crt"].action).toBe("keep");
        expect(unrepaired["apiserver.crt"].reason).toMatch(/^ok \(expires in 265 d; drift not repaired: served ≠ disk/);
        expect(unrepaired["front-proxy-client.crt"]).toMatchObject({ action: "keep", reason: "ok (drift not repaired: missing)" });
    });

    it("issues what kube-pki never installed: first run, files new to the spec, unreachable nodes", async () => {
        const spec = cluster();
        const first = await buildInventories(spec, { ...base, installed: false, files: { "etcd/server.crt": { absent: true } } });
        const plan = planFileActions(spec, first, { now });
        expect(plan["master-3"]["apiserver.crt"]).toEqual({
            action: "reissue", reason: "first issue by kube-pki (the file on disk expires in 265 d)", expires: new Date(now.getTime() + 365 * DAY).toISOString(),
        });
        expect(plan["master-3"]["etcd/server.crt"]).toMatchObject({ action: "reissue", reason: "not on node yet" });
        expect(plan["master-3"]["ca.crt"]).toMatchObject({ action: "reissue", reason: "first issue by kube-pki" });
        // Adopted CAs are what is on the node: kept.
        const adopted = planFileActions(cluster({ authorities: { ...spec.authorities, ca: "adopt" } }), first, { now });
        expect(adopted["master-3"]["ca.crt"]).toMatchObject({ action: "keep", expires: first[0].files.find((f) => f.key === "ca.crt")!.cert!.notAfter.toISOString() });

        const later = await buildInventories(spec, { ...base, files: { "super-admin.conf": { unrecorded: true } } });
        expect(planFileActions(spec, later, { now })["master-1"]["super-admin.conf"].action).toBe("reissue");

        const down: NodeInventory = { node: "worker-1", role: "worker", reachable: false, error: "ECONNREFUSED", files: [], served: [] };
        const unreachable = planFileActions(spec, [...later.filter((i) => i.node !== "worker-1"), down], { now });
        expect(unreachable["worker-1"]["kubelet.conf"]).toMatchObject({ action: "reissue", reason: "not inspected (node unreachable: ECONNREFUSED): assumed not on node yet" });
        expect(planFileActions(spec, undefined, { now, notInspected: "no inventory read" })["master-1"]["apiserver.crt"].reason)
            .toBe("not inspected (no inventory read): assumed not on node yet");
    });

    it("keeps a CA inside renew-before and says to rotate it", async () => {
        const spec = cluster();
        const inv = await buildInventories(spec, { ...base, issuedAt: daysAgo(now, 3640), days: 365, files: Object.fromEntries(
            ["apiserver.crt", "apiserver-kubelet-client.crt", "front-proxy-client.crt", "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt",
             "apiserver-etcd-client.crt", "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"]
                .map((k) => [k, { issuedAt: daysAgo(now, 10) }])) });
        const plan = planFileActions(spec, inv, { now });
        expect(plan["master-1"]["ca.crt"]).toMatchObject({ action: "keep", reason: "ok (expires in 10 d; a CA is never reissued implicitly: rotate it)" });
        expect(allRows(plan).every((r) => r.action === "keep")).toBe(true);
    });

    it("renders one table row per node and file with a count per action", async () => {
        const spec = cluster();
        const inv = await buildInventories(spec, { ...base, files: { "apiserver.crt": { issuedAt: daysAgo(now, 350) } } });
        const table = renderFileActions(planFileActions(spec, inv, { now }));
        const lines = table.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^NODE\s+FILE\s+ACTION\s+EXPIRES\s+REASON$/);
        expect(table).toMatch(/master-2\s+apiserver\.crt\s+reissue\s+2026-06-01\s+expires in 15 d, inside renew-before 30 d\n/);
        expect(table).toMatch(/worker-1\s+kubelet\.conf\s+keep\s+2026-02-21\s+ok \(expires in 265 d\)\n/);
        expect(lines.at(-1)).toBe(`3 reissue, ${lines.length - 2 - 3} keep`);
    });
});
