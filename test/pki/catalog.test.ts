import { describe, expect, it } from "vitest";
import {
    catalog, consumersOf, resolveKubeconfigSubject, resolveLeaf, TLS_ALLOWED_USES,
    type CatalogEntry, type KubeconfigEntry, type LeafEntry,
} from "../../src/pki/catalog";
import type { ClusterFindings } from "../../src/findings";
import { kubePki } from "../../src/program";
import { haCluster } from "../fixtures/cluster";
import { createEchoMocks } from "../harness/mocks/echo-mocks";
import { runProgram } from "../harness/mocks/run-program";

const cluster = (v: string) => haCluster(v);
const leaf = (entries: CatalogEntry[], id: string) => entries.find((e) => e.id === id) as LeafEntry;
const kubeconfig = (entries: CatalogEntry[], id: string) => entries.find((e) => e.id === id) as KubeconfigEntry;

// The table of DESIGN.md §3, per version group, for master-2 (10.0.0.12) of a 3-master stack
// behind k8s-api.prod.example.com with extra SANs.
const APISERVER_DNS = [
    "master-2", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
    "k8s-api.prod.example.com", "k8s-api.internal.example.com",
];
const APISERVER_IPS = ["10.96.0.1", "10.0.0.12", "10.0.0.100"];
const ETCD_DNS = ["master-2", "localhost"];
const ETCD_IPS = ["10.0.0.12", "127.0.0.1", "::1"];
const CLIENT = ["digital_signature", "key_encipherment", "client_auth"];
const SERVER = ["digital_signature", "key_encipherment", "server_auth"];
const PEER = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

type Group = "1.11" | "1.17" | "1.24" | "1.28" | "1.30" | "1.36";
/** 1.11 to 1.28 carry the same subjects (src/pki/versions.ts). */
const upTo128 = (group: Group) => ["1.11", "1.17", "1.24", "1.28"].includes(group);

function expectedLeaves(version: Group) {
    const kubeletClientO = upTo128(version) ? ["system:masters"] : version === "1.30" ? ["kubeadm:cluster-admins"] : [];
    const etcdClientO = upTo128(version) ? ["system:masters"] : [];
    return {
        "apiserver": { cn: "kube-apiserver", o: [], usages: SERVER, signer: "ca", dns: APISERVER_DNS, ips: APISERVER_IPS },
        "apiserver-kubelet-client": { cn: "kube-apiserver-kubelet-client", o: kubeletClientO, usages: CLIENT, signer: "ca", dns: [], ips: [] },
        "front-proxy-client": { cn: "front-proxy-client", o: [], usages: CLIENT, signer: "front-proxy-ca", dns: [], ips: [] },
        "etcd-server": { cn: "master-2", o: [], usages: PEER, signer: "etcd-ca", dns: ETCD_DNS, ips: ETCD_IPS },
        "etcd-peer": { cn: "master-2", o: [], usages: PEER, signer: "etcd-ca", dns: ETCD_DNS, ips: ETCD_IPS },
        "etcd-healthcheck-client": { cn: "kube-etcd-healthcheck-client", o: etcdClientO, usages: CLIENT, signer: "etcd-ca", dns: [], ips: [] },
        "apiserver-etcd-client": { cn: "kube-apiserver-etcd-client", o: etcdClientO, usages: CLIENT, signer: "etcd-ca", dns: [], ips: [] },
    };
}

describe.each([
    ["1.11", "1.11.0"],
    ["1.17", "1.17.17"],
    ["1.24", "1.24.17"],
    ["1.28", "1.28.15"],
    ["1.30", "1.30.4"],
    ["1.36", "1.36.1"],
] as const)("catalogue for %s", (group, version) => {
    const entries = catalog(version, "stacked");
    const spec = cluster(version);
    const node = spec.nodes[1];

    it("lists the three CAs first, each before any leaf it signs", () => {
        expect(entries.slice(0, 3).map((e) => e.id)).toEqual(["ca", "front-proxy-ca", "etcd-ca"]);
        const cas = entries.filter((e) => e.kind === "ca");
        expect(cas.map((c) => [c.id, c.kind === "ca" && c.commonName])).toEqual([
            ["ca", "kubernetes"], ["front-proxy-ca", "front-proxy-ca"], ["etcd-ca", "etcd-ca"],
        ]);
    });

    it.each(Object.entries(expectedLeaves(group)))("%s has the CN, O, usages, signer and SANs of the table", (id, want) => {
        const entry = leaf(entries, id);
        const got = resolveLeaf(entry, spec, node);
        expect(got.commonName).toBe(want.cn);
        expect(got.organizations).toEqual(want.o);
        expect([...entry.usages]).toEqual(want.usages);
        expect(entry.signer).toBe(want.signer);
        expect(got.dnsNames).toEqual(want.dns);
        expect(got.ipAddresses).toEqual(want.ips);
    });

    it("has the kubeconfigs of the table", () => {
        const admin = kubeconfig(entries, "admin.conf");
        expect(resolveKubeconfigSubject(admin, node)).toMatchObject({
            commonName: "kubernetes-admin",
            organizations: [upTo128(group) ? "system:masters" : "kubeadm:cluster-admins"],
        });
        const superAdmin = kubeconfig(entries, "super-admin.conf");
        if (upTo128(group)) expect(superAdmin).toBeUndefined();
        else expect(resolveKubeconfigSubject(superAdmin, node)).toMatchObject({ commonName: "kubernetes-super-admin", organizations: ["system:masters"] });
        expect(resolveKubeconfigSubject(kubeconfig(entries, "controller-manager.conf"), node).commonName).toBe("system:kube-controller-manager");
        expect(resolveKubeconfigSubject(kubeconfig(entries, "scheduler.conf"), node).commonName).toBe("system:kube-scheduler");
        expect(resolveKubeconfigSubject(kubeconfig(entries, "kubelet.conf"), node)).toMatchObject({
            commonName: "system:node:master-2", organizations: ["system:nodes"],
        });
    });

    it("uses only allowedUses values the tls provider accepts", () => {
        for (const e of entries) {
            if (e.kind === "leaf") for (const u of e.usages) expect(TLS_ALLOWED_USES).toContain(u);
        }
    });
});

describe("catalogue variants", () => {
    it("drops the etcd CA and everything it signs with external etcd", () => {
        const ids = catalog("1.30.4", "external").map((e) => e.id);
        expect(ids).not.toContain("etcd-ca");
        expect(ids.filter((id) => id.startsWith("etcd") || id === "apiserver-etcd-client")).toEqual([]);
        expect(ids).toContain("apiserver");
    });

    it.each([
        ["1.35.4", ["kubeadm:cluster-admins"]], ["1.35.5", []], ["1.36.0", ["kubeadm:cluster-admins"]], ["1.36.1", []], ["1.37.0", []],
    ])("apiserver-kubelet-client O at %s", (version, o) => {
        expect([...leaf(catalog(version, "stacked"), "apiserver-kubelet-client").organizations]).toEqual(o);
    });

    it("names every signer it references and has unique ids", () => {
        for (const v of ["1.11.0", "1.17.0", "1.24.17", "1.25.0", "1.28.0", "1.30.0", "1.37.2"]) {
            for (const mode of ["stacked", "external"] as const) {
                const entries = catalog(v, mode);
                const seen = new Set<string>();
                for (const e of entries) {
                    expect(seen.has(e.id), `duplicate id ${e.id}`).toBe(false);
                    if (e.kind === "leaf" || e.kind === "kubeconfig") {
                        expect(seen.has(e.signer), `${e.id} references CA ${e.signer} not listed before it`).toBe(true);
                    }
                    seen.add(e.id);
                }
            }
        }
    });

    it("has the same files from 1.11 to 1.28, and super-admin.conf from 1.29", () => {
        const files = (v: string) => catalog(v, "stacked").map((e) => e.id);
        const upTo128 = [
            "ca", "front-proxy-ca", "etcd-ca",
            "apiserver", "apiserver-kubelet-client", "front-proxy-client", "etcd-server", "etcd-peer",
            "etcd-healthcheck-client", "apiserver-etcd-client", "sa",
            "admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf",
        ];
        for (const v of ["1.11.0", "1.17.17", "1.19.16", "1.20.0", "1.24.17", "1.28.15"]) expect(files(v), v).toEqual(upTo128);
        expect(files("1.29.0")).toEqual([...upTo128.slice(0, 12), "super-admin.conf", ...upTo128.slice(12)]);
    });

    it("sa.key is read by the apiserver from 1.20.0 only; every other reader is the same in every version", () => {
        expect(consumersOf("sa.key", "1.11.0")).toEqual(["kube-controller-manager"]);
        expect(consumersOf("sa.key", "1.19.16")).toEqual(["kube-controller-manager"]);
        expect(consumersOf("sa.key", "1.20.0")).toEqual(["kube-apiserver", "kube-controller-manager"]);
        expect(consumersOf("sa.key")).toEqual(["kube-apiserver", "kube-controller-manager"]);
        const others = catalog("1.30.0", "stacked", true, true).flatMap((e) =>
            e.kind === "ca" || e.kind === "leaf" ? [e.certFile, e.keyFile]
                : e.kind === "keypair" ? [e.publicKeyFile] : [e.file]);
        for (const f of others) {
            for (const v of ["1.11.0", "1.17.17", "1.24.17"]) expect(consumersOf(f, v), `${f} at ${v}`).toEqual(consumersOf(f));
        }
    });

    it("maps files to the components that read them", () => {
        expect(consumersOf("front-proxy-client.crt")).toEqual(["kube-apiserver"]);
        expect(consumersOf("etcd/peer.key")).toEqual(["etcd"]);
        expect(consumersOf("scheduler.conf")).toEqual(["kube-scheduler"]);
        expect(consumersOf("ca.crt")).toEqual(["kube-apiserver", "kube-controller-manager", "kubelet"]);
        expect(consumersOf("admin.conf")).toEqual([]);
    });
});

describe("consumers in the program (mock runtime): what restarts on a master", () => {
    const findings = async (): Promise<ClusterFindings> => ({ reasons: {}, repairs: {}, report: "", apiserverServing: true });
    /** Per component, the files (paths) whose change restarts it on master-1: its restart's first trigger. */
    async function restartsKeyedOn(version: string): Promise<(component: string) => string[]> {
        const r = await runProgram(() => kubePki({ spec: haCluster(version, 1), inspect: findings }), { mocks: createEchoMocks(), stack: "prod" });
        return (component) => Object.keys(r.get(`prod-rollout-master-1-${component}`).inputs.triggers[0]);
    }

    it("before 1.20 a changed sa.key restarts the controller-manager only; from 1.20.0 the apiserver too", async () => {
        const [sa, pub] = ["/etc/kubernetes/pki/sa.key", "/etc/kubernetes/pki/sa.pub"];
        const old = await restartsKeyedOn("1.17.17");
        expect(old("kube-apiserver")).not.toContain(sa);
        expect(old("kube-apiserver")).toContain(pub);
        expect(old("kube-controller-manager")).toContain(sa);
        const current = await restartsKeyedOn("1.20.0");
        expect(current("kube-apiserver")).toEqual(expect.arrayContaining([sa, pub]));
        expect(current("kube-controller-manager")).toContain(sa);
    });
});
