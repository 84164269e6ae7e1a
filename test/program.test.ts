/**
 * The resource graph of the whole program under the mock runtime (echo mocks: no crypto, no
 * I/O): what is created per node, subjects and validities, secrecy, ordering.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { NodeInventory } from "../src/drift/inventory";
import { currentKit } from "../src/node/kit";
import { kubePki, type CertificateRow } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import { createAdoptingEchoMocks, createEchoMocks, FAKE_KEY_MARK } from "./harness/mocks/echo-mocks";
import type { ResourceRecord, RunResult } from "./harness/mocks/records";
import { runProgram } from "./harness/mocks/run-program";
import { haCluster } from "./fixtures/cluster";
import { findLeaks, keyLeakNeedles, runHaystacks, runKeyPems, runPublicTexts } from "./harness/leaks";
import { buildInventories } from "./drift/inventory-builder";

const noDrift = async () => ({ reasons: {}, repairs: {}, report: "" });


function run(spec: ClusterSpec, preview = false): Promise<RunResult> {
    return runProgram(() => kubePki({ spec, inspect: noDrift }), { mocks: createAdoptingEchoMocks(), preview, stack: "prod" });
}

const COMMAND = "command:remote:Command";
const LSC = "tls:index/locallySignedCert:LocallySignedCert";
const SSC = "tls:index/selfSignedCert:SelfSignedCert";
const CSR = "tls:index/certRequest:CertRequest";

function csrFor(res: RunResult, name: string): ResourceRecord {
    return res.get(`${name}-csr`, CSR);
}

describe("program resource graph (3 masters + 2 workers, 1.30)", () => {
    let res: RunResult;
    beforeAll(async () => { res = await run(haCluster("1.30.4")); });

    it("generates three CAs with explicit 10-year validity and CA usages", () => {
        const cas = res.ofType(SSC);
        expect(cas.map((c) => c.inputs.subject.commonName).sort()).toEqual(["etcd-ca", "front-proxy-ca", "kubernetes"]);
        for (const ca of cas) {
            expect(ca.inputs.validityPeriodHours).toBe(10 * 365 * 24);
            expect(ca.inputs.isCaCertificate).toBe(true);
            expect(ca.inputs.allowedUses).toEqual(["cert_signing", "digital_signature", "key_encipherment"]);
        }
    });

    it("issues per-master apiserver and etcd certs with that master's SANs", () => {
        const apiserver = csrFor(res, "prod-master-2-apiserver");
        expect(apiserver.inputs.subject).toEqual({ commonName: "kube-apiserver" });
        expect(apiserver.inputs.ipAddresses).toEqual(["10.96.0.1", "10.0.0.12", "10.0.0.100"]);
        expect(apiserver.inputs.dnsNames).toContain("k8s-api.prod.example.com");
        expect(csrFor(res, "prod-master-3-etcd-peer").inputs.subject).toEqual({ commonName: "master-3" });
        expect(csrFor(res, "prod-worker-1-kubelet.conf").inputs.subject).toEqual({ commonName: "system:node:worker-1", organization: "system:nodes" });
        // Workers get no apiserver/etcd certs.
        expect(res.resources.filter((r) => r.name.startsWith("prod-worker-1-") && r.type === LSC).map((r) => r.name)).toEqual(["prod-worker-1-kubelet.conf-cert"]);
    });

    it("signs leaves for 365 days, renews 30 days early, never past the CA", () => {
        const caHours = 10 * 365 * 24;
        for (const leaf of res.ofType(LSC)) {
            expect(leaf.inputs.validityPeriodHours).toBe(365 * 24);
            expect(leaf.inputs.validityPeriodHours).toBeLessThan(caHours);
            expect(leaf.inputs.earlyRenewalHours).toBe(30 * 24);
        }
    });

    it("keeps every private key and the admin kubeconfig secret, and no key text anywhere else", () => {
        for (const key of res.ofType("tls:index/privateKey:PrivateKey")) {
            expect(key.secretOutputs).toEqual(expect.arrayContaining(["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]));
        }
        expect(res.outputs.adminKubeconfig.secret).toBe(true);
        for (const r of res.resources) {
            for (const [k, v] of Object.entries(r.inputs)) {
                if (!r.secretInputs.includes(k)) expect(JSON.stringify(v), `${r.name}.${k}`).not.toContain(FAKE_KEY_MARK);
            }
            for (const [k, v] of Object.entries(r.outputs)) {
                if (!r.secretOutputs.includes(k) && !r.secretInputs.includes(k)) {
                    expect(JSON.stringify(v), `${r.name} output ${k}`).not.toContain(FAKE_KEY_MARK);
                }
            }
        }
        for (const [name, out] of Object.entries(res.outputs)) {
            if (!out.secret) expect(JSON.stringify(out.value), name).not.toContain(FAKE_KEY_MARK);
        }
        // Every encoding too: base64 (kubeconfig *-data, bundle lines) and DER, in anything not secret.
        expect(findLeaks(keyLeakNeedles(runKeyPems(res), { publicTexts: runPublicTexts(res) }), runHaystacks(res))).toEqual([]);
        for (const cmd of res.ofType(COMMAND)) {
            expect(cmd.secretInputs).toContain("connection");
            if ("stdin" in cmd.inputs) expect(cmd.secretInputs).toContain("stdin");
            expect(cmd.inputs.addPreviousOutputInEnv).toBe(false);
            expect(cmd.inputs.delete).toBeUndefined();
        }
    });

    it("restarts components in order on each node, masters one at a time, then workers", () => {
        const cmd = (name: string) => res.get(name, COMMAND);
        const m1 = ["install", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]
            .map((c) => cmd(`prod-rollout-master-1-${c}`));
        for (let i = 1; i < m1.length; i++) expect(m1[i].dependencies).toContain(m1[i - 1].urn);
        expect(cmd("prod-rollout-master-2-install").dependencies).toContain(m1[m1.length - 1].urn);
        const lastMaster = cmd("prod-rollout-master-3-kubelet");
        expect(cmd("prod-rollout-worker-1-install").dependencies).toContain(lastMaster.urn);
        expect(cmd("prod-rollout-worker-2-install").dependencies).toContain(lastMaster.urn);
        // Same batch (size 2): the two workers do not wait for each other.
        expect(cmd("prod-rollout-worker-2-install").dependencies).not.toContain(cmd("prod-rollout-worker-1-install").urn);
        expect(res.resources.filter((r) => r.name.startsWith("prod-rollout-worker-1-")).map((r) => r.name).sort())
            .toEqual(["prod-rollout-worker-1-install", "prod-rollout-worker-1-kubelet"]);
    });

    it("ships the kit once per node; every node command is one short line calling it, after its activation", () => {
        const kit = currentKit();
        for (const node of ["master-1", "master-2", "master-3", "worker-1", "worker-2"]) {
            const copy = res.get(`prod-kit-${node}`, "command:remote:CopyToRemote");
            expect(copy.inputs.remotePath).toBe("/var/lib/kube-pki/kit/.incoming");
            expect(copy.inputs.triggers).toEqual([kit.id]);
            expect(copy.secretInputs).toContain("connection");
            const activate = res.get(`prod-kit-${node}-activate`, COMMAND);
            expect(activate.dependencies).toContain(copy.urn);
            expect(activate.inputs.triggers).toEqual([kit.id]);
            for (const cmd of res.ofType(COMMAND).filter((c) => c.name.startsWith(`prod-rollout-${node}-`))) {
                expect(cmd.dependencies, cmd.name).toContain(activate.urn);
            }
        }
        for (const cmd of res.ofType(COMMAND)) {
            for (const field of ["create", "update"] as const) {
                const text = cmd.inputs[field];
                if (text === undefined) continue;
                expect(text.length, `${cmd.name}.${field}`).toBeLessThanOrEqual(2048);
                expect(text, `${cmd.name}.${field}`).not.toContain("@kube-pki-lib");
                expect(text, `${cmd.name}.${field}`).not.toContain("restore_backup()");
            }
            if (/-(install|etcd|kube-apiserver|kubelet)$/.test(cmd.name)) {
                expect(cmd.inputs.create, cmd.name).toContain(`k='/var/lib/kube-pki/kit/${kit.id}'`);
                expect(cmd.inputs.create, cmd.name).toContain(`missing or altered on ${cmd.name.match(/prod-rollout-(.*?)-(install|etcd|kube-apiserver|kubelet)$/)![1]}`);
            }
        }
    });

    it("exports per node and file the action, its reason and, after up, the expiry from state", () => {
        const certs = res.outputs.certificates.value;
        expect(Object.keys(certs).sort()).toEqual(["master-1", "master-2", "master-3", "worker-1", "worker-2"]);
        expect(certs["master-2"]["apiserver.crt"]).toEqual({
            action: "reissue", reason: "not inspected (no inventory read): assumed not on node yet",
            expires: expect.stringMatching(/^2026-01-01T00:00:00/),
        });
        expect(Object.keys(certs["worker-1"]).sort()).toEqual(["ca.crt", "kubelet.conf"]);
    });
});

describe("adoption", () => {
    let res: RunResult;
    beforeAll(async () => {
        res = await run(haCluster("1.30.4", 0, {
            authorities: { ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: "master-2", keyAlgorithm: "RSA-2048" },
        }));
    });

    it("creates no new CA or sa key, and reads each once from the adoptFrom master as a secret", () => {
        expect(res.ofType(SSC)).toEqual([]);
        expect(res.ofType("tls:index/privateKey:PrivateKey").filter((k) => /-(ca|sa)-key$/.test(k.name))).toEqual([]);
        const reads = res.ofType(COMMAND).filter((c) => c.name.endsWith("-adopt"));
        expect(reads.map((r) => r.name).sort()).toEqual(["prod-ca-adopt", "prod-etcd-ca-adopt", "prod-front-proxy-ca-adopt", "prod-sa-adopt"]);
        const activation = res.get("prod-kit-master-2-activate", COMMAND);
        for (const r of reads) {
            expect(r.inputs.connection.host).toBe("10.0.0.12");
            expect(r.inputs.create).toContain(`/bin/sh "$k/read-adopted.sh"`);
            expect(r.dependencies).toContain(activation.urn);
            expect(r.inputs.logging).toBe("none");
            expect(r.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
            expect(r.ignoreChanges).toEqual(expect.arrayContaining(["create", "connection"]));
        }
    });
});

describe("versions and etcd modes", () => {
    it("has no super-admin.conf at 1.28 and no etcd PKI with external etcd", async () => {
        const res = await run(haCluster("1.28.9", 0, { etcd: { mode: "external", serverCertSans: [], peerCertSans: [] } }));
        const names = res.resources.map((r) => r.name);
        expect(names.some((n) => n.includes("super-admin"))).toBe(false);
        expect(names.some((n) => n.includes("etcd-ca") || n.includes("etcd-server"))).toBe(false);
        expect(res.resources.some((r) => r.name === "prod-rollout-master-1-etcd")).toBe(false);
    });
});

describe("drift repair", () => {
    it("adds repair commands only for drifted nodes, one per step, each within the kernel's argument limit", async () => {
        const spec = haCluster("1.30.4", 1);
        const res = await runProgram(() => kubePki({
            spec,
            inspect: async () => ({ reasons: {}, repairs: { "master-2": { components: ["etcd", "kube-apiserver"], signature: "abc" } }, report: "" }),
        }), { mocks: createAdoptingEchoMocks(), stack: "prod" });
        const repairs = res.ofType(COMMAND).filter((c) => c.name.includes("-repair"));
        expect(repairs.map((r) => r.name)).toEqual([
            "prod-rollout-master-2-repair", "prod-rollout-master-2-repair-etcd", "prod-rollout-master-2-repair-kube-apiserver",
        ]);
        expect(repairs[0].secretInputs).toContain("stdin");
        expect(repairs[1].dependencies).toContain(repairs[0].urn);
        expect(repairs[0].dependencies).toContain(res.get("prod-rollout-master-2-kubelet", COMMAND).urn);
        for (const r of repairs) expect(r.inputs.triggers).toEqual(["abc"]);
        for (const c of res.ofType(COMMAND)) expect(String(c.inputs.create).length).toBeLessThan(128 * 1024);
    });
});

describe("one catalogue, two derivations", () => {
    it("drift's wantedFromSpec lists exactly the files, paths and expected subjects ClusterPki declares", async () => {
        const { wantedFromSpec } = await import("../src/drift/wanted");
        const { ClusterPki } = await import("../src/pki/cluster-pki");
        for (const spec of [haCluster("1.30.4", 1), haCluster("1.28.9", 1, { etcd: { mode: "external", serverCertSans: [], peerCertSans: [] } })]) {
            let declared: Record<string, { key: string; path: string; expected?: unknown }[]> = {};
            await runProgram(() => {
                const pki = new ClusterPki(spec.name, { cluster: spec });
                declared = Object.fromEntries(Object.entries(pki.nodes).map(([n, p]) =>
                    [n, p.files.map((f) => ({ key: f.key, path: f.path, ...(f.expected ? { expected: f.expected } : {}) }))]));
                return {};
            }, { mocks: "echo" });
            const strip = (e: any) => e && { subject: e.subject, issuerCommonName: e.issuerCommonName, caPath: e.caPath };
            const fromSpec = wantedFromSpec(spec);
            expect(Object.keys(declared).sort()).toEqual(["master-1", "master-2", "master-3", "worker-1"]);
            expect(declared["master-1"].length).toBeGreaterThanOrEqual(16);
            for (const node of Object.keys(declared)) {
                expect(fromSpec[node].map((w) => [w.key, w.path, strip(w.expected)]).sort())
                    .toEqual(declared[node].map((w) => [w.key, w.path, strip(w.expected)]).sort());
            }
        }
    });
});

describe("certificates output in preview", () => {
    const now = new Date();
    const DAY = 86_400_000;

    async function previewWith(spec: ClusterSpec, inventories: NodeInventory[]) {
        const info = vi.spyOn(pulumi.log, "info");
        try {
            const res = await runProgram(() => kubePki({ spec, inspect: async () => ({ reasons: {}, repairs: {}, report: "", inventories }) }),
                { mocks: createAdoptingEchoMocks(), preview: true, stack: "prod" });
            const table = info.mock.calls.map((c) => String(c[0])).find((m) => m.startsWith("kube-pki certificates"));
            return { res, table };
        } finally {
            info.mockRestore();
        }
    }

    it("knows every value, and names a validity change with its values (365 d on the nodes, leafDays 730)", async () => {
        const onNodes = haCluster("1.30.4", 1, { keyAlgorithm: "ECDSA-P256" });
        const inventories = await buildInventories(onNodes, { issuedAt: new Date(now.getTime() - 100 * DAY), days: 365, keyAlgorithm: "ECDSA-P256", installed: true });
        const spec = { ...onNodes, validity: { ...onNodes.validity, leafDays: 730 } };
        const { res, table } = await previewWith(spec, inventories);
        expect(res.outputs.certificates.known).toBe(true);
        const certs = res.outputs.certificates.value;
        const rows = Object.values(certs).flatMap((files: any) => Object.values(files)) as CertificateRow[];
        expect(rows.length).toBe(3 * 15 + 2);
        for (const row of rows) {
            expect(["keep", "reissue"]).toContain(row.action);
            expect(row.expires).toMatch(/^\d{4}-\d\d-\d\dT/);
        }
        expect(certs["master-1"]["apiserver.crt"]).toMatchObject({ action: "reissue", reason: "validity 365 d → 730 d" });
        expect(Date.parse(certs["master-1"]["apiserver.crt"].expires) - now.getTime()).toBeGreaterThanOrEqual(730 * DAY - 60_000);
        expect(certs["worker-1"]["kubelet.conf"]).toMatchObject({ action: "reissue", reason: "validity 365 d → 730 d" });
        expect(certs["master-3"]["etcd/ca.crt"]).toMatchObject({ action: "keep", reason: expect.stringMatching(/^ok \(expires in 35(49|50) d\)$/) });
        // The same plan as a table in the diagnostics.
        expect(table).toMatch(/master-1\s+apiserver\.crt\s+reissue\s+\d{4}-\d\d-\d\d\s+validity 365 d → 730 d/);
        expect(table).toMatch(/\n37 reissue, 10 keep\n$/);
    });

    it("keeps everything when the nodes hold what the stack wants", async () => {
        const spec = haCluster("1.30.4", 1, { keyAlgorithm: "ECDSA-P256" });
        const inventories = await buildInventories(spec, { issuedAt: new Date(now.getTime() - 10 * DAY), days: 365, keyAlgorithm: "ECDSA-P256", installed: true });
        const { res } = await previewWith(spec, inventories);
        expect(res.outputs.certificates.known).toBe(true);
        const rows = Object.values(res.outputs.certificates.value).flatMap((files: any) => Object.values(files)) as CertificateRow[];
        expect(new Set(rows.map((r) => r.action))).toEqual(new Set(["keep"]));
    });
});
