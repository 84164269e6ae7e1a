/** Properties of the per-node plan (src/pki/plan.ts) over generated clusters. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COMPONENT_ORDER } from "../../src/pki/components";
import { knownFiles, planCluster, planNodeFiles, type Material, type PlannedFile } from "../../src/pki/plan";
import type { ClusterSpec } from "../../src/spec";
import { haCluster, sshNode } from "../fixtures/cluster";

const arbCluster: fc.Arbitrary<ClusterSpec> = fc.record({
    masters: fc.integer({ min: 1, max: 5 }),
    workers: fc.integer({ min: 0, max: 6 }),
    minor: fc.integer({ min: 11, max: 37 }),
    etcd: fc.constantFrom("stacked" as const, "external" as const),
    componentServingCerts: fc.boolean(),
    serving: fc.constantFrom("self-signed" as const, "managed" as const),
    client: fc.constantFrom("rotate" as const, "embedded" as const),
}).map((o) => haCluster(`1.${o.minor}.3`, 0, {
    nodes: [
        ...Array.from({ length: o.masters }, (_, i) => sshNode(`m${i + 1}`, "master", `10.0.0.${i + 1}`)),
        ...Array.from({ length: o.workers }, (_, i) => sshNode(`w${i + 1}`, "worker", `10.0.1.${i + 1}`)),
    ],
    etcd: { mode: o.etcd, serverCertSans: [], peerCertSans: [] },
    layout: { kind: "kubeadm", kubernetesDir: "/etc/kubernetes", paths: {}, restart: "static-pod", componentServingCerts: o.componentServingCerts },
    kubelet: { servingCertificate: o.serving, clientCertificate: o.client },
}));

/** What a file holds, as one comparable value: the same material gives the same content. */
const materialKey = (m: Material): string => JSON.stringify(m);
const kinds: Material["kind"][] = ["ca-cert", "ca-key", "sa-private-key", "sa-public-key", "leaf-cert", "leaf-key", "kubeconfig", "rotating-kubeconfig"];

describe("planNodeFiles", () => {
    it("gives every file exactly one material of a known kind, and every certificate it names exists", () => {
        fc.assert(fc.property(arbCluster, (cluster) => {
            const plan = planCluster(cluster);
            for (const n of Object.values(plan.nodes)) {
                for (const f of n.files) {
                    expect(kinds).toContain(f.material.kind);
                    if ("certificate" in f.material) expect(plan.certificates.has(f.material.certificate), f.key).toBe(true);
                    if (f.material.kind === "leaf-cert" || f.material.kind === "kubeconfig") expect(f.expected, f.key).toBeDefined();
                }
            }
        }));
    });

    it("never puts two different contents at one path of a node, nor one path twice", () => {
        fc.assert(fc.property(arbCluster, (cluster) => {
            for (const files of Object.values(planNodeFiles(cluster))) {
                const byPath = new Map<string, string>();
                for (const f of files) {
                    expect(byPath.has(f.path), f.path).toBe(false);
                    byPath.set(f.path, materialKey(f.material));
                }
            }
        }));
    });

    it("names only consumers of the component table, and 0600 for every key and kubeconfig", () => {
        fc.assert(fc.property(arbCluster, (cluster) => {
            for (const files of Object.values(planNodeFiles(cluster))) {
                for (const f of files) {
                    for (const c of f.consumers) expect(COMPONENT_ORDER).toContain(c);
                    const secret = /key$|kubeconfig$/.test(f.material.kind) && f.material.kind !== "sa-public-key";
                    expect(f.mode, f.key).toBe(secret ? "0600" : "0644");
                }
            }
        }));
    });

    it("shares node-independent certificates and issues node-named ones per node", () => {
        fc.assert(fc.property(arbCluster, (cluster) => {
            const plan = planCluster(cluster);
            for (const cert of plan.certificates.values()) {
                const holders = Object.values(plan.nodes).filter((n) => n.files.some((f) => "certificate" in f.material && f.material.certificate === cert.id));
                if (cert.scope === "node") {
                    expect(holders.map((h) => h.node.name)).toEqual([cert.id.split("/")[0]]);
                    expect(cert.nameParts[0]).toBe(holders[0].node.name);
                } else {
                    expect(cert.nameParts).toEqual([cert.source]);
                }
            }
        }));
    });

    it("gives masters the full kubeadm tree and workers ca.crt + kubelet.conf (+ the serving pair when managed), for any number of nodes", () => {
        fc.assert(fc.property(arbCluster, (cluster) => {
            const files = planNodeFiles(cluster);
            const modern = Number(cluster.kubernetesVersion.split(".")[1]) >= 29;
            const stacked = cluster.etcd.mode === "stacked";
            const managed = cluster.kubelet.servingCertificate === "managed";
            // kubeadm: CA pairs (3, or 2 with external etcd), leaf pairs (7: the 4 etcd-signed ones only with stacked etcd), sa pair, 4-5 kubeconfigs.
            const masterCount = (stacked ? 6 + 14 : 4 + 6) + 2 + (modern ? 5 : 4)
                + (cluster.layout.componentServingCerts ? 4 : 0) + (managed ? 2 : 0);
            for (const node of cluster.nodes) {
                const keys = files[node.name].map((f) => f.key);
                if (node.role === "worker") {
                    expect(keys).toEqual(["ca.crt", ...(managed ? ["kubelet.crt", "kubelet.key"] : []), "kubelet.conf"]);
                } else {
                    expect(keys.length, node.name).toBe(masterCount);
                    expect(keys).toEqual(expect.arrayContaining(["ca.crt", "ca.key", "apiserver.crt", "sa.key", "sa.pub", "admin.conf", "kubelet.conf"]));
                    if (stacked) expect(keys).toEqual(expect.arrayContaining(["etcd/ca.key", "etcd/server.crt", "etcd/peer.key"]));
                    else expect(keys.some((k) => k.startsWith("etcd/"))).toBe(false);
                }
            }
            const certs = planCluster(cluster).certificates;
            // Exactly one kubelet client cert per node in embedded mode, none from the catalogue in rotate mode.
            const kubeletConfs = [...certs.values()].filter((c) => c.source === "kubelet.conf");
            expect(kubeletConfs.length).toBe(cluster.kubelet.clientCertificate === "embedded" ? cluster.nodes.length : 0);
        }));
    });

    it("plans a kubelet client certificate per node only in rotate mode", () => {
        const rotate = planCluster(haCluster("1.30.4", 1, { kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" } }));
        expect(rotate.nodes["worker-1"].kubeletClient).toMatchObject({
            nameParts: ["worker-1", "kubelet-client"], issuer: "ca",
            subject: { commonName: "system:node:worker-1", organizations: ["system:nodes"] },
        });
        expect(rotate.nodes["worker-1"].files.find((f) => f.key === "kubelet.conf")!.material.kind).toBe("rotating-kubeconfig");
        expect(planCluster(haCluster("1.30.4", 1)).nodes["worker-1"].kubeletClient).toBeUndefined();
    });

    it("judges the leaves of a CA rotating to an adopted CA by signature (its subject is the operator's), others as before", () => {
        const generated = haCluster("1.30.4", 1);
        const withRotation = (source: "adopt" | "generate"): ClusterSpec => ({
            ...generated,
            authorities: { ...generated.authorities, etcdCa: "generate", rotate: { etcdCa: { id: "2027", source, abort: false } } },
        });
        const adoptedIssuerOf = (c: ClusterSpec, key: string) => planCluster(c).nodes["master-1"].files.find((f) => f.key === key)!.expected?.adoptedIssuer;
        expect(adoptedIssuerOf(withRotation("adopt"), "etcd/server.crt")).toBe(true);
        expect(adoptedIssuerOf(withRotation("adopt"), "apiserver-etcd-client.crt")).toBe(true);
        expect(adoptedIssuerOf(withRotation("generate"), "etcd/server.crt")).toBeUndefined();
        expect(adoptedIssuerOf({ ...generated, authorities: { ...generated.authorities, etcdCa: "generate" } }, "etcd/server.crt")).toBeUndefined();
        // Another CA's leaves are not touched by the etcd CA's rotation.
        expect(adoptedIssuerOf(withRotation("adopt"), "apiserver.crt")).toBe(adoptedIssuerOf(generated, "apiserver.crt"));
    });
});

describe("knownFiles", () => {
    it("names every certificate of the full catalogue at a custom layout's paths", () => {
        const known = knownFiles({ kind: "custom", kubernetesDir: "/srv/k", paths: { "apiserver.crt": "/tls/api.pem" }, restart: "systemd", componentServingCerts: false });
        expect(known.get("/tls/api.pem")).toEqual({ key: "apiserver.crt", name: "apiserver", requiredOn: ["master"] });
        expect(known.get("/srv/k/pki/etcd/ca.crt")).toEqual({
            key: "etcd/ca.crt", name: "etcd-ca", ca: "etcd-ca", caKeyPath: "/srv/k/pki/etcd/ca.key", requiredOn: ["master"], etcd: true,
        });
        expect(known.get("/srv/k/pki/etcd/server.crt")?.name).toBe("etcd-server");
        expect(known.get("/srv/k/super-admin.conf")?.name).toBe("super-admin.conf");
        expect(known.get("/srv/k/pki/sa.key")).toEqual({ key: "sa.key", requiredOn: ["master"] });
    });

    it("says which roles hold each file on every supported cluster (what check --host calls missing)", () => {
        const known = knownFiles({ kind: "kubeadm", kubernetesDir: "/etc/kubernetes", paths: {}, restart: "static-pod", componentServingCerts: false });
        const required = (p: string) => known.get(p)?.requiredOn;
        expect(required("/etc/kubernetes/pki/ca.crt")).toEqual(["master", "worker"]);
        expect(required("/etc/kubernetes/pki/ca.key")).toEqual(["master"]);
        expect(required("/etc/kubernetes/kubelet.conf")).toEqual(["master", "worker"]);
        expect(required("/etc/kubernetes/admin.conf")).toEqual(["master"]);
        // From 1.29 only, or only in layouts that ask for them: never required.
        for (const p of ["/etc/kubernetes/super-admin.conf", "/etc/kubernetes/pki/controller-manager.crt", "/var/lib/kubelet/pki/kubelet.crt"]) {
            expect(known.get(p)).toBeDefined();
            expect(required(p)).toBeUndefined();
        }
        expect(known.get("/etc/kubernetes/pki/apiserver-etcd-client.crt")).toMatchObject({ requiredOn: ["master"], etcd: true });
        expect(known.get("/etc/kubernetes/pki/apiserver.crt")?.etcd).toBeUndefined();
    });
});

/** arbCluster with 1-3 kube-pki:certificates entries: shared or templated, files or kubeconfig, on masters, workers or some nodes. */
const arbStackCluster: fc.Arbitrary<ClusterSpec> = fc.tuple(arbCluster, fc.array(fc.record({
    templated: fc.boolean(),
    kubeconfig: fc.boolean(),
    local: fc.boolean(),
    where: fc.constantFrom("masters" as const, "all" as const, "first" as const),
    extra: fc.boolean(),
}), { minLength: 1, maxLength: 3 })).map(([cluster, entries]) => ({
    ...cluster,
    certificates: entries.map((e, i): NonNullable<ClusterSpec["certificates"]>[number] => ({
        id: `extra-${i}`, signer: e.kubeconfig || e.where !== "masters" ? "ca" : "front-proxy-ca",
        commonName: e.templated ? `user-{node}-${i}` : `user-${i}`, organizations: [], usages: ["digital_signature", "client_auth"],
        sans: e.templated && !e.kubeconfig ? ["{node}", "{address}"] : [],
        nodes: cluster.nodes.filter((n, j) => e.where === "all" || (e.where === "first" ? j === 0 : n.role === "master")).map((n) => n.name),
        target: e.kubeconfig ? { kind: "kubeconfig", path: `/etc/extra/${i}.conf`, server: e.local ? "local" : "endpoint" }
            : { kind: "files", cert: `/etc/extra/${i}.pem`, key: `/etc/extra/${i}-key.pem` },
        output: false,
        consumers: [e.extra ? { name: `agent-${i}`, restart: { restart: "systemd", unit: `agent-${i}` } } : { name: "kubelet" }],
    })),
}));

describe("planNodeFiles with kube-pki:certificates entries", () => {
    it("gives every file one material, one content per path, and consumers from the table or the stack's extras", () => {
        fc.assert(fc.property(arbStackCluster, (cluster) => {
            const plan = planCluster(cluster);
            const extras = plan.extraComponents.map((c) => c.name);
            for (const n of Object.values(plan.nodes)) {
                const byPath = new Set<string>();
                for (const f of n.files) {
                    expect(kinds).toContain(f.material.kind);
                    if ("certificate" in f.material) expect(plan.certificates.has(f.material.certificate), f.key).toBe(true);
                    expect(byPath.has(f.path), f.path).toBe(false);
                    byPath.add(f.path);
                    for (const c of f.consumers) expect(COMPONENT_ORDER).toContain(c);
                    for (const c of f.extraConsumers ?? []) expect(extras).toContain(c);
                }
            }
        }));
    });

    it("puts each entry on exactly its nodes, per node when it names the node or its apiserver, shared otherwise", () => {
        fc.assert(fc.property(arbStackCluster, (cluster) => {
            const plan = planCluster(cluster);
            for (const e of cluster.certificates!) {
                const holders = Object.values(plan.nodes).filter((n) => n.files.some((f) => f.source === e.id)).map((n) => n.node.name);
                expect(holders).toEqual(e.nodes);
                const certs = [...plan.certificates.values()].filter((c) => c.source === e.id);
                const perNode = e.commonName.includes("{node}") || (e.target.kind === "kubeconfig" && e.target.server === "local");
                expect(certs.map((c) => c.scope)).toEqual(perNode ? e.nodes.map(() => "node") : ["shared"]);
                for (const c of certs) {
                    const node = c.scope === "node" ? cluster.nodes.find((n) => c.id === `${n.name}/${e.id}`)! : undefined;
                    expect(c.subject.commonName).toBe(node ? e.commonName.replace("{node}", node.name) : e.commonName);
                    if (node && e.sans.length > 0) expect([...c.subject.dnsNames, ...c.subject.ipAddresses]).toEqual([node.name, node.advertiseAddress]);
                }
            }
        }));
    });
});
