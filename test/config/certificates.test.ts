/**
 * kube-pki:certificates: entries parse into the spec (node sets resolved, restart methods
 * filled), and every kind of bad input names its key and the fix.
 */
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import type { RawConfig } from "../../src/config";
import { fakeEnv, problems, withConfig } from "./helpers";

const NODES = [
    { name: "master-1", role: "master", address: "10.0.0.11" },
    { name: "worker-1", role: "worker", address: "10.0.0.21" },
    { name: "worker-2", role: "worker", address: "10.0.0.22" },
];
const KUBE_PROXY = {
    id: "kube-proxy", signer: "ca", commonName: "system:kube-proxy", organizations: ["system:node-proxier"],
    usages: ["digital_signature", "key_encipherment", "client_auth"], nodes: "all",
    files: { cert: "/etc/kubernetes/ssl/kube-proxy.pem", key: "/etc/kubernetes/ssl/kube-proxy-key.pem" },
    consumers: [{ name: "kube-proxy", restart: "systemd" }],
};
const ALICE = {
    id: "alice", signer: "ca", commonName: "alice", organizations: ["devs"], usages: ["client_auth"],
    kubeconfig: { server: "endpoint" }, output: true,
};

const config = (...entries: unknown[]): RawConfig => withConfig({ nodes: NODES, certificates: entries });
const entry = (patch: Record<string, unknown>) => ({ ...KUBE_PROXY, ...patch });

describe("kube-pki:certificates parses", () => {
    it("resolves node sets and restart defaults, keeps a user kubeconfig on no node", () => {
        const spec = parseClusterSpec(config(KUBE_PROXY, entry({ id: "flannel", nodes: "workers", files: { cert: "/etc/flannel/c.pem", key: "/etc/flannel/k.pem" },
            consumers: [{ name: "flanneld", restart: "docker", container: "flannel" }, { name: "kubelet" }] }), ALICE), fakeEnv());
        const [proxy, flannel, alice] = spec.certificates!;
        expect(proxy.nodes).toEqual(["master-1", "worker-1", "worker-2"]);
        expect(proxy.consumers).toEqual([{ name: "kube-proxy", restart: { restart: "systemd", unit: "kube-proxy" } }]);
        expect(proxy.target).toEqual({ kind: "files", cert: "/etc/kubernetes/ssl/kube-proxy.pem", key: "/etc/kubernetes/ssl/kube-proxy-key.pem" });
        expect(flannel.nodes).toEqual(["worker-1", "worker-2"]);
        expect(flannel.consumers).toEqual([{ name: "flanneld", restart: { restart: "docker", container: "flannel" } }, { name: "kubelet" }]);
        expect(alice).toMatchObject({ nodes: [], output: true, target: { kind: "kubeconfig", server: "endpoint" }, consumers: [] });
    });

    it("is absent when not set", () => {
        expect(parseClusterSpec(withConfig({ nodes: NODES }), fakeEnv()).certificates).toBeUndefined();
    });
});

describe("kube-pki:certificates bad input names the key and the fix", () => {
    it("unknown signer", () => {
        expect(problems(config(entry({ signer: "root-ca" })))).toEqual([
            'kube-pki:certificates[0].signer: "root-ca" is not one of the cluster\'s CAs; use one of "ca", "front-proxy-ca", "etcd-ca".',
        ]);
    });

    it("a signer the cluster does not have (external etcd), or one workers do not hold", () => {
        const external = withConfig({ nodes: NODES, cluster: { name: "lab", kubernetesVersion: "1.30.4", etcd: { mode: "external" } },
            certificates: [entry({ signer: "etcd-ca", nodes: "masters" })] });
        expect(problems(external)).toEqual([
            'kube-pki:certificates[0].signer: "etcd-ca" is not a CA of this cluster (etcd is external: kube-pki has no etcd CA); use one of "ca", "front-proxy-ca".',
        ]);
        expect(problems(config(entry({ signer: "front-proxy-ca" })))).toEqual([
            'kube-pki:certificates[0].signer: "front-proxy-ca" is not on workers ("worker-1", "worker-2"): they hold only the cluster CA; use "ca", or put it on masters only.',
        ]);
    });

    it("a template in a field that takes none, or one the field does not take", () => {
        expect(problems(config(entry({ files: { cert: "/etc/ssl/{node}.pem", key: "/etc/ssl/k.pem" } })))).toEqual([
            'kube-pki:certificates[0].files.cert: "{node}" is a template, but this field takes no template; write one fixed absolute path (templates {node}/{address} are for commonName, organizations and sans).',
        ]);
        expect(problems(config(entry({ commonName: "proxy-{address}" })))).toEqual([
            'kube-pki:certificates[0].commonName: "{address}" is a template, but this field takes only {node}; use "{node}" for the node\'s name, or a fixed text.',
        ]);
        expect(problems(config(entry({ sans: ["{hostname}"] })))[0]).toMatch(/^kube-pki:certificates\[0\]\.sans\[0\]: "\{hostname\}" is a template, but this field takes only \{node\} and \{address\}/);
    });

    it("a path claimed by two different materials: two entries, or an entry and a catalogue file", () => {
        expect(problems(config(KUBE_PROXY, entry({ id: "other", nodes: ["worker-1"] })))).toEqual([
            'kube-pki:certificates[1].files.cert: "/etc/kubernetes/ssl/kube-proxy.pem" is already the path of kube-pki:certificates[0] (kube-proxy) on "worker-1": two different contents cannot share one file; choose another path.',
            'kube-pki:certificates[1].files.key: "/etc/kubernetes/ssl/kube-proxy-key.pem" is already the path of kube-pki:certificates[0] (kube-proxy) on "worker-1": two different contents cannot share one file; choose another path.',
        ]);
        expect(problems(config(entry({ nodes: "masters", files: { cert: "/etc/kubernetes/pki/apiserver.crt", key: "/etc/kubernetes/ssl/k.pem" } })))).toEqual([
            'kube-pki:certificates[0].files.cert: "/etc/kubernetes/pki/apiserver.crt" is already the path of the catalogue\'s apiserver.crt on "master-1": two different contents cannot share one file; choose another path.',
        ]);
        expect(problems(config(entry({ files: { cert: "/etc/k.pem", key: "/etc/k.pem" } })))[0])
            .toBe('kube-pki:certificates[0].files.key: "/etc/k.pem" is already the path of kube-pki:certificates[0] (kube-proxy) on "master-1": two different contents cannot share one file; choose another path.');
    });

    it("unknown node name", () => {
        expect(problems(config(entry({ nodes: ["worker-1", "worker-9"] })))).toEqual([
            'kube-pki:certificates[0].nodes[1]: "worker-9" is not a node; use a name from kube-pki:nodes ("master-1", "worker-1", "worker-2"), or masters, workers, all.',
        ]);
    });

    it("unknown usage", () => {
        expect(problems(config(entry({ usages: ["digital_signature", "clientAuth"] })))[0])
            .toMatch(/^kube-pki:certificates\[0\]\.usages\[1\]: "clientAuth" is not a usage; use kube-pki's names: digital_signature, .*client_auth/);
    });

    it("an id clashing with a catalogue id, or with another entry", () => {
        expect(problems(config(entry({ id: "apiserver-kubelet-client", nodes: "masters" })))).toEqual([
            'kube-pki:certificates[0].id: "apiserver-kubelet-client" is a catalogue id; choose another id (catalogue entries are configured with kube-pki:layout and kube-pki:validity).',
        ]);
        expect(problems(config(KUBE_PROXY, entry({ files: { cert: "/etc/a.pem", key: "/etc/b.pem" } })))).toEqual([
            'kube-pki:certificates[1].id: "kube-proxy" is already the id of kube-pki:certificates[0]; give every entry its own id.',
        ]);
    });

    it("an id whose resource name another entry (or the catalogue) already makes", () => {
        // Names are lab-stack-<id> (shared) and lab-<node>-stack-<id> (per node), joined with "-".
        const odd = (name: string) => withConfig({ nodes: [...NODES, { name, role: "worker", address: "10.0.0.31" }],
            certificates: [
                entry({ id: "proxy", commonName: "system:node:{node}", nodes: [name] }),
                entry({ id: "a-stack-proxy", nodes: "masters", files: { cert: "/etc/a.pem", key: "/etc/a-key.pem" } }),
                entry({ id: "x-stack-proxy", commonName: "{node}", nodes: ["master-1"], files: { cert: "/etc/x.pem", key: "/etc/x-key.pem" } }),
            ] });
        expect(problems(odd("stack-a"))).toEqual([
            'kube-pki:certificates[1].id: "a-stack-proxy" names resource "lab-stack-a-stack-proxy", which is already the name of kube-pki:certificates[0] ("proxy") on node "stack-a"; '
            + 'choose another id (resources are named <cluster>-stack-<id> and <cluster>-<node>-stack-<id>: "-stack-" in an id or a node name can repeat a name).',
        ]);
        expect(problems(odd("master-1-stack-x"))).toEqual([
            'kube-pki:certificates[2].id: "x-stack-proxy" names resource "lab-master-1-stack-x-stack-proxy" on node "master-1", which is already the name of kube-pki:certificates[0] ("proxy") on node "master-1-stack-x"; '
            + 'choose another id (resources are named <cluster>-stack-<id> and <cluster>-<node>-stack-<id>: "-stack-" in an id or a node name can repeat a name).',
        ]);
        const catalogue = withConfig({ nodes: [...NODES, { name: "worker-1-stack-x", role: "master", address: "10.0.0.12" }],
            certificates: [entry({ id: "x-apiserver", commonName: "{node}", nodes: ["worker-1"] })] });
        expect(problems(catalogue)).toEqual([
            'kube-pki:certificates[0].id: "x-apiserver" names resource "lab-worker-1-stack-x-apiserver" on node "worker-1", which is already the name of the catalogue\'s certificate "apiserver"; '
            + 'choose another id (resources are named <cluster>-stack-<id> and <cluster>-<node>-stack-<id>: "-stack-" in an id or a node name can repeat a name).',
        ]);
        // Ids that only look alike make different names: accepted.
        expect(parseClusterSpec(odd("worker-3"), fakeEnv()).certificates).toHaveLength(3);
        const alike = parseClusterSpec(config(entry({ commonName: "system:node:{node}" }), entry({ id: "worker-1-stack-kube-proxy", files: { cert: "/etc/a.pem", key: "/etc/b.pem" } })), fakeEnv());
        expect(alike.certificates!.map((c) => c.id)).toEqual(["kube-proxy", "worker-1-stack-kube-proxy"]);
    });

    it("a user kubeconfig is output only: never pushed, never restarted", () => {
        expect(problems(config({ ...ALICE, nodes: "all", kubeconfig: { path: "/root/.kube/config" } }))).toEqual([
            "kube-pki:certificates[0].kubeconfig.path: is set with output: true (never pushed); an output-only kubeconfig goes to no node: remove it, or set output: false to push the kubeconfig.",
            "kube-pki:certificates[0].nodes: is set with output: true (never pushed); an output-only kubeconfig goes to no node: remove it, or set output: false to push the kubeconfig.",
        ]);
        expect(problems(config({ ...ALICE, output: false }))).toEqual([
            "kube-pki:certificates[0].kubeconfig.path: is required; set where the kubeconfig lands on the nodes, or set output: true for a user's kubeconfig (secret stack output).",
            "kube-pki:certificates[0].nodes: is required; set masters, workers, all or a list of node names.",
        ]);
    });

    it("consumers: restart methods outside the catalogue, none for catalogue components", () => {
        expect(problems(config(entry({ consumers: [{ name: "kube-proxy" }] })))[0]).toMatch(
            /^kube-pki:certificates\[0\]\.consumers\[0\]\.restart: is required for "kube-proxy", which is neither a catalogue component .* nor in kube-pki:layout\.components; set one of static-pod, systemd, crictl, docker, none\.$/);
        expect(problems(config(entry({ consumers: [{ name: "kubelet", restart: "systemd" }] })))).toEqual([
            'kube-pki:certificates[0].consumers[0].restart: "kubelet" is a catalogue component, restarted and verified as the layout says; remove restart, unit, container and port.',
        ]);
        expect(problems(config(entry({ consumers: [{ name: "kube-proxy", restart: "docker" }] })))[0]).toMatch(/consumers\[0\]\.container: is required with restart: docker/);
        expect(problems(config(entry({ consumers: [{ name: "kube-proxy", restart: "reboot" }] })))[0]).toMatch(/consumers\[0\]\.restart: "reboot" is not a restart method; use one of "static-pod", "systemd", "crictl", "docker", "none"\.$/);
        expect(problems(config(KUBE_PROXY, entry({ id: "p2", files: { cert: "/etc/a.pem", key: "/etc/b.pem" }, consumers: [{ name: "kube-proxy", restart: "docker", container: "kp" }] })))).toEqual([
            'kube-pki:certificates[1].consumers[0].restart: "kube-proxy" is restarted differently in kube-pki:certificates[0]; give a component the same restart method, unit and container everywhere.',
        ]);
    });

    it("a kubeconfig's client certificate is signed by the cluster CA", () => {
        expect(problems(config({ ...ALICE, signer: "front-proxy-ca" }))).toEqual([
            'kube-pki:certificates[0].signer: "front-proxy-ca" cannot sign a kubeconfig\'s client certificate; use "ca": the apiserver accepts client certificates of the cluster CA (--client-ca-file).',
        ]);
    });
});
