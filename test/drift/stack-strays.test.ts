/**
 * `check --stack` judges the files the stack declares; what else is on the node (an omitted
 * entry, RKE's kube-controller-manager.pem nothing reads once its kubeconfig embeds a new
 * certificate) is listed as unmanaged info, never a problem. The kubelet's own client
 * certificate stays judged. Without a stack (--host) every file found is still judged. And the
 * catalogue names a path by the node's role: RKE's kube-node.pem is the masters' etcd client,
 * a stray on a worker (issue 11, the RKE live check).
 */
import { describe, expect, it } from "vitest";
import type { CertInfo } from "../../src/drift/cert-info";
import { KUBELET_CLIENT_KEY, type InventoryFile, type NodeInventory } from "../../src/drift/inventory";
import { compareNode } from "../../src/drift/report";
import { checkRows, overallSeverity } from "../../src/cli/rows";
import { knownFiles } from "../../src/pki/plan";
import type { LayoutSpec } from "../../src/spec";

const NOW = new Date("2026-12-01T00:00:00Z");
const DAY = 86_400_000;
const CA = "/etc/kubernetes/ssl/kube-ca.pem";

const cert = (cn: string, notAfterDays: number): CertInfo => ({
    subjectCN: cn, subjectO: [], issuerCN: "kube-ca", issuerO: [], dnsNames: [], ipAddresses: [],
    notBefore: new Date(NOW.getTime() - 300 * DAY), notAfter: new Date(NOW.getTime() + notAfterDays * DAY),
    sha256: `sha-${cn}`, serialNumber: "01", isCa: false, selfSigned: false, signedBy: CA, pem: "",
} as CertInfo);
const file = (path: string, c: CertInfo, key?: string): InventoryFile => ({ key, path, kind: key === KUBELET_CLIENT_KEY ? "kubelet-pem" : "certificate", exists: true, cert: c });

const RKE: LayoutSpec = {
    kind: "custom", kubernetesDir: "/etc/kubernetes", restart: "static-pod", componentServingCerts: false,
    omit: ["front-proxy-ca", "front-proxy-client", "super-admin.conf"],
    paths: {
        "ca.crt": CA, "ca.key": "/etc/kubernetes/ssl/kube-ca-key.pem", "etcd/ca.crt": CA,
        "apiserver-etcd-client.crt": "/etc/kubernetes/ssl/kube-node.pem", "apiserver-etcd-client.key": "/etc/kubernetes/ssl/kube-node-key.pem",
        "etcd/healthcheck-client.crt": "/etc/kubernetes/ssl/kube-node.pem", "etcd/healthcheck-client.key": "/etc/kubernetes/ssl/kube-node-key.pem",
        "kubelet.conf": "/etc/kubernetes/ssl/kubecfg-kube-node.yaml",
    },
} as LayoutSpec;

describe("check --stack: undeclared files are info", () => {
    const wanted = [{ key: "apiserver.crt", path: "/etc/kubernetes/ssl/kube-apiserver.pem" }];
    const inventory: NodeInventory = {
        node: "rke-1", role: "master", reachable: true, served: [],
        files: [
            file("/etc/kubernetes/ssl/kube-apiserver.pem", cert("kube-apiserver", 300)),
            file("/etc/kubernetes/ssl/kube-controller-manager.pem", cert("system:kube-controller-manager", -1)),
            file("/var/lib/kubelet/pki/kubelet-client-current.pem", cert("system:node:rke-1", -35), KUBELET_CLIENT_KEY),
        ],
    };

    it("lists an expired undeclared file as ok, unmanaged, naming what was seen; the kubelet's client certificate stays judged", () => {
        const r = compareNode(wanted, inventory, { now: NOW, renewBeforeDays: 30 });
        const byPath = Object.fromEntries(r.files.map((f) => [f.path, f]));
        expect(byPath["/etc/kubernetes/ssl/kube-controller-manager.pem"]).toMatchObject({
            reason: "ok", reasons: ["ok"], managed: false, detail: "not declared by this stack, left as it is (expired 1d ago)",
        });
        expect(byPath["/etc/kubernetes/ssl/kube-apiserver.pem"]).toMatchObject({ reason: "ok", managed: true });
        expect(byPath["/var/lib/kubelet/pki/kubelet-client-current.pem"]).toMatchObject({ reason: "expired", managed: false });
        const rows = checkRows([r], knownFiles(RKE, { name: "rke-1", advertiseAddress: "10.0.0.1", role: "master" }));
        expect(overallSeverity(rows)).toBe("critical");
        const declaredOnly = compareNode(wanted, { ...inventory, files: inventory.files.slice(0, 2) }, { now: NOW, renewBeforeDays: 30 });
        expect(overallSeverity(checkRows([declaredOnly], new Map()))).toBe("ok");
    });

    it("without a stack (--host) the same expired file is still a problem", () => {
        const r = compareNode(undefined, { ...inventory, files: inventory.files.slice(0, 2) }, { now: NOW, renewBeforeDays: 30 });
        expect(r.files.find((f) => f.path.endsWith("kube-controller-manager.pem"))).toMatchObject({ reason: "expired" });
    });
});

describe("knownFiles by role", () => {
    it("names kube-node.pem an etcd client on a master (first catalogue role of the shared file), nothing on a worker", () => {
        const master = knownFiles(RKE, { name: "rke-1", advertiseAddress: "10.0.0.1", role: "master" });
        const worker = knownFiles(RKE, { name: "rke-w", advertiseAddress: "10.0.1.1", role: "worker" });
        expect(master.get("/etc/kubernetes/ssl/kube-node.pem")?.name).toBe("etcd-healthcheck-client");
        expect(worker.get("/etc/kubernetes/ssl/kube-node.pem")).toBeUndefined();
        expect(worker.get("/etc/kubernetes/ssl/kubecfg-kube-node.yaml")?.name).toBe("kubelet.conf");
        // A worker trusts the cluster CA (named, never required to hold its key) and holds no other CA.
        expect(worker.get(CA)).toMatchObject({ name: "ca", ca: "ca", requiredOn: ["master", "worker"] });
        expect(worker.has("/etc/kubernetes/ssl/kube-ca-key.pem")).toBe(false);
        expect([...worker.values()].filter((k) => k.ca).map((k) => k.ca)).toEqual(["ca"]);
        // Without a role: the whole catalogue, as before.
        expect(knownFiles(RKE, { name: "rke-w", advertiseAddress: "10.0.1.1" }).get("/etc/kubernetes/ssl/kube-node.pem")?.name).toBe("etcd-healthcheck-client");
    });
});
