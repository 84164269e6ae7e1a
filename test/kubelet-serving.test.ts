/**
 * kube-pki:kubelet.servingCertificate: "self-signed" (default) declares nothing for the kubelet's
 * serving pair; "managed" declares one CA-signed certificate per node (masters and workers) with
 * the kubelet's own CSR subject, installs it at /var/lib/kubelet/pki/kubelet.{crt,key}, restarts
 * the kubelet once per node on its fingerprints and verifies :10250. Echo mocks (no crypto) for
 * the resource graph; real certificates (tls provider semantics) for drift and preview rows.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { planFileActions } from "../src/drift/actions";
import { inventoryArgs, type NodeInventory } from "../src/drift/inventory";
import { compareNode } from "../src/drift/report";
import { wantedFromSpec } from "../src/drift/wanted";
import { repairFor, wantedWithInstalled } from "../src/findings";
import { catalogFor, consumersOf, entryAppliesTo, resolveLeaf, type LeafEntry } from "../src/pki/catalog";
import { pemSha256 } from "../src/pki/kubelet-client";
import { filePath, KUBEADM_LAYOUT } from "../src/pki/layout";
import { kubePki } from "../src/program";
import { rotateArgs, verifyArgs } from "../src/rollout/plan";
import type { ClusterSpec } from "../src/spec";
import { buildInventories, daysAgo } from "./drift/inventory-builder";
import { haCluster } from "./fixtures/cluster";
import { createEchoMocks } from "./harness/mocks/echo-mocks";
import type { ResourceRecord, RunResult } from "./harness/mocks/records";
import { runProgram } from "./harness/mocks/run-program";

const COMMAND = "command:remote:Command";
const CSR = "tls:index/certRequest:CertRequest";
const LSC = "tls:index/locallySignedCert:LocallySignedCert";
const NODES = ["master-1", "master-2", "master-3", "worker-1", "worker-2"];
const ADDRESS: Record<string, string> = {
    "master-1": "10.0.0.11", "master-2": "10.0.0.12", "master-3": "10.0.0.13", "worker-1": "10.0.1.1", "worker-2": "10.0.1.2",
};

const selfSigned = (): ClusterSpec => haCluster("1.30.4");
const managed = (): ClusterSpec => {
    const spec = haCluster("1.30.4");
    return { ...spec, kubelet: { ...spec.kubelet, servingCertificate: "managed" } };
};

// Generated CAs only: the adopt readings need a node; the serving leaf does not depend on them.
function run(spec: ClusterSpec): Promise<RunResult> {
    return runProgram(() => kubePki({ spec, inspect: async () => ({ reasons: {}, repairs: {}, report: "" }) }),
        { mocks: createEchoMocks(), stack: "prod" });
}

/** The bundle line of a file: "F <mode> <owner> <path> <sha256> <base64>". */
function bundleLine(install: ResourceRecord, path: string): string[] | undefined {
    return String(install.inputs.stdin).split("\n").find((l) => l.split(" ")[3] === path)?.split(" ");
}

describe("catalogue", () => {
    it("has the kubelet-server leaf only in managed mode, for masters and workers, read by the kubelet alone", () => {
        expect(catalogFor(selfSigned()).map((e) => e.id)).not.toContain("kubelet-server");
        const leaf = catalogFor(managed()).find((e) => e.id === "kubelet-server") as LeafEntry;
        expect(leaf).toMatchObject({ kind: "leaf", signer: "ca", certFile: "kubelet.crt", keyFile: "kubelet.key",
            usages: ["digital_signature", "key_encipherment", "server_auth"] });
        expect(entryAppliesTo(leaf, "master")).toBe(true);
        expect(entryAppliesTo(leaf, "worker")).toBe(true);
        expect(consumersOf("kubelet.crt")).toEqual(["kubelet"]);
        expect(consumersOf("kubelet.key")).toEqual(["kubelet"]);
        expect(filePath(KUBEADM_LAYOUT, "kubelet.crt")).toBe("/var/lib/kubelet/pki/kubelet.crt");
        // A custom kubernetesDir does not move the kubelet's cert dir; a path override does.
        expect(filePath({ ...KUBEADM_LAYOUT, kubernetesDir: "/opt/k8s" }, "kubelet.key")).toBe("/var/lib/kubelet/pki/kubelet.key");
        expect(filePath({ ...KUBEADM_LAYOUT, kind: "custom", paths: { "kubelet.crt": "/etc/kubelet/tls.crt" } }, "kubelet.crt")).toBe("/etc/kubelet/tls.crt");
        const worker = managed().nodes.find((n) => n.name === "worker-2")!;
        expect(resolveLeaf(leaf, managed(), worker)).toEqual({
            commonName: "system:node:worker-2", organizations: ["system:nodes"], dnsNames: ["worker-2"], ipAddresses: ["10.0.1.2"],
        });
    });

    it("checks the kubelet on :10250 against kubelet.crt only in managed mode", () => {
        const worker = managed().nodes.find((n) => n.name === "worker-1")!;
        expect(rotateArgs("kubelet", worker, selfSigned())).toEqual(["kubelet", "static-pod", "-", "-", "--timeout", "120"]);
        expect(verifyArgs("kubelet", worker, selfSigned(), 10)).toBeUndefined();
        expect(rotateArgs("kubelet", worker, managed()))
            .toEqual(["kubelet", "static-pod", "10.0.1.1:10250", "/var/lib/kubelet/pki/kubelet.crt", "--timeout", "120"]);
        expect(verifyArgs("kubelet", worker, managed(), 10)).toEqual(["kubelet", "10.0.1.1:10250", "/var/lib/kubelet/pki/kubelet.crt", "--timeout", "10"]);
    });
});

describe("resource graph (echo mocks, 3 masters + 2 workers)", () => {
    let plain: RunResult;
    let withServing: RunResult;
    beforeAll(async () => {
        plain = await run(selfSigned());
        withServing = await run(managed());
    });

    it("self-signed declares no serving certificate and ships no kubelet.crt/.key", () => {
        expect(plain.resources.filter((r) => r.name.includes("kubelet-server"))).toEqual([]);
        for (const node of NODES) {
            const install = plain.get(`prod-rollout-${node}-install`, COMMAND);
            expect(String(install.inputs.stdin)).not.toContain("/var/lib/kubelet/pki/kubelet.");
            expect(Object.keys(plain.get(`prod-rollout-${node}-kubelet`, COMMAND).inputs.triggers[0])).not.toContain("/var/lib/kubelet/pki/kubelet.crt");
        }
    });

    it("managed declares one certificate per node with the kubelet's subject, the node's SANs and server auth", () => {
        expect(withServing.ofType(CSR).filter((r) => r.name.includes("kubelet-server")).map((r) => r.name).sort())
            .toEqual(NODES.map((n) => `prod-${n}-kubelet-server-csr`).sort());
        for (const node of NODES) {
            const csr = withServing.get(`prod-${node}-kubelet-server-csr`, CSR);
            expect(csr.inputs.subject).toEqual({ commonName: `system:node:${node}`, organization: "system:nodes" });
            expect(csr.inputs.dnsNames).toEqual([node]);
            expect(csr.inputs.ipAddresses).toEqual([ADDRESS[node]]);
            const cert = withServing.get(`prod-${node}-kubelet-server-cert`, LSC);
            expect(cert.inputs.allowedUses).toEqual(["digital_signature", "key_encipherment", "server_auth"]);
            expect(cert.inputs.validityPeriodHours).toBe(365 * 24);
            // Signed by the cluster CA.
            expect(cert.inputs.caCertPem).toBe(withServing.get("prod-ca-cert").outputs.certPem);
        }
    });

    it("managed installs the pair at the kubelet's default paths (key 0600), checked as a server cert of the cluster CA", () => {
        for (const node of NODES) {
            const install = withServing.get(`prod-rollout-${node}-install`, COMMAND);
            expect(bundleLine(install, "/var/lib/kubelet/pki/kubelet.crt")?.[1]).toBe("0644");
            expect(bundleLine(install, "/var/lib/kubelet/pki/kubelet.key")?.[1]).toBe("0600");
            const check = String(install.inputs.stdin).split("\n").find((l) => l.includes("cert=/var/lib/kubelet/pki/kubelet.crt"));
            expect(check).toContain("key=/var/lib/kubelet/pki/kubelet.key");
            expect(check).toContain("ca=/etc/kubernetes/pki/ca.crt");
            expect(check).toContain(`DNS:${node}`);
            expect(check).toContain(`IP:${ADDRESS[node]}`);
            expect(check).toContain("sslserver");
            expect(install.secretInputs).toContain("stdin");
        }
    });

    it("managed restarts the kubelet once per node, last, keyed on its files, and verifies :10250", () => {
        for (const node of NODES) {
            const kubelet = withServing.get(`prod-rollout-${node}-kubelet`, COMMAND);
            expect(Object.keys(kubelet.inputs.triggers[0]).sort()).toEqual([
                "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/pki/kubelet.crt", "/var/lib/kubelet/pki/kubelet.key",
            ]);
            expect(kubelet.inputs.create).toContain(`'kubelet' 'static-pod' '${ADDRESS[node]}:10250' '/var/lib/kubelet/pki/kubelet.crt'`);
            // A settings-only change checks what :10250 serves without a restart.
            expect(kubelet.inputs.update).toContain(`'${ADDRESS[node]}:10250'`);
            expect(withServing.resources.filter((r) => r.name === `prod-rollout-${node}-kubelet`)).toHaveLength(1);
        }
        expect(withServing.get("prod-rollout-master-1-kubelet", COMMAND).dependencies)
            .toContain(withServing.get("prod-rollout-master-1-kube-scheduler", COMMAND).urn);
    });

    it("changes nothing else: every other resource has the same inputs in both modes", () => {
        const touched = (r: ResourceRecord) => r.name.includes("kubelet-server") || /^prod-rollout-.*-(install|kubelet)$/.test(r.name);
        const inputs = (res: RunResult) => new Map(res.resources.filter((r) => !touched(r)).map((r) => [r.urn, JSON.stringify(r.inputs)]));
        expect(inputs(withServing)).toEqual(inputs(plain));
        expect(withServing.resources.filter((r) => !plain.byUrn.has(r.urn)).every((r) => r.name.includes("kubelet-server"))).toBe(true);
    });
});

describe("drift and preview rows", () => {
    const now = new Date("2025-06-01T00:00:00Z");
    const shape = { issuedAt: daysAgo(now, 100), days: 365, keyAlgorithm: "ECDSA-P256" as const, installed: true };
    const spec = () => ({ ...managed(), keyAlgorithm: "ECDSA-P256" as const });

    it("wants kubelet.crt/.key on every node only in managed mode, with the kubelet's subject from the cluster CA", () => {
        expect(wantedFromSpec(selfSigned())["worker-1"].map((w) => w.key)).not.toContain("kubelet.crt");
        const worker = wantedFromSpec(managed())["worker-1"];
        expect(worker.map((w) => w.key)).toEqual(["ca.crt", "kubelet.crt", "kubelet.key", "kubelet.conf"]);
        expect(worker.find((w) => w.key === "kubelet.crt")!.expected).toEqual({
            subject: { commonName: "system:node:worker-1", organizations: ["system:nodes"], dnsNames: ["worker-1"], ipAddresses: ["10.0.1.1"] },
            issuerCommonName: "kubernetes", caPath: "/etc/kubernetes/pki/ca.crt",
        });
    });

    it("reads kubelet.crt/.key and :10250 only in managed mode (self-signed: the kubelet's own files are not read)", () => {
        const worker = managed().nodes.find((n) => n.name === "worker-1")!;
        const plainArgs = inventoryArgs(worker, KUBEADM_LAYOUT, true);
        expect(plainArgs.join(" ")).not.toContain("/var/lib/kubelet/pki/kubelet.");
        expect(plainArgs).not.toContain("--served");
        const args = inventoryArgs(worker, KUBEADM_LAYOUT, true, undefined, true).join(" ");
        expect(args).toContain("--file /var/lib/kubelet/pki/kubelet.crt --file /var/lib/kubelet/pki/kubelet.key");
        expect(args).toContain("--pair /var/lib/kubelet/pki/kubelet.crt /var/lib/kubelet/pki/kubelet.key");
        expect(args).toContain("--served kubelet 10.0.1.1 10250 - -");
        expect(inventoryArgs(worker, KUBEADM_LAYOUT, false, undefined, true)).not.toContain("--served");
    });

    it("preview rows: kubelet.crt per node, kept while healthy, reissued inside renew-before", async () => {
        const inv = await buildInventories(spec(), shape, { "worker-2": { files: { "kubelet.crt": { issuedAt: daysAgo(now, 340) } } } });
        const plan = planFileActions(spec(), inv, { now });
        for (const node of NODES.filter((n) => n !== "worker-2")) {
            expect(plan[node]["kubelet.crt"]).toMatchObject({ action: "keep", reason: "ok (expires in 265 d)" });
        }
        expect(plan["worker-2"]["kubelet.crt"]).toMatchObject({ action: "reissue", reason: "expires in 25 d, inside renew-before 30 d" });
        expect(Object.keys(planFileActions(selfSigned(), undefined, { now })["worker-1"])).not.toContain("kubelet.crt");
    });

    it("a kubelet.crt signed by another CA, or :10250 serving something else, repairs the kubelet", async () => {
        const [foreign] = await buildInventories(spec(), shape, { "worker-1": { files: { "kubelet.crt": { foreign: true } } } })
            .then((all) => all.filter((i) => i.node === "worker-1"));
        const wanted = wantedFromSpec(spec())["worker-1"];
        const result = compareNode(wantedWithInstalled(wanted, foreign), foreign, { now, renewBeforeDays: 30 });
        expect(result.files.find((f) => f.key === "kubelet.crt")).toMatchObject({ reason: "spec-changed", managed: true });
        expect(result.files.find((f) => f.key === "kubelet.crt")!.detail).toContain("issuer CN someone-else ≠ kubernetes");
        expect(repairFor(result)?.components).toEqual(["kubelet"]);

        const [healthy] = (await buildInventories(spec(), shape)).filter((i) => i.node === "worker-1");
        const disk = healthy.files.find((f) => f.key === "kubelet.crt")!;
        const other = healthy.files.find((f) => f.key === "ca.crt")!.cert!;
        const stale: NodeInventory = { ...healthy, served: [{ component: "kubelet", host: "10.0.1.1", port: 10250, diskPath: disk.path, cert: other }] };
        const served = compareNode(wantedWithInstalled(wanted, stale), stale, { now, renewBeforeDays: 30 });
        expect(served.files.find((f) => f.key === "kubelet.crt")).toMatchObject({ reason: "served-mismatch" });
        expect(repairFor(served)?.components).toEqual(["kubelet"]);
        const fine: NodeInventory = { ...healthy, served: [{ ...stale.served[0], cert: disk.cert }] };
        expect(repairFor(compareNode(wantedWithInstalled(wanted, fine), fine, { now, renewBeforeDays: 30 }))).toBeUndefined();
    });
});

describe("with kubelet.clientCertificate rotate", () => {
    const DAY = 86_400_000;
    /** Nodes whose rotating kubelets already trust the stack's CA and endpoint (the case where rotate mode skips the restart). */
    function trustingInventories(spec: ClusterSpec, caPem: string): NodeInventory[] {
        const now = Date.now();
        const ca = {
            subjectCN: "kubernetes", subjectO: [], issuerCN: "kubernetes", issuerO: [], dnsNames: [], ipAddresses: [], sha256: pemSha256(caPem),
            notBefore: new Date(now - DAY), notAfter: new Date(now + 3000 * DAY), serialNumber: "1", isCa: true, selfSigned: true,
            signedBy: "/etc/kubernetes/pki/ca.crt", pem: caPem,
        };
        const server = `https://${spec.controlPlaneEndpoint.host}:${spec.controlPlaneEndpoint.port}`;
        const pem = "/var/lib/kubelet/pki/kubelet-client-2026-01-01-00-00-00.pem";
        return spec.nodes.map((n) => ({
            node: n.name, role: n.role, reachable: true, served: [], kubeletConfig: { present: true, rotateCertificates: true },
            files: [
                { key: "ca.crt", path: "/etc/kubernetes/pki/ca.crt", kind: "certificate", exists: true, cert: ca },
                { key: "kubelet.conf", path: "/etc/kubernetes/kubelet.conf", kind: "kubeconfig", exists: true, kubeconfig: { server, ca } },
                { key: "kubelet-client-current", path: pem, kind: "kubelet-pem", exists: true, linkTarget: pem, keyMatches: true,
                  cert: { ...ca, subjectCN: `system:node:${n.name}`, subjectO: ["system:nodes"], isCa: false, selfSigned: false,
                          sha256: "cd".repeat(32), notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 335 * DAY) } },
            ],
        }));
    }

    it("a managed serving pair always restarts and verifies the kubelet, even where rotate mode would skip the restart", async () => {
        const rotating = (serving: "self-signed" | "managed"): ClusterSpec => {
            const spec = haCluster("1.30.4", 1);
            return { ...spec, kubelet: { clientCertificate: "rotate", servingCertificate: serving } };
        };
        const caPem = String((await run(rotating("managed"))).get("prod-ca-cert").outputs.certPem);
        const kubeletCreate = async (serving: "self-signed" | "managed") => {
            const spec = rotating(serving);
            const inventories = trustingInventories(spec, caPem);
            const res = await runProgram(() => kubePki({ spec, inspect: async () => ({ reasons: {}, repairs: {}, report: "", inventories }) }),
                { mocks: createEchoMocks(), stack: "prod" });
            return String(res.get("prod-rollout-worker-1-kubelet", COMMAND).inputs.create);
        };
        // The control: self-signed, the trusting kubelet is not restarted (kubelet.conf changes only in form).
        expect(await kubeletCreate("self-signed")).toContain("not restarted");
        const managedCreate = await kubeletCreate("managed");
        expect(managedCreate).not.toContain("not restarted");
        expect(managedCreate).toContain("'kubelet' 'static-pod' '10.0.1.1:10250' '/var/lib/kubelet/pki/kubelet.crt'");
    });
});
