/** compareNode / nodeDrifted / renderDriftTable against a real inventory of a seeded local tree. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readInventory, type NodeInventory } from "../../src/drift/inventory";
import { compareNode, nodeDrifted, renderDriftTable, type WantedFileSummary } from "../../src/drift/report";
import { KUBEADM_LAYOUT } from "../../src/pki/layout";
import { knownFiles } from "../../src/pki/plan";
import { fixturePrerequisites } from "./fixture-tree";
import { seedNode } from "./kubeadm-tree";
import { describeNeeding } from "../harness/sim/tools";

const missing = fixturePrerequisites();
const now = new Date("2024-06-01T00:00:00Z");

describeNeeding(missing, "drift report", () => {
    let inv: NodeInventory;
    beforeAll(async () => {
        const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kp-report-")), "m1");
        seedNode(root, { name: "m1", ip: "10.0.0.1", role: "master" });
        inv = await readInventory({ name: "m1", role: "master", advertiseAddress: "10.0.0.1", transport: "local", localRoot: root }, KUBEADM_LAYOUT);
    }, 60_000);

    const apiserverExpected = (extraDns: string[]) => ({
        subject: { commonName: "kube-apiserver", organizations: [],
            dnsNames: ["m1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", ...extraDns],
            ipAddresses: ["10.96.0.1"] },
        issuerCommonName: "kubernetes", caPath: "/etc/kubernetes/pki/ca.crt",
    });

    it("is clean when the node holds exactly what is wanted", () => {
        const file = inv.files.find((f) => f.key === "apiserver.crt")!;
        const wanted: WantedFileSummary[] = [{ key: "apiserver.crt", path: file.path, sha256: file.sha256,
            expected: { ...apiserverExpected([]), subject: { ...apiserverExpected([]).subject, ipAddresses: ["10.96.0.1", "10.0.0.1"] } } }];
        const result = compareNode(wanted, inv, { now, renewBeforeDays: 30 });
        expect(result.files.find((f) => f.key === "apiserver.crt")).toMatchObject({ reason: "ok", managed: true });
        expect(nodeDrifted(result)).toBe(false);
        expect(renderDriftTable([result])).toBe("no drift\n");
    });

    it("names missing, differing and spec-changed files with human detail", () => {
        const wanted: WantedFileSummary[] = [
            { key: "apiserver.crt", path: "/etc/kubernetes/pki/apiserver.crt", sha256: "0".repeat(64), expected: apiserverExpected(["lb.example"]) },
            { key: "etcd/peer.crt", path: "/etc/kubernetes/pki/etcd/peer-elsewhere.crt" },
        ];
        const result = compareNode(wanted, inv, { now, renewBeforeDays: 300 });
        const api = result.files.find((f) => f.key === "apiserver.crt")!;
        expect(api.reasons).toEqual(["differs", "spec-changed", "expiring"]);
        expect(api.detail).toContain("SANs +DNS:lb.example −IP:10.0.0.1");
        expect(api.detail).toContain("expires in 213d");
        expect(api.detail).toMatch(/content sha256:[0-9a-f]{8}… ≠ wanted sha256:00000000…/);
        expect(result.files.find((f) => f.key === "etcd/peer.crt")).toMatchObject({ reason: "missing", detail: "not on node" });
        expect(nodeDrifted(result)).toBe(true);
        const table = renderDriftTable([result]);
        expect(table.split("\n")[0]).toMatch(/^NODE\s+FILE\s+REASON\s+DETAIL$/);
        expect(table).toMatch(/m1\s+etcd\/peer\.crt\s+missing\s+not on node/);
    });

    it("reports a served certificate that differs from disk, and unreachable nodes", () => {
        const other = inv.files.find((f) => f.key === "etcd/server.crt")!.cert!;
        const served: NodeInventory = { ...inv, served: [{ component: "kube-apiserver", host: "10.0.0.1", port: 6443,
            diskPath: "/etc/kubernetes/pki/apiserver.crt", cert: other }] };
        const result = compareNode(undefined, served, { now, renewBeforeDays: 30 });
        const api = result.files.find((f) => f.key === "apiserver.crt")!;
        expect(api.reason).toBe("served-mismatch");
        expect(api.detail).toBe(`served sha256:${other.sha256.slice(0, 8)}… ≠ disk sha256:${api.cert!.sha256.slice(0, 8)}…`);
        expect(nodeDrifted(result)).toBe(true);

        const down = compareNode([{ key: "ca.crt", path: "/etc/kubernetes/pki/ca.crt" }],
            { node: "m9", role: "master", reachable: false, error: "ECONNREFUSED", files: [], served: [] }, { now, renewBeforeDays: 30 });
        expect(down.files).toMatchObject([{ key: "ca.crt", reason: "unreachable", detail: "node unreachable: ECONNREFUSED" }]);
        expect(nodeDrifted(down)).toBe(false);
    });
});

describe("without a wanted list (check --host)", () => {
    const known = knownFiles(KUBEADM_LAYOUT);
    const pathOf = (key: string) => [...known].find(([, k]) => k.key === key)![0];
    const absent = (key: string) => ({ key, path: pathOf(key), kind: "certificate" as const, exists: false });
    const keys = ["ca.crt", "ca.key", "kubelet.conf", "super-admin.conf", "controller-manager.crt", "kubelet.crt", "etcd/server.crt",
        "apiserver-etcd-client.crt", "apiserver.crt"];
    const missingOn = (role: "master" | "worker", files: NodeInventory["files"], withKnown = true) =>
        compareNode(undefined, { node: "n", role, reachable: true, files, served: [] }, { now, renewBeforeDays: 30, ...(withKnown ? { known } : {}) })
            .files.filter((f) => f.reason === "missing").map((f) => f.key).sort();

    it("reports absent files the catalogue requires on the node's role, not optional ones", () => {
        expect(missingOn("worker", keys.map(absent))).toEqual(["ca.crt", "kubelet.conf"]);
        // No etcd file at all: external etcd, whose files (and the apiserver's etcd client) are not ours to judge.
        expect(missingOn("master", keys.map(absent))).toEqual(["apiserver.crt", "ca.crt", "ca.key", "kubelet.conf"]);
        const etcdPresent = keys.map((k) => (k === "etcd/server.crt" ? { ...absent(k), exists: true } : absent(k)));
        expect(missingOn("master", etcdPresent)).toEqual(["apiserver-etcd-client.crt", "apiserver.crt", "ca.crt", "ca.key", "kubelet.conf"]);
    });

    it("reports nothing missing when it is not told what the catalogue puts where", () => {
        expect(missingOn("master", keys.map(absent), false)).toEqual([]);
    });
});
