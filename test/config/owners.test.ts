/**
 * kube-pki:layout.owners and kube-pki:certificates[].owner: "user:group" per file key or stack
 * id, set on the planned files; every kind of bad input names its key and the fix.
 */
import { describe, expect, it } from "vitest";
import { parseClusterSpec, type RawConfig } from "../../src/config";
import { planCluster } from "../../src/pki/plan";
import { fakeEnv, problems, withConfig } from "./helpers";

const NODES = [
    { name: "master-1", role: "master", address: "10.0.0.11" },
    { name: "worker-1", role: "worker", address: "10.0.0.21" },
];
const KUBE_PROXY = {
    id: "kube-proxy", signer: "ca", commonName: "system:kube-proxy", usages: ["client_auth"], nodes: "all",
    files: { cert: "/etc/kubernetes/ssl/kube-proxy.pem", key: "/etc/kubernetes/ssl/kube-proxy-key.pem" },
    consumers: [{ name: "kube-proxy", restart: "systemd" }],
};
const ALICE = { id: "alice", signer: "ca", commonName: "alice", usages: ["client_auth"], kubeconfig: { server: "endpoint" }, output: true };

const config = (layout: Record<string, unknown>, rest: RawConfig = {}): RawConfig => withConfig({ nodes: NODES, layout, ...rest });
const ownersOf = (raw: RawConfig) => {
    const plan = planCluster(parseClusterSpec(raw, fakeEnv()));
    return Object.fromEntries(Object.entries(plan.nodes).map(([n, p]) => [n, Object.fromEntries(p.files.filter((f) => f.owner).map((f) => [f.path, f.owner]))]));
};

describe("owners parse into the plan", () => {
    it("a catalogue file key owns exactly that file, on every node that holds it (kubeadm layout too)", () => {
        expect(ownersOf(config({ owners: { "etcd/server.key": "etcd:etcd", "apiserver.key": "kube:kube" } }))).toEqual({
            "master-1": { "/etc/kubernetes/pki/etcd/server.key": "etcd:etcd", "/etc/kubernetes/pki/apiserver.key": "kube:kube" },
            "worker-1": {},
        });
    });

    it("a stack id owns every file of the entry, from layout.owners or the entry's own owner", () => {
        const both = { "/etc/kubernetes/ssl/kube-proxy.pem": "kube-proxy:kube-proxy", "/etc/kubernetes/ssl/kube-proxy-key.pem": "kube-proxy:kube-proxy" };
        const want = { "master-1": both, "worker-1": both };
        expect(ownersOf(config({ owners: { "kube-proxy": "kube-proxy:kube-proxy" } }, { certificates: [KUBE_PROXY] }))).toEqual(want);
        expect(ownersOf(withConfig({ nodes: NODES, certificates: [{ ...KUBE_PROXY, owner: "kube-proxy:kube-proxy" }] }))).toEqual(want);
    });

    it("one file serving two roles takes the owner given for either role", () => {
        const ssl = "/etc/kubernetes/ssl";
        const raw = config({
            kind: "custom", sameCertificate: { "apiserver-kubelet-client": "apiserver" },
            paths: { "apiserver.crt": `${ssl}/kube-apiserver.pem`, "apiserver.key": `${ssl}/kube-apiserver-key.pem`,
                "apiserver-kubelet-client.crt": `${ssl}/kube-apiserver.pem`, "apiserver-kubelet-client.key": `${ssl}/kube-apiserver-key.pem` },
            owners: { "apiserver-kubelet-client.key": "kube:kube" },
        });
        expect(ownersOf(raw)["master-1"]).toEqual({ [`${ssl}/kube-apiserver-key.pem`]: "kube:kube" });
    });

    it("nothing configured: no owner on any file, and no owners in the spec", () => {
        const spec = parseClusterSpec(withConfig({ nodes: NODES, certificates: [KUBE_PROXY] }), fakeEnv());
        expect(spec.layout.owners).toBeUndefined();
        expect(spec.certificates![0]).not.toHaveProperty("owner");
        expect(Object.values(planCluster(spec).nodes).flatMap((n) => n.files).filter((f) => "owner" in f)).toEqual([]);
    });
});

describe("bad owners name the key and the fix", () => {
    const FIX = 'write user:group as named on the node, e.g. "etcd:etcd" (names, not numeric ids; letters, digits, "_", "." and "-").';

    it("a value that is not user:group", () => {
        expect(problems(config({ owners: { "etcd/server.key": "etcd", "apiserver.key": "kube apiserver:kube", "sa.key": 0, "ca.key": "0:0" } }))).toEqual([
            `kube-pki:layout.owners["etcd/server.key"]: "etcd" names no group; ${FIX}`,
            `kube-pki:layout.owners["apiserver.key"]: "kube apiserver:kube" is not a user:group pair; ${FIX}`,
            `kube-pki:layout.owners["sa.key"]: must be a string, got 0; ${FIX}`,
            `kube-pki:layout.owners["ca.key"]: "0:0" uses a numeric id; ${FIX}`,
        ]);
    });

    it("a key that is no file key", () => {
        const lines = problems(config({ owners: { "etcd/server.pem": "etcd:etcd" } }));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^kube-pki:layout\.owners\["etcd\/server\.pem"\]: unknown file key; use one of ca\.crt, ca\.key, .*etcd\/server\.key.*, or the id of a kube-pki:certificates entry\.$/);
    });

    it("an id no kube-pki:certificates entry has, or one kept only as a stack output", () => {
        expect(problems(config({ owners: { "kube-proxi": "kube-proxy:kube-proxy", alice: "alice:alice" } }, { certificates: [KUBE_PROXY, ALICE] }))).toEqual([
            'kube-pki:layout.owners.kube-proxi: "kube-proxi" is neither a file key nor the id of a kube-pki:certificates entry; use a file key (e.g. "etcd/server.key") or one of "kube-proxy".',
            "kube-pki:layout.owners.alice: kube-pki:certificates[1] (alice) is a stack output only, on no node; remove this owner.",
        ]);
    });

    it("an entry's owner set twice", () => {
        expect(problems(config({ owners: { "kube-proxy": "root:kube-proxy" } }, { certificates: [{ ...KUBE_PROXY, owner: "kube-proxy:kube-proxy" }] }))).toEqual([
            'kube-pki:layout.owners.kube-proxy: kube-pki:certificates[0].owner already sets the owner of "kube-proxy" ("kube-proxy:kube-proxy"); keep one of them.',
        ]);
    });

    it("a file key this cluster does not get (external etcd, omitted entry)", () => {
        const external = config({ owners: { "etcd/server.key": "etcd:etcd" } }, { cluster: { name: "lab", kubernetesVersion: "1.30.4", etcd: { mode: "external" } } });
        expect(problems(external)).toEqual([
            'kube-pki:layout.owners["etcd/server.key"]: no node gets "etcd/server.key" in this cluster (omitted, external etcd, or an entry not enabled); remove this owner, or name the file key of a file kube-pki writes.',
        ]);
        const omitted = config({ kind: "custom", omit: ["front-proxy-ca", "front-proxy-client"], owners: { "front-proxy-client.key": "kube:kube" } });
        expect(problems(omitted)).toEqual([
            'kube-pki:layout.owners["front-proxy-client.key"]: no node gets "front-proxy-client.key" in this cluster (omitted, external etcd, or an entry not enabled); remove this owner, or name the file key of a file kube-pki writes.',
        ]);
    });

    it("one file serving two roles with two different owners", () => {
        const raw = config({
            kind: "custom", sameCertificate: { "apiserver-kubelet-client": "apiserver" },
            paths: { "apiserver.key": "/etc/kubernetes/ssl/kube-apiserver-key.pem", "apiserver-kubelet-client.key": "/etc/kubernetes/ssl/kube-apiserver-key.pem",
                "apiserver.crt": "/etc/kubernetes/ssl/kube-apiserver.pem", "apiserver-kubelet-client.crt": "/etc/kubernetes/ssl/kube-apiserver.pem" },
            owners: { "apiserver.key": "kube:kube", "apiserver-kubelet-client.key": "root:root" },
        });
        expect(problems(raw)).toEqual([
            'kube-pki:layout.owners["apiserver-kubelet-client.key"]: /etc/kubernetes/ssl/kube-apiserver-key.pem is one file serving "apiserver.key" and "apiserver-kubelet-client.key", which name different owners (kube:kube, root:root); give them the same owner, or one of them only.',
        ]);
    });

    it("a kube-pki:certificates owner that is not user:group, or set on an output-only kubeconfig", () => {
        expect(problems(withConfig({ nodes: NODES, certificates: [{ ...KUBE_PROXY, owner: "kube-proxy:" }, { ...ALICE, owner: "alice:alice" }] }))).toEqual([
            `kube-pki:certificates[0].owner: "kube-proxy:" is not a user:group pair; ${FIX}`,
            "kube-pki:certificates[1].owner: is set with output: true (never pushed); an output-only kubeconfig goes to no node: remove it, or set output: false to push the kubeconfig.",
        ]);
    });
});
