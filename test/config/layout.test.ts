/**
 * kube-pki:layout for clusters not made by kubeadm: per-node path templates, files that serve
 * several roles, omitted entries, restart methods per component. Bad input is refused at parse
 * (preview) time with the key and the fix; sound layouts give the plan one file per path.
 */
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import { restartArgs } from "../../src/pki/layout";
import { planCluster } from "../../src/pki/plan";
import { fakeEnv, problems, withConfig } from "./helpers";

const SSL = "/etc/kubernetes/ssl";
const nodes = [
    { name: "m1", role: "master", address: "10.0.0.109" },
    { name: "m2", role: "master", address: "10.0.0.110" },
    { name: "w1", role: "worker", address: "10.0.0.121" },
];
const custom = (layout: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
    withConfig({ nodes, layout: { kind: "custom", ...layout }, ...rest });

describe("layout path templates", () => {
    it("fill {node}, {address} and {address-dashed} per node", () => {
        const spec = parseClusterSpec(custom({
            paths: {
                "etcd/server.crt": `${SSL}/kube-etcd-{address-dashed}.pem`, "etcd/server.key": `${SSL}/kube-etcd-{address-dashed}-key.pem`,
                "apiserver.crt": `${SSL}/{node}/apiserver-{address}.pem`,
            },
        }), fakeEnv());
        const plan = planCluster(spec);
        const paths = (node: string) => plan.nodes[node].files.map((f) => f.path);
        expect(paths("m1")).toEqual(expect.arrayContaining([`${SSL}/kube-etcd-10-0-0-109.pem`, `${SSL}/kube-etcd-10-0-0-109-key.pem`, `${SSL}/m1/apiserver-10.0.0.109.pem`]));
        expect(paths("m2")).toEqual(expect.arrayContaining([`${SSL}/kube-etcd-10-0-0-110.pem`, `${SSL}/m2/apiserver-10.0.0.110.pem`]));
        // What a certificate must be verified with follows the node too.
        const server = plan.nodes.m2.files.find((f) => f.key === "etcd/server.crt")!;
        expect(server.expected?.keyPath).toBe(`${SSL}/kube-etcd-10-0-0-110-key.pem`);
    });

    it("refuse an unknown template variable, naming it and the ones there are", () => {
        expect(problems(custom({ paths: { "apiserver.crt": `${SSL}/kube-apiserver-{hostname}.pem` } }))).toEqual([
            `kube-pki:layout.paths["apiserver.crt"]: unknown template variable {hostname} in "${SSL}/kube-apiserver-{hostname}.pem"; ` +
            `use {node}, {address}, {address-dashed} (e.g. "/etc/kubernetes/ssl/kube-etcd-{address-dashed}.pem").`,
        ]);
    });

    it("refuse a template in a key that takes none", () => {
        const lines = problems(custom({
            kubernetesDir: "/etc/{node}", manifestsDir: "/etc/kubernetes/{node}/manifests",
            components: { "kube-apiserver": { restart: "systemd", unit: "apiserver-{node}" } },
        }));
        expect(lines).toHaveLength(3);
        expect(lines[0]).toMatch(/^kube-pki:layout\.kubernetesDir: "\/etc\/\{node\}" has a template, but this key takes none \(templates are for kube-pki:layout\.paths\); set the absolute directory/);
        expect(lines[1]).toMatch(/^kube-pki:layout\.manifestsDir: .* has a template, but this key takes none/);
        expect(lines[2]).toMatch(/^kube-pki:layout\.components\.kube-apiserver\.unit: "apiserver-\{node\}" has a template, but this key takes none/);
    });
});

describe("one file, several roles", () => {
    it("two roles with different contents at one path are refused at preview, naming both keys and the fix", () => {
        const lines = problems(custom({ paths: { "apiserver.crt": `${SSL}/kube-apiserver.pem`, "apiserver-kubelet-client.crt": `${SSL}/kube-apiserver.pem` } }));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`kube-pki:layout.paths["apiserver.crt"]: ${SSL}/kube-apiserver.pem (on m1) is claimed by kube-pki:layout.paths["apiserver.crt"] and kube-pki:layout.paths["apiserver-kubelet-client.crt"], which hold different contents`);
        expect(lines[0]).toContain("kube-pki:layout.sameCertificate");
    });

    it("a CA at a kubeadm path and one of its roles at the same override are still two contents", () => {
        const lines = problems(custom({ paths: { "ca.crt": `${SSL}/ca.pem`, "etcd/ca.crt": `${SSL}/ca.pem` } }));
        expect(lines[0]).toMatch(/claimed by kube-pki:layout\.paths\["ca\.crt"\] and kube-pki:layout\.paths\["etcd\/ca\.crt"\], which hold different contents; .*same-as-ca/);
    });

    it("authorities.etcdCa same-as-ca: etcd is signed by the cluster CA and ca.pem serves both roles, read by both components", () => {
        const spec = parseClusterSpec(custom(
            { paths: { "ca.crt": `${SSL}/ca.pem`, "ca.key": `${SSL}/ca-key.pem`, "etcd/ca.crt": `${SSL}/ca.pem` } },
            { authorities: { etcdCa: "same-as-ca" } },
        ), fakeEnv());
        const plan = planCluster(spec);
        expect(plan.cas.map((c) => c.id)).toEqual(["ca", "front-proxy-ca"]);
        const m1 = plan.nodes.m1.files;
        const ca = m1.filter((f) => f.path === `${SSL}/ca.pem`);
        expect(ca).toHaveLength(1);
        expect(ca[0]).toMatchObject({ key: "ca.crt", alsoKeys: ["etcd/ca.crt"], material: { kind: "ca-cert", ca: "ca" } });
        expect(ca[0].consumers).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kubelet"]);
        expect(m1.some((f) => f.key === "etcd/ca.key")).toBe(false);
        const server = m1.find((f) => f.key === "etcd/server.crt")!;
        expect(server.expected).toMatchObject({ issuer: "ca", issuerCommonName: "kubernetes", caPath: `${SSL}/ca.pem` });
        expect(plan.certificates.get("m1/etcd-server")?.issuer).toBe("ca");
    });

    it("etcd server and peer at one per-node path are one certificate when they are the same; different SANs are refused", () => {
        const same = { "etcd/server.crt": `${SSL}/kube-etcd-{address-dashed}.pem`, "etcd/server.key": `${SSL}/kube-etcd-{address-dashed}-key.pem`,
            "etcd/peer.crt": `${SSL}/kube-etcd-{address-dashed}.pem`, "etcd/peer.key": `${SSL}/kube-etcd-{address-dashed}-key.pem` };
        expect(problems(custom({ paths: same }, { cluster: { name: "lab", kubernetesVersion: "1.30.4", etcd: { peerCertSans: ["etcd.lab"] } } }))[0])
            .toMatch(/kube-etcd-10-0-0-109\.pem \(on m1\) is claimed by .*"etcd\/server\.crt"\] and .*"etcd\/peer\.crt"\], which hold different contents/);
        const spec = parseClusterSpec(custom({ paths: same, sameCertificate: { "etcd-peer": "etcd-server" } }), fakeEnv());
        const plan = planCluster(spec);
        expect([...plan.certificates.keys()].filter((id) => id.includes("etcd-"))).toEqual(["m1/etcd-server", "etcd-healthcheck-client", "apiserver-etcd-client", "m2/etcd-server"]);
        expect(plan.nodes.m2.files.filter((f) => f.path.startsWith(`${SSL}/kube-etcd-`)).map((f) => [f.key, f.alsoKeys])).toEqual([
            ["etcd/server.crt", ["etcd/peer.crt"]], ["etcd/server.key", ["etcd/peer.key"]],
        ]);
    });

    it("layout.sameCertificate: RKE's kube-apiserver.pem is also the kubelet client, with both roles' usages", () => {
        const spec = parseClusterSpec(custom({
            paths: {
                "apiserver.crt": `${SSL}/kube-apiserver.pem`, "apiserver.key": `${SSL}/kube-apiserver-key.pem`,
                "apiserver-kubelet-client.crt": `${SSL}/kube-apiserver.pem`, "apiserver-kubelet-client.key": `${SSL}/kube-apiserver-key.pem`,
            },
            sameCertificate: { "apiserver-kubelet-client": "apiserver" },
        }), fakeEnv());
        const plan = planCluster(spec);
        expect(plan.certificates.has("apiserver-kubelet-client")).toBe(false);
        expect(plan.certificates.get("m1/apiserver")?.usages).toEqual(["digital_signature", "key_encipherment", "server_auth", "client_auth"]);
        const file = plan.nodes.m1.files.find((f) => f.path === `${SSL}/kube-apiserver.pem`)!;
        expect(file).toMatchObject({ key: "apiserver.crt", alsoKeys: ["apiserver-kubelet-client.crt"], material: { kind: "leaf-cert", certificate: "m1/apiserver" } });
    });

    it("layout.sameCertificate is checked: ids, chains, and one issuer", () => {
        expect(problems(custom({ sameCertificate: { "kube-proxy": "apiserver" } }))[0])
            .toMatch(/^kube-pki:layout\.sameCertificate\.kube-proxy: "kube-proxy" is not a certificate id; use one of apiserver, /);
        expect(problems(custom({ sameCertificate: { "apiserver-etcd-client": "apiserver" } }))[0])
            .toMatch(/^kube-pki:layout\.sameCertificate\.apiserver-etcd-client: "apiserver-etcd-client" is signed by etcd-ca but "apiserver" by ca; one certificate has one issuer: set kube-pki:authorities\.etcdCa to "same-as-ca"/);
        expect(problems(custom({ sameCertificate: { "etcd-peer": "etcd-server", "etcd-server": "apiserver" } })).some((l) =>
            l.startsWith('kube-pki:layout.sameCertificate.etcd-peer: "etcd-server" is itself served by another certificate'))).toBe(true);
    });
});

describe("omitted catalogue entries", () => {
    it("are planned nowhere", () => {
        const spec = parseClusterSpec(custom({ omit: ["front-proxy-ca", "front-proxy-client", "super-admin.conf"] }), fakeEnv());
        const keys = planCluster(spec).nodes.m1.files.map((f) => f.key);
        expect(keys.filter((k) => k.startsWith("front-proxy") || k === "super-admin.conf")).toEqual([]);
        expect(keys).toContain("apiserver.crt");
    });

    it("an unknown id, or a CA that still signs a kept entry, is refused", () => {
        expect(problems(custom({ omit: ["front-proxy"] }))[0]).toMatch(/^kube-pki:layout\.omit\[0\]: "front-proxy" is not a catalogue id; use one of ca, front-proxy-ca, etcd-ca, /);
        expect(problems(custom({ omit: ["front-proxy-ca"] }))).toEqual([
            'kube-pki:layout.omit[0]: the CA "front-proxy-ca" is omitted but signs front-proxy-client; omit those too, or keep "front-proxy-ca".',
        ]);
    });

    it("is for custom layouts only", () => {
        expect(problems(withConfig({ layout: { omit: ["front-proxy-client"] } }))).toEqual([
            'kube-pki:layout.omit: is only allowed with kind "custom"; set kube-pki:layout.kind to "custom", or remove omit.',
        ]);
    });
});

describe("restart methods per component", () => {
    it("unknown method, docker without container, unit or container with the wrong method", () => {
        const lines = problems(custom({
            components: {
                "kube-apiserver": { restart: "podman" },
                etcd: { restart: "docker" },
                kubelet: { restart: "docker", container: "kubelet", unit: "kubelet.service" },
                "kube-scheduler": { restart: "systemd", container: "sched" },
            },
        }));
        expect(lines).toEqual([
            'kube-pki:layout.components.kube-apiserver.restart: "podman" is not a restart method; use one of "static-pod", "systemd", "crictl", "docker", "none".',
            expect.stringMatching(/^kube-pki:layout\.components\.etcd\.container: is required with restart "docker"; set the container's name/),
            'kube-pki:layout.components.kubelet.unit: is only used with restart "systemd", not "docker"; remove it, or set restart: systemd.',
            'kube-pki:layout.components.kube-scheduler.container: is only used with restart "docker" or "crictl", not "systemd"; remove it, or set restart: docker.',
        ]);
    });

    it("become rotate.sh arguments; a kubeadm layout's arguments are the ones it always had", () => {
        const spec = parseClusterSpec(custom({
            manifestsDir: "/etc/k8s/manifests",
            components: {
                "kube-apiserver": { restart: "docker", container: "kube-apiserver" },
                etcd: { restart: "docker", container: "etcd-m1" },
                "kube-scheduler": { restart: "systemd", unit: "k8s-scheduler.service" },
                kubelet: { restart: "none" },
            },
        }), fakeEnv());
        expect(restartArgs(spec.layout, "kube-apiserver")).toEqual({ method: "docker", options: [] });
        expect(restartArgs(spec.layout, "etcd")).toEqual({ method: "docker", options: ["--container", "etcd-m1"] });
        expect(restartArgs(spec.layout, "kube-scheduler")).toEqual({ method: "systemd", options: ["--unit", "k8s-scheduler.service"] });
        expect(restartArgs(spec.layout, "kube-controller-manager")).toEqual({ method: "static-pod", options: ["--manifests", "/etc/k8s/manifests"] });
        expect(restartArgs(spec.layout, "kubelet")).toEqual({ method: "none", options: [] });
        const kubeadm = parseClusterSpec(withConfig({}), fakeEnv()).layout;
        expect(kubeadm).toEqual({ kind: "kubeadm", kubernetesDir: "/etc/kubernetes", paths: {}, restart: "static-pod", componentServingCerts: false });
        for (const c of ["etcd", "kube-apiserver", "kubelet"]) expect(restartArgs(kubeadm, c)).toEqual({ method: "static-pod", options: [] });
    });
});
