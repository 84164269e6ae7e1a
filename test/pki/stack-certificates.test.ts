/**
 * Certificates declared in the stack (kube-pki:certificates) through the whole program under the
 * echo mocks: exact subjects and SANs per node, the files in each node's bundle, the restart of
 * a consumer outside the catalogue (kube-proxy via systemd) after the catalogue's components, and
 * a user's kubeconfig only as a secret stack output, pushed nowhere.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseBundle } from "../../src/node/bundle-format";
import { kubePki } from "../../src/program";
import type { StackCertificateSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { createEchoMocks } from "../harness/mocks/echo-mocks";
import type { RunResult } from "../harness/mocks/records";
import { runProgram } from "../harness/mocks/run-program";

const CLIENT = ["digital_signature", "key_encipherment", "client_auth"] as StackCertificateSpec["usages"];
const NODES = ["master-1", "master-2", "master-3", "worker-1", "worker-2"];
export const STACK_ENTRIES: StackCertificateSpec[] = [
    { id: "kube-proxy", signer: "ca", commonName: "system:kube-proxy", organizations: ["system:node-proxier"], usages: CLIENT, sans: [],
      nodes: NODES, target: { kind: "files", cert: "/etc/kubernetes/ssl/kube-proxy.pem", key: "/etc/kubernetes/ssl/kube-proxy-key.pem" },
      output: false, consumers: [{ name: "kube-proxy", restart: { restart: "systemd", unit: "kube-proxy" } }] },
    { id: "exporter", signer: "ca", commonName: "exporter-{node}", organizations: [], usages: ["digital_signature", "key_encipherment", "server_auth"],
      sans: ["{node}", "{address}", "metrics.example.com"], nodes: ["worker-1"],
      target: { kind: "files", cert: "/etc/exporter/tls.crt", key: "/etc/exporter/tls.key" }, output: false,
      consumers: [{ name: "node-exporter", restart: { restart: "docker", container: "exporter" }, port: 9100 }] },
    { id: "alice", signer: "ca", commonName: "alice", organizations: ["devs"], usages: CLIENT, sans: [], nodes: [],
      target: { kind: "kubeconfig", server: "endpoint" }, output: true, consumers: [] },
];

const CSR = "tls:index/certRequest:CertRequest";
const noDrift = async () => ({ reasons: {}, repairs: {}, report: "" });
const run = (preview = false): Promise<RunResult> =>
    runProgram(() => kubePki({ spec: haCluster("1.30.4", 2, { certificates: STACK_ENTRIES }), inspect: noDrift }),
        { mocks: createEchoMocks(), preview, stack: "prod" });

describe("stack-declared certificates in the program (3 masters + 2 workers)", () => {
    let res: RunResult;
    beforeAll(async () => { res = await run(); });
    const bundle = (node: string) => parseBundle(res.get(`prod-rollout-${node}-install`).inputs.stdin as string);

    it("issues a shared certificate once and a templated one per node, with exact subjects and SANs", () => {
        const proxy = res.get("prod-stack-kube-proxy-csr", CSR).inputs;
        expect(proxy.subject).toEqual({ commonName: "system:kube-proxy", organization: "system:node-proxier" });
        expect(proxy.dnsNames ?? []).toEqual([]);
        expect(res.resources.filter((r) => r.type === CSR && r.name.includes("kube-proxy")).map((r) => r.name)).toEqual(["prod-stack-kube-proxy-csr"]);
        const exporter = res.get("prod-worker-1-stack-exporter-csr", CSR).inputs;
        expect(exporter.subject).toEqual({ commonName: "exporter-worker-1" });
        expect(exporter.dnsNames).toEqual(["worker-1", "metrics.example.com"]);
        expect(exporter.ipAddresses).toEqual(["10.0.1.1"]);
        expect(res.resources.filter((r) => r.type === CSR && r.name.includes("exporter")).map((r) => r.name)).toEqual(["prod-worker-1-stack-exporter-csr"]);
        const alice = res.get("prod-stack-alice-csr", CSR).inputs;
        expect(alice.subject).toEqual({ commonName: "alice", organization: "devs" });
    });

    it("puts the files in the bundles of their nodes, checked against the cluster CA", () => {
        for (const node of NODES) {
            const b = bundle(node);
            const files = b.files.filter((f) => f.path.startsWith("/etc/kubernetes/ssl/") || f.path.startsWith("/etc/exporter/"));
            const want = [["/etc/kubernetes/ssl/kube-proxy.pem", "0644"], ["/etc/kubernetes/ssl/kube-proxy-key.pem", "0600"],
                ...(node === "worker-1" ? [["/etc/exporter/tls.crt", "0644"], ["/etc/exporter/tls.key", "0600"]] : [])];
            expect(files.map((f) => [f.path, f.mode]), node).toEqual(want);
            expect(b.checks, node).toContainEqual(expect.objectContaining({
                cert: "/etc/kubernetes/ssl/kube-proxy.pem", key: "/etc/kubernetes/ssl/kube-proxy-key.pem", ca: "/etc/kubernetes/pki/ca.crt", purpose: "sslclient",
            }));
        }
        expect(bundle("worker-1").checks).toContainEqual(expect.objectContaining({
            cert: "/etc/exporter/tls.crt", sans: ["DNS:worker-1", "DNS:metrics.example.com", "IP:10.0.1.1"], purpose: "sslserver",
        }));
    });

    it("restarts kube-proxy with systemctl after the node's catalogue components, triggered by its files only", () => {
        for (const node of NODES) {
            const cmd = res.get(`prod-rollout-${node}-kube-proxy`);
            expect(cmd.inputs.create, node).toContain("restart-consumer");
            expect(cmd.inputs.create, node).toContain("'kube-proxy' 'systemd' 'kube-proxy'");
            expect(cmd.inputs.update).toBe('echo "kube-proxy: settings changed, not restarted"');
            expect(Object.keys((cmd.inputs.triggers as Record<string, string>[])[0]).sort()).toEqual(["/etc/kubernetes/ssl/kube-proxy-key.pem", "/etc/kubernetes/ssl/kube-proxy.pem"]);
            expect(cmd.dependencies, node).toContain(res.get(`prod-rollout-${node}-kubelet`).urn);
        }
        const exporter = res.get("prod-rollout-worker-1-node-exporter");
        expect(exporter.inputs.create).toContain("'node-exporter' 'docker' 'exporter'");
        expect(exporter.inputs.create).toContain("'--endpoint' '127.0.0.1:9100' '--cert' '/etc/exporter/tls.crt'");
        expect(exporter.dependencies).toContain(res.get("prod-rollout-worker-1-kube-proxy").urn);
        expect(res.resources.some((r) => r.name === "prod-rollout-worker-2-node-exporter")).toBe(false);
    });

    it("keeps the user's kubeconfig as a secret stack output and pushes it nowhere", () => {
        const out = res.outputs.kubeconfigs;
        expect(out.secret).toBe(true);
        expect(Object.keys(out.value)).toEqual(["alice"]);
        expect(out.value.alice).toContain("name: alice");
        expect(out.value.alice).toContain("server: https://k8s-api.prod.example.com:6443");
        for (const node of NODES) {
            for (const f of bundle(node).files) expect(f.content, `${node} ${f.path}`).not.toContain("alice");
        }
        expect(res.resources.filter((r) => r.type === "command:remote:Command" && r.name.includes("alice"))).toEqual([]);
    });

    it("declares no kubeconfigs output for stacks without user kubeconfigs", async () => {
        const plain = await runProgram(() => kubePki({ spec: haCluster("1.30.4", 1), inspect: noDrift }), { mocks: createEchoMocks(), stack: "prod" });
        expect(plain.outputs.kubeconfigs).toBeUndefined();
    });
});
