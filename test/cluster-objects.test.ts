/**
 * The cluster-side half of the PKI under the mock runtime (no apiserver runs here): every object
 * exactly, its options (retainOnDelete, the provider, clusterIdentifier), that each waits for the
 * first verified master, that the providers' kubeconfigs are secret, and when nothing is declared
 * (feature off, cluster down). The Patch resources' cluster-side behaviour (server-side apply,
 * relinquish on delete) is the provider's, pinned in test/harness/mocks/provider-contract.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiserverServes, clusterDownWarning, clusterTooOldWarning } from "../src/cluster-objects";
import { renderClusterInfoKubeconfig } from "../src/cluster-objects/cluster-info";
import type { NodeInventory } from "../src/drift/inventory";
import type { ClusterFindings } from "../src/findings";
import { kubePki } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import { haCluster } from "./fixtures/cluster";
import { createEchoMocks } from "./harness/mocks/echo-mocks";
import { TYPES } from "./harness/mocks/provider-contract";
import type { ResourceRecord, RunResult } from "./harness/mocks/records";
import { runProgram } from "./harness/mocks/run-program";
import { MockStateStore } from "./harness/mocks/state-store";
import { UNKNOWN } from "./harness/mocks/wire-values";

const K8S_TYPES: readonly string[] = [TYPES.k8sProvider, TYPES.configMapPatch, TYPES.rolePatch, TYPES.roleBindingPatch, TYPES.clusterRoleBindingPatch];
const PATCH_TYPES = K8S_TYPES.slice(1);
const RBAC = "rbac.authorization.k8s.io";

const findings = (apiserverServing: boolean | undefined) => async (): Promise<ClusterFindings> =>
    ({ reasons: {}, repairs: {}, report: "", apiserverServing });

async function run(spec: ClusterSpec, serving: boolean | undefined, store?: MockStateStore, preview = false): Promise<RunResult> {
    return runProgram(() => kubePki({ spec, inspect: findings(serving) }), { mocks: createEchoMocks({ store }), stack: "prod", preview });
}

const k8sRecords = (r: RunResult) => r.resources.filter((x) => K8S_TYPES.includes(x.type));
const patches = (r: RunResult) => r.resources.filter((x) => PATCH_TYPES.includes(x.type));
/** The object a Patch applies, as the API sees it: kind, name, namespace and its content. */
function applied(rec: ResourceRecord): Record<string, unknown> {
    const { apiVersion, kind, metadata, ...rest } = rec.inputs;
    return { apiVersion, kind, ...metadata, ...rest };
}
const byName = (r: RunResult) => Object.fromEntries(patches(r).map((p) => [`${p.inputs.kind}/${p.inputs.metadata.name}`, applied(p)]));

afterEach(() => vi.restoreAllMocks());

describe("the objects, exactly (1.30.4: kubeadm:cluster-admins, apiserver-kubelet-client still has an O)", () => {
    it("cluster-info, its Role and RoleBinding, the two approval bindings and kubeadm:cluster-admins", async () => {
        const r = await run(haCluster("1.30.4", 1), true);
        const ca = r.get("prod-ca-cert", "tls:index/selfSignedCert:SelfSignedCert").outputs.certPem as string;
        expect(ca).toBe("-----BEGIN CERTIFICATE-----\nFAKE-CERTIFICATE:prod-ca-cert\n-----END CERTIFICATE-----\n");
        expect(byName(r)).toEqual({
            "ConfigMap/cluster-info": {
                apiVersion: "v1", kind: "ConfigMap", name: "cluster-info", namespace: "kube-public",
                annotations: { "pulumi.com/patchForce": "true" },
                data: {
                    kubeconfig: "apiVersion: v1\nclusters:\n- cluster:\n" +
                        `    certificate-authority-data: ${Buffer.from(ca).toString("base64")}\n` +
                        "    server: https://k8s-api.prod.example.com:6443\n" +
                        "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n",
                },
            },
            "Role/kubeadm:bootstrap-signer-clusterinfo": {
                apiVersion: `${RBAC}/v1`, kind: "Role", name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public",
                rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cluster-info"], verbs: ["get"] }],
            },
            "RoleBinding/kubeadm:bootstrap-signer-clusterinfo": {
                apiVersion: `${RBAC}/v1`, kind: "RoleBinding", name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public",
                roleRef: { apiGroup: RBAC, kind: "Role", name: "kubeadm:bootstrap-signer-clusterinfo" },
                subjects: [{ apiGroup: RBAC, kind: "User", name: "system:anonymous" }],
            },
            "ClusterRoleBinding/kubeadm:node-autoapprove-bootstrap": {
                apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-bootstrap",
                roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient" },
                subjects: [{ apiGroup: RBAC, kind: "Group", name: "system:bootstrappers:kubeadm:default-node-token" }],
            },
            "ClusterRoleBinding/kubeadm:node-autoapprove-certificate-rotation": {
                apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-certificate-rotation",
                roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient" },
                subjects: [{ apiGroup: RBAC, kind: "Group", name: "system:nodes" }],
            },
            "ClusterRoleBinding/kubeadm:cluster-admins": {
                apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", name: "kubeadm:cluster-admins",
                roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "cluster-admin" },
                subjects: [{ apiGroup: RBAC, kind: "Group", name: "kubeadm:cluster-admins" }],
            },
        });
        // Outputs echo what was applied (the Patch resources' state is their inputs).
        for (const p of patches(r)) expect(p.outputs, p.name).toMatchObject(p.inputs);
    });

    it("kubeadm:apiserver-kubelet-client from the patch release that drops the certificate's O (1.34.8), not before", async () => {
        const names = (r: RunResult) => Object.keys(byName(r)).filter((n) => n.startsWith("ClusterRoleBinding/")).sort();
        expect(names(await run(haCluster("1.34.7", 1), true))).not.toContain("ClusterRoleBinding/kubeadm:apiserver-kubelet-client");
        const r = await run(haCluster("1.34.8", 1), true);
        expect(byName(r)["ClusterRoleBinding/kubeadm:apiserver-kubelet-client"]).toEqual({
            apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", name: "kubeadm:apiserver-kubelet-client",
            roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "system:kubelet-api-admin" },
            subjects: [{ apiGroup: RBAC, kind: "User", name: "kube-apiserver-kubelet-client" }],
        });
        // The certificate kube-pki issues at that version indeed has no O.
        const cert = r.ofType("tls:index/certRequest:CertRequest").find((c) => c.inputs.subject.commonName === "kube-apiserver-kubelet-client")!;
        expect(cert.inputs.subject.organizations ?? []).toEqual([]);
    });

    it("before 1.29 (admin.conf is system:masters): no kubeadm:cluster-admins and no super-admin provider", async () => {
        const r = await run(haCluster("1.28.9", 1), true);
        expect(Object.keys(byName(r))).not.toContain("ClusterRoleBinding/kubeadm:cluster-admins");
        expect(r.ofType(TYPES.k8sProvider).map((p) => p.name)).toEqual(["prod-cluster-objects-admin"]);
    });
});

describe("options", () => {
    it("every object is retainOnDelete, on its provider; admin.conf's own binding goes through super-admin.conf first", async () => {
        const r = await run(haCluster("1.30.4", 1), true);
        const admin = r.get("prod-cluster-objects-admin", TYPES.k8sProvider);
        const superAdmin = r.get("prod-cluster-objects-super-admin", TYPES.k8sProvider);
        const ref = (p: ResourceRecord) => `${p.urn}::${p.outputs.id ?? `${p.name}-id`}`;
        for (const p of patches(r)) {
            expect(p.retainOnDelete, p.name).toBe(true);
            const isOwn = p.inputs.metadata.name === "kubeadm:cluster-admins";
            expect(p.provider, p.name).toBe(ref(isOwn ? superAdmin : admin));
            if (!isOwn) expect(p.dependencies, p.name).toContain(r.get("prod-cluster-objects-clusterrolebinding-kubeadm:cluster-admins").urn);
        }
    });

    it("providers: fixed clusterIdentifier, secret kubeconfig (admin.conf / super-admin.conf), server-side apply", async () => {
        const r = await run(haCluster("1.30.4", 1), true);
        for (const [name, identity, cn] of [
            ["prod-cluster-objects-admin", "kube-pki/prod", "kubernetes-admin"],
            ["prod-cluster-objects-super-admin", "kube-pki/prod/super-admin", "kubernetes-super-admin"],
        ]) {
            const p = r.get(name, TYPES.k8sProvider);
            expect(p.inputs.clusterIdentifier).toBe(identity);
            expect(p.inputs.enableServerSideApply).toBe("true"); // provider inputs travel as strings
            expect(p.secretInputs).toContain("kubeconfig");
            expect(p.secretOutputs).toContain("kubeconfig");
            const kubeconfig = p.inputs.kubeconfig as string;
            expect(kubeconfig).toContain("server: https://k8s-api.prod.example.com:6443");
            expect(kubeconfig).toContain(`name: ${cn}`);
            expect(kubeconfig).toContain(Buffer.from(`-----BEGIN CERTIFICATE-----\nFAKE-CERTIFICATE:prod-${cn === "kubernetes-admin" ? "admin.conf" : "super-admin.conf"}-cert\n-----END CERTIFICATE-----\n`).toString("base64"));
        }
        // admin.conf: the very kubeconfig the stack outputs (secret) and master-1 holds.
        expect(r.get("prod-cluster-objects-admin", TYPES.k8sProvider).inputs.kubeconfig).toBe(r.outputs.adminKubeconfig.value);
        expect(r.outputs.adminKubeconfig.secret).toBe(true);
    });

    it("everything waits for the first master's install and every restart/verification of it", async () => {
        const r = await run(haCluster("1.30.4", 1), true);
        const master1 = r.resources.filter((x) => x.type === "command:remote:Command" && x.name.startsWith("prod-rollout-master-1-")).map((x) => x.urn).sort();
        expect(master1.map((u) => u.split("::").pop())).toEqual([
            "prod-rollout-master-1-etcd", "prod-rollout-master-1-install", "prod-rollout-master-1-kube-apiserver",
            "prod-rollout-master-1-kube-controller-manager", "prod-rollout-master-1-kube-scheduler", "prod-rollout-master-1-kubelet",
        ]);
        for (const rec of k8sRecords(r)) {
            for (const urn of master1) expect(rec.dependencies, `${rec.name} waits for ${urn}`).toContain(urn);
            expect(rec.dependencies.some((u) => u.includes("master-2")), rec.name).toBe(false);
        }
    });

    it("a reissued admin.conf updates the provider, replaces nothing and leaves every object as it is", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await run(spec, true, store);
        const reissue: ClusterSpec = { ...spec, validity: { ...spec.validity, leafDaysOverrides: { "admin.conf": 200 } } };
        const preview = await run(reissue, true, store, true);
        const ops = (report = store.lastRun) => Object.fromEntries(Object.entries(report.operations)
            .filter(([urn]) => K8S_TYPES.some((t) => urn.includes(`::${t}::`) || urn.includes(`$${t}::`)))
            .map(([urn, op]) => [urn.split("::").pop(), op]));
        expect(preview.get("prod-cluster-objects-admin", TYPES.k8sProvider).inputs.kubeconfig).toBe(UNKNOWN); // the reissued admin.conf is unknown in preview
        expect(ops()["prod-cluster-objects-admin"]).toBe("update");
        expect(Object.entries(ops()).filter(([n]) => n !== "prod-cluster-objects-admin").map(([, op]) => op)).toEqual(Array(7).fill("same"));
        await run(reissue, true, store);
        expect(store.lastRun.replaced.map((u) => u.split("::").pop())).toContain("prod-admin.conf-cert");
        // The echo mocks' fake certificate text does not depend on validity, so the new admin.conf
        // reads the same here: the provider is "same" (a real reissue makes it an update, as in the preview).
        expect(Object.values(ops())).toEqual(Array(8).fill("same"));
    });
});

describe("when nothing is declared", () => {
    it("kube-pki:clusterObjects.enabled false: no provider, no object, no warning", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        const r = await run({ ...haCluster("1.30.4", 1), clusterObjects: { enabled: false } }, true);
        expect(k8sRecords(r)).toEqual([]);
        expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("clusterObjects"))).toEqual([]);
    });

    for (const serving of [false, undefined]) {
        it(`cluster down at the start (apiserverServing ${serving}): objects left for the next run, a warning, the PKI work goes on`, async () => {
            const warn = vi.spyOn(pulumi.log, "warn");
            for (const preview of [true, false]) {
                const r = await run(haCluster("1.30.4", 1), serving, undefined, preview);
                expect(k8sRecords(r)).toEqual([]);
                expect(r.resources.some((x) => x.name === "prod-rollout-master-1-kube-apiserver")).toBe(true);
            }
            const messages = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith("kube-pki:clusterObjects:"));
            expect(messages).toEqual([clusterDownWarning(serving), clusterDownWarning(serving)]);
            expect(messages[0]).toMatch(serving === false ? /no master's apiserver answered on :6443/ : /could be checked/);
        });
    }

    for (const version of ["1.11.0", "1.15.12"]) {
        it(`a cluster older than 1.16 (${version}): off although enabled, preview and up say so, the PKI work goes on`, async () => {
            const warn = vi.spyOn(pulumi.log, "warn");
            for (const preview of [true, false]) {
                const r = await run(haCluster(version, 1), true, undefined, preview);
                expect(k8sRecords(r)).toEqual([]);
                expect(r.resources.some((x) => x.name === "prod-rollout-master-1-kube-apiserver")).toBe(true);
            }
            const messages = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith("kube-pki:clusterObjects:"));
            expect(messages).toEqual([clusterTooOldWarning(version), clusterTooOldWarning(version)]);
            expect(messages[0]).toContain(`Kubernetes ${version} is older than 1.16`);
            expect(messages[0]).toContain("kube-pki:clusterObjects.enabled");
        });
    }

    it("too old and switched off: no warning; 1.16.0, the first with server-side apply on, gets the objects", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        expect(k8sRecords(await run({ ...haCluster("1.15.12", 1), clusterObjects: { enabled: false } }, true))).toEqual([]);
        const r = await run(haCluster("1.16.0", 1), true);
        expect(Object.keys(byName(r)).sort()).toEqual([
            "ClusterRoleBinding/kubeadm:node-autoapprove-bootstrap",
            "ClusterRoleBinding/kubeadm:node-autoapprove-certificate-rotation",
            "ConfigMap/cluster-info",
            "Role/kubeadm:bootstrap-signer-clusterinfo",
            "RoleBinding/kubeadm:bootstrap-signer-clusterinfo",
        ]);
        expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("clusterObjects"))).toEqual([]);
    });

    it("switching it off (or destroy) drops the objects from state without touching the cluster", async () => {
        const store = new MockStateStore();
        const spec = haCluster("1.30.4", 1);
        await run(spec, true, store);
        await run({ ...spec, clusterObjects: { enabled: false } }, true, store);
        const deleted = store.lastRun.deleted.map((u) => u.split("::").pop()).sort();
        expect(deleted).toHaveLength(8); // 2 providers + 6 objects
        // The echo mocks record a Patch's delete (a relinquish in the real provider): none ran.
        expect(store.lastRun.executions.filter((e) => e.action === "delete")).toEqual([]);
    });
});

describe("cluster-info kubeconfig as kubeadm writes it", () => {
    it("matches, byte for byte, the ConfigMap a kubeadm v1.32.11 cluster served", () => {
        const fixture = readFileSync(join(__dirname, "fixtures", "cluster-info", "kubeadm-v1.32.11.kubeconfig"), "utf8");
        const caData = /certificate-authority-data: (\S+)/.exec(fixture)![1];
        const caPem = Buffer.from(caData, "base64").toString("utf8");
        expect(caPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
        expect(renderClusterInfoKubeconfig(caPem, "https://172.31.7.91:6443")).toBe(fixture);
    });

    it("refuses a server it could not write as kubeadm does", () => {
        expect(() => renderClusterInfoKubeconfig("x", "http://10.0.0.1:6443")).toThrow(/not an https URL/);
        expect(() => renderClusterInfoKubeconfig("x", "https://a b:6443")).toThrow(/not an https URL/);
        expect(renderClusterInfoKubeconfig("x", "https://[fd00::1]:6443")).toContain("    server: https://[fd00::1]:6443\n");
    });
});

describe("apiserverServes (from the program-time inventories)", () => {
    const inv = (node: string, served: NodeInventory["served"], reachable = true): NodeInventory =>
        ({ node, role: "master", reachable, files: [], served });
    const apiserver = (ok: boolean): NodeInventory["served"][number] => ok
        ? { component: "kube-apiserver", host: "10.0.0.11", port: 6443, cert: {} as never }
        : { component: "kube-apiserver", host: "10.0.0.11", port: 6443, error: "connection refused" };

    it("true when any master's apiserver completed a handshake, false when all were read and none did", () => {
        expect(apiserverServes([inv("master-1", [apiserver(false)]), inv("master-2", [apiserver(true)])])).toBe(true);
        expect(apiserverServes([inv("master-1", [apiserver(false)]), inv("master-2", [apiserver(false)])])).toBe(false);
    });

    it("undefined when nothing was read: no inventories, served certificates not read, nodes unreachable", () => {
        expect(apiserverServes(undefined)).toBeUndefined();
        expect(apiserverServes([inv("master-1", [])])).toBeUndefined();
        expect(apiserverServes([inv("master-1", [apiserver(true)], false)])).toBeUndefined();
    });
});
