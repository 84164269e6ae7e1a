/**
 * The shipped stack files parse, through the same path as `pulumi up` (the `config:` section,
 * `kube-pki:` keys, structured values), into the specs their comments promise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { RawConfig } from "../../src/config";
import { parseClusterSpec } from "../../src/config";
import { restartArgs } from "../../src/pki/layout";
import { planCluster } from "../../src/pki/plan";
import { fakeEnv, realPrivateKey } from "./helpers";

const STACKS_DIR = path.resolve(__dirname, "../../stacks");
const HOME = "/home/op";

/** The kube-pki:* values of a stack file, without the namespace, as Pulumi hands them to getObject. */
function stackConfig(stack: string): RawConfig {
    const doc = parseYaml(fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const raw: RawConfig = {};
    for (const [key, value] of Object.entries(doc.config)) {
        expect(key.startsWith("kube-pki:"), `${stack}: ${key} is outside the kube-pki namespace`).toBe(true);
        raw[key.slice("kube-pki:".length)] = value;
    }
    return raw;
}

const keyFiles = {
    [`${HOME}/.ssh/kube-pki-staging`]: realPrivateKey, [`${HOME}/.ssh/kube-pki-prod`]: realPrivateKey,
    [`${HOME}/.ssh/kube-pki-handbuilt`]: realPrivateKey, [`${HOME}/.ssh/kube-pki-rke`]: realPrivateKey,
};

describe("shipped stacks", () => {
    it("ships exactly dev, staging and prod, with no secret material", () => {
        const files = fs.readdirSync(STACKS_DIR).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort();
        expect(files).toEqual(expect.arrayContaining(["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]));
        for (const file of files) {
            const text = fs.readFileSync(path.join(STACKS_DIR, file), "utf8");
            expect(text, file).not.toMatch(/PRIVATE KEY|secure:/);
        }
    });

    it("dev: one local master, everything generated, no restarts", () => {
        const env = fakeEnv({}, HOME, "/work/project");
        const spec = parseClusterSpec(stackConfig("dev"), env);
        expect(env.reads).toEqual([]); // no SSH key needed for a local node
        expect(spec.nodes).toEqual([
            { name: "dev-master", role: "master", advertiseAddress: "127.0.0.1", transport: "local", localRoot: "/work/project/.dev-node" },
        ]);
        expect(spec.kubernetesVersion).toMatch(/^1\.30\.\d+$/);
        expect(spec.controlPlaneEndpoint).toEqual({ host: "127.0.0.1", port: 6443 });
        expect(spec.authorities).toEqual({ ca: "generate", frontProxyCa: "generate", etcdCa: "generate", serviceAccount: "generate", adoptFrom: "dev-master", keyAlgorithm: "RSA-2048" });
        expect(spec.rollout.restart).toBe(false);
    });

    it("staging: 1 master + 2 workers over SSH, CAs adopted from the master", () => {
        const env = fakeEnv(keyFiles, HOME);
        const spec = parseClusterSpec(stackConfig("staging"), env);
        expect(env.reads).toEqual([`${HOME}/.ssh/kube-pki-staging`]); // read once, shared by all nodes
        expect(spec.nodes.map((n) => [n.name, n.role, n.transport])).toEqual([
            ["staging-master-1", "master", "ssh"],
            ["staging-worker-1", "worker", "ssh"],
            ["staging-worker-2", "worker", "ssh"],
        ]);
        for (const node of spec.nodes) {
            expect(node.advertiseAddress).toMatch(/^10\.20\.0\.\d+$/);
            expect(node.ssh).toEqual({ host: node.advertiseAddress, port: 22, user: "root", privateKey: realPrivateKey, hostKey: expect.stringMatching(/^ssh-ed25519 AAAA/) });
        }
        expect(spec.authorities).toMatchObject({ ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: "staging-master-1" });
        expect(spec.rollout.restart).toBe(true);
    });

    it("prod: 3 masters behind the load balancer, extra SANs, explicit validity, batches of 2", () => {
        const spec = parseClusterSpec(stackConfig("prod"), fakeEnv(keyFiles, HOME));
        expect(spec.nodes.filter((n) => n.role === "master")).toHaveLength(3);
        expect(spec.nodes.filter((n) => n.role === "worker")).toHaveLength(3);
        expect(spec.nodes.every((n) => n.transport === "ssh" && n.ssh?.privateKey === realPrivateKey)).toBe(true);
        expect(spec.controlPlaneEndpoint).toEqual({ host: "k8s-api.prod.example.com", port: 6443 });
        expect(spec.apiServerCertSans).toEqual(["k8s-api.prod.internal.example.com", "10.30.0.100"]);
        expect(spec.kubernetesVersion).toMatch(/^1\.30\.\d+$/);
        expect(spec.validity).toEqual({ caYears: 10, leafDays: 730, renewBeforeDays: 60, leafDaysOverrides: { "front-proxy-client": 365 } });
        expect(spec.rollout.workerBatchSize).toBe(2);
        expect(spec.authorities.adoptFrom).toBe("prod-master-1");
    });

    for (const stack of ["staging", "prod"]) {
        it(`${stack}: pins every node with its own ed25519 example key and says how to get the real ones`, () => {
            const text = fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8");
            expect(text).toContain(`npx kube-pki host-keys --stack ${stack}`);
            expect(text).toMatch(/EXAMPLES/);
            const spec = parseClusterSpec(stackConfig(stack), fakeEnv(keyFiles, HOME));
            const pins = spec.nodes.map((n) => n.ssh?.hostKey);
            expect(pins.every((p) => /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+$/.test(p ?? ""))).toBe(true);
            expect(new Set(pins).size).toBe(spec.nodes.length);
            expect(spec.nodes.some((n) => n.ssh?.insecureIgnoreHostKey)).toBe(false);
            // Without the pins (and without the opt-out) the stack is refused, naming each node and this stack.
            const raw = stackConfig(stack);
            raw.nodes = (raw.nodes as Array<Record<string, unknown>>).map(({ ssh: _ssh, ...rest }) => rest);
            const lines = (() => {
                try { parseClusterSpec(raw, { ...fakeEnv(keyFiles, HOME), stack }); } catch (err) { return (err as Error).message.split("\n").slice(1); }
                return [];
            })();
            expect(lines).toHaveLength(spec.nodes.length);
            spec.nodes.forEach((n, i) => expect(lines[i]).toContain(`kube-pki:nodes[${i}].ssh.hostKey: node "${n.name}" has no pinned SSH host key`));
            expect(lines[0]).toContain(`\`npx kube-pki host-keys --stack ${stack}\``);
        });
    }

    it("handbuilt-example: cfssl names under /etc/kubernetes/ssl, one CA for everything, systemd units", () => {
        const spec = parseClusterSpec(stackConfig("handbuilt-example"), fakeEnv(keyFiles, HOME));
        const plan = planCluster(spec);
        expect(plan.cas.map((c) => c.id)).toEqual(["ca"]);
        const master = plan.nodes["controller-0"].files;
        const at = (p: string) => master.filter((f) => f.path === p);
        // One file per path; ca.pem is the cluster CA and etcd's, read by every component that trusts either.
        expect(new Set(master.map((f) => f.path)).size).toBe(master.length);
        expect(at("/etc/kubernetes/ssl/ca.pem")[0]).toMatchObject({ key: "ca.crt", alsoKeys: ["etcd/ca.crt"], material: { kind: "ca-cert", ca: "ca" } });
        expect(at("/etc/kubernetes/ssl/kubernetes.pem")[0]).toMatchObject({ key: "apiserver.crt", alsoKeys: ["etcd/healthcheck-client.crt", "apiserver-etcd-client.crt"] });
        expect(plan.certificates.get("controller-0/apiserver")?.usages).toEqual(["digital_signature", "key_encipherment", "server_auth", "client_auth"]);
        expect(at("/etc/kubernetes/ssl/etcd.pem")[0]).toMatchObject({ key: "etcd/server.crt", alsoKeys: ["etcd/peer.crt"], consumers: ["etcd"] });
        expect(master.some((f) => f.key.startsWith("front-proxy") || f.key.startsWith("apiserver-kubelet-client"))).toBe(false);
        expect(plan.nodes["worker-0"].files.map((f) => f.path)).toEqual(expect.arrayContaining(["/etc/kubernetes/ssl/ca.pem", "/etc/kubernetes/kubelet.kubeconfig"]));
        for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]) {
            expect(restartArgs(spec.layout, c), c).toEqual({ method: "systemd", options: [] });
        }
        // kube-proxy's client certificate (kube-pki:certificates): one shared pair in the files its kubeconfig names, on every node;
        // the kubeconfig itself is not kube-pki's.
        expect(spec.certificates?.map((c) => [c.id, c.commonName, c.nodes.length])).toEqual([["kube-proxy", "system:kube-proxy", 3]]);
        for (const node of ["controller-0", "worker-1"]) {
            const files = plan.nodes[node].files;
            expect(files.find((f) => f.path === "/etc/kubernetes/ssl/kube-proxy.pem")).toMatchObject({ material: { kind: "leaf-cert", certificate: "kube-proxy" }, mode: "0644" });
            expect(files.find((f) => f.path === "/etc/kubernetes/ssl/kube-proxy-key.pem")?.mode).toBe("0600");
            expect(files.some((f) => f.path === "/etc/kubernetes/kube-proxy.kubeconfig")).toBe(false);
        }
        expect(plan.certificates.get("kube-proxy")).toMatchObject({ subject: { commonName: "system:kube-proxy", organizations: ["system:node-proxier"] }, issuer: "ca" });
        expect(plan.extraComponents).toEqual([{ name: "kube-proxy", restart: { restart: "systemd", unit: "kube-proxy" } }]);
    });

    it("rke-example: RKE names, per-node etcd files by address, kubecfg-*.yaml, docker containers", () => {
        const spec = parseClusterSpec(stackConfig("rke-example"), fakeEnv(keyFiles, HOME));
        const plan = planCluster(spec);
        const m2 = plan.nodes["rke-2"].files;
        expect(new Set(m2.map((f) => f.path)).size).toBe(m2.length);
        expect(m2.find((f) => f.path === "/etc/kubernetes/ssl/kube-etcd-10-50-0-12.pem")).toMatchObject({ key: "etcd/server.crt", alsoKeys: ["etcd/peer.crt"] });
        expect(m2.find((f) => f.path === "/etc/kubernetes/ssl/kube-apiserver.pem")).toMatchObject({ key: "apiserver.crt", alsoKeys: ["apiserver-kubelet-client.crt"] });
        expect(m2.find((f) => f.path === "/etc/kubernetes/ssl/kubecfg-kube-node.yaml")?.material.kind).toBe("kubeconfig");
        expect(m2.find((f) => f.path === "/etc/kubernetes/ssl/kube-service-account-token.pem")?.material.kind).toBe("sa-public-key");
        expect(restartArgs(spec.layout, "kubelet")).toEqual({ method: "docker", options: [] });
        expect(restartArgs(spec.layout, "etcd")).toEqual({ method: "docker", options: [] });
        for (const node of ["rke-2", "rke-worker-1"]) {
            expect(plan.nodes[node].files.find((f) => f.path === "/etc/kubernetes/ssl/kube-proxy.pem")?.material).toEqual({ kind: "leaf-cert", certificate: "kube-proxy" });
            expect(plan.nodes[node].files.find((f) => f.path === "/etc/kubernetes/ssl/kube-proxy-key.pem")?.mode).toBe("0600");
            expect(plan.nodes[node].files.some((f) => f.path === "/etc/kubernetes/ssl/kubecfg-kube-proxy.yaml")).toBe(false);
        }
        expect(spec.certificates?.[0].consumers).toEqual([{ name: "kube-proxy", restart: { restart: "docker", container: "kube-proxy" } }]);
    });

    it("the README's \"Clusters not made by kubeadm\" shows both example stacks as shipped", () => {
        const readme = fs.readFileSync(path.resolve(STACKS_DIR, "../README.md"), "utf8");
        for (const stack of ["handbuilt-example", "rke-example"]) {
            expect(readme, stack).toContain("```yaml\n" + fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8") + "```");
        }
    });

    it("staging and prod fail at preview with a clear line when their key file is missing", () => {
        expect(() => parseClusterSpec(stackConfig("prod"), fakeEnv({}, HOME))).toThrow(
            'kube-pki:ssh.privateKeyPath: cannot read "/home/op/.ssh/kube-pki-prod" (ENOENT)',
        );
    });
});
