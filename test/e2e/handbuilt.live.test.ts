/**
 * Issue 11 point 5, hand-built cluster (1 master + 1 worker): one CA for everything, cfssl names
 * under /etc/kubernetes/ssl, every component a systemd unit the sim's systemctl really restarts,
 * kubelet client certificates (one year, from the CA) rotated into /var/lib/kubelet/pki and
 * expired 35 days ago (test/harness/sim/handbuilt-seed.ts; written by openssl only).
 * (a) A stack that takes over only the kubelet client certificates (rotate mode).
 * (b) A stack that takes over everything (stacks/Pulumi.handbuilt-example.yaml on the sim).
 * Judges: the apiserver stand-in's record of client certificates, openssl, etcdctl, kubectl, the
 * nodes' event logs, and `kube-pki check` (its exit code and rows).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RawConfig } from "../../src/config";
import { planNodeFiles } from "../../src/pki/plan";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram } from "../harness/mocks";
import { describeLive, HANDBUILT, SimCluster } from "../harness/sim";
import { certSha, opensslJudge, restartsSince, verdictsFor } from "./layout-judges";
import { checkProblems, checkStack, exampleNodes, exampleStack, onSim, specOf } from "./layout-stack";

const CLIENT_ROW = "kubelet-client-current.pem";

/**
 * (a): the cluster CA adopted from its cfssl files, the kubelet's kubeconfig left as it is, every
 * other catalogue entry omitted but admin.conf (kube-pki needs one; it gets a file of its own,
 * new, so the operator's admin.kubeconfig is not taken over).
 */
const KUBE_PKI_ADMIN = "/etc/kubernetes/kube-pki-admin.conf";
const KUBELET_ONLY: RawConfig = {
    cluster: { name: "handbuilt", kubernetesVersion: "1.28.15" },
    layout: {
        kind: "custom", restart: "systemd",
        paths: { "ca.crt": HANDBUILT.ca, "ca.key": HANDBUILT.caKey, "admin.conf": KUBE_PKI_ADMIN },
        omit: ["front-proxy-ca", "etcd-ca", "apiserver", "apiserver-kubelet-client", "front-proxy-client", "etcd-server", "etcd-peer",
            "etcd-healthcheck-client", "apiserver-etcd-client", "sa", "super-admin.conf", "controller-manager.conf",
            "scheduler.conf", "kubelet.conf"],
        components: { kubelet: { restart: "systemd", unit: "kubelet" } },
    },
    authorities: { ca: "adopt", etcdCa: "same-as-ca", frontProxyCa: "same-as-ca", serviceAccount: "adopt" },
    kubelet: { clientCertificate: "rotate", servingCertificate: "self-signed" },
    keyAlgorithm: "ECDSA-P256",
};

describeLive("hand-built cluster (cfssl names, systemd units; 1 master + 1 worker)", () => {
    let sim: SimCluster;
    let scratch: string;
    const nodeAgents = (agents: string[]) => sim.nodes.flatMap((n) => agents.map((a) => `${n.name} ${a}`));
    const up = (spec: ClusterSpec, store: MockStateStore, stack: string, preview = false) =>
        runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack, timeoutMs: 400_000, preview });

    beforeAll(async () => {
        // The example's node names and version when it is there (a missing example fails the tests that run it, not the start).
        let names: Array<{ name: string; role: "master" | "worker" }> | undefined;
        let version: string | undefined;
        try {
            const example = exampleStack("handbuilt-example");
            names = exampleNodes(example);
            version = (example.cluster as { kubernetesVersion?: string }).kubernetesVersion;
        } catch { names = undefined; }
        sim = await SimCluster.start({ layout: "handbuilt", ...(names?.length === 2 ? { nodes: names } : { masters: 1, workers: 1 }),
            keyType: "ecdsa-p256", rootLoginShell: "/bin/sh", ...(version ? { kubernetesVersion: version } : {}) });
        scratch = fs.mkdtempSync(path.join(sim.dir, "handbuilt-stacks-"));
    }, 180_000);
    afterAll(async () => { await sim?.stop(); });

    it("(a) kubelet client certificates only: preview names exactly the expired files; one `up` gives every kubelet an accepted certificate, restarting only kubelets; check is clean", async () => {
        const refused = await verdictsFor(sim, 0, nodeAgents(["kubelet"]));
        for (const v of Object.values(refused)) expect(v).toMatchObject({ accepted: false, reason: "CERT_HAS_EXPIRED" });

        const raw = onSim(sim, KUBELET_ONLY);
        const spec = specOf(raw);
        const store = new MockStateStore();
        const preview = await up(spec, store, "handbuilt-kubelet", true);
        expect(preview.failures).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
        for (const n of sim.nodes) {
            const rows = preview.outputs.certificates.value[n.name] as Record<string, { action: string; reason: string }>;
            const changing = Object.entries(rows).filter(([, r]) => r.action !== "keep").map(([row]) => row).sort();
            // Besides the expired files, only kube-pki's own new admin.conf on the master (a file that did not exist).
            expect(changing, n.name).toEqual(n.role === "master" ? ["admin.conf", CLIENT_ROW] : [CLIENT_ROW]);
            if (n.role === "master") expect(fs.existsSync(n.hostPath(KUBE_PKI_ADMIN))).toBe(false);
            expect(rows[CLIENT_ROW].reason, n.name).toMatch(/^expired 3[45] d ago \[issuer CN=Kubernetes; rotation on\]$/);
        }

        const fixedAt = Date.now();
        const fixed = await up(spec, store, "handbuilt-kubelet");
        expect(fixed.failures).toEqual([]);
        const accepted = await verdictsFor(sim, fixedAt, nodeAgents(["kubelet"]));
        for (const n of sim.nodes) {
            expect(accepted[`${n.name} kubelet`], n.name).toMatchObject({ accepted: true, certSha256: certSha(n, HANDBUILT.kubeletClientCurrent) });
            expect(await opensslJudge(n, HANDBUILT.kubeletClientCurrent, sim.authorities.ca.cert)).toEqual({ verify: `${HANDBUILT.kubeletClientCurrent}: OK`, validFor: true });
        }
        expect(restartsSince(sim, fixedAt).sort()).toEqual(sim.nodes.map((n) => `${n.name}:kubelet`).sort());

        const check = await checkStack(sim, raw, "handbuilt-kubelet", scratch);
        expect(checkProblems(check.doc), check.stderr).toEqual([]);
        expect(check.code).toBe(0);
    }, 600_000);

    it("(b) the whole cluster (the example stack): one `up` reissues every declared certificate and restarts every component in order, verified; check is clean", async () => {
        const raw = onSim(sim, exampleStack("handbuilt-example"));
        const spec = specOf(raw);
        const plan = planNodeFiles(spec);
        const certFiles = (n: string) => (plan[n] ?? []).filter((f) => f.material.kind === "leaf-cert" || f.material.kind === "kubeconfig").map((f) => f.path);
        const byNode = Object.fromEntries(sim.nodes.map((n) => [n.name, certFiles(n.name)]));
        // What the fixture's components read: kube-pki must declare each (kube-proxy.pem through kube-pki:certificates).
        expect(byNode[sim.masters[0].name]).toEqual(expect.arrayContaining([HANDBUILT.apiserver, HANDBUILT.etcd, HANDBUILT.kubeProxy,
            HANDBUILT.controllerManagerKubeconfig, HANDBUILT.schedulerKubeconfig, HANDBUILT.adminKubeconfig]));
        expect(byNode[sim.workers[0].name]).toEqual(expect.arrayContaining([HANDBUILT.kubeProxy]));
        const before = Object.fromEntries(sim.nodes.flatMap((n) => byNode[n.name].map((p) => [`${n.name}:${p}`, certSha(n, p)])));
        const caBefore = certSha(sim.masters[0], HANDBUILT.ca);

        const store = new MockStateStore();
        const t = Date.now();
        const r = await up(spec, store, "handbuilt-all");
        expect(r.failures).toEqual([]);

        // Every declared certificate is new, from the (unchanged) cluster CA, valid for most of a year.
        expect(certSha(sim.masters[0], HANDBUILT.ca)).toBe(caBefore);
        for (const n of sim.nodes) {
            for (const p of byNode[n.name]) {
                expect(certSha(n, p), `${n.name}:${p}`).not.toBe(before[`${n.name}:${p}`]);
                expect(await opensslJudge(n, p, sim.authorities.ca.cert), `${n.name}:${p}`).toEqual({ verify: `${p}: OK`, validFor: true });
            }
        }
        // Every component restarted, control plane in order, then the node agents.
        const m = sim.masters[0].name;
        const restarts = restartsSince(sim, t);
        const firstOf = (c: string) => restarts.indexOf(`${m}:${c}`);
        for (const c of [...HANDBUILT.masterUnits, ...HANDBUILT.nodeUnits]) expect(firstOf(c), c).toBeGreaterThanOrEqual(0);
        const order = HANDBUILT.masterUnits.map(firstOf);
        expect(order).toEqual([...order].sort((a, b) => a - b));
        expect(firstOf("kubelet")).toBeGreaterThan(firstOf("kube-scheduler"));
        for (const c of HANDBUILT.nodeUnits) expect(restarts, `${sim.workers[0].name}:${c}`).toContain(`${sim.workers[0].name}:${c}`);

        // Judges: etcd, kubectl, and the apiserver accepting every client identity again.
        const health = await sim.etcdctl(["endpoint", "health"]);
        expect(health.code, health.stderr).toBe(0);
        const nodes = await sim.kubectl(sim.adminKubeconfig, ["get", "nodes", "-o", "name"]);
        expect(nodes.code, nodes.stderr).toBe(0);
        const seen = await verdictsFor(sim, t, nodeAgents(["kubelet"]));
        for (const [who, v] of Object.entries(seen)) expect(v.accepted, who).toBe(true);
        // kube-proxy shows its identity when it starts: only a restart after its new certificate gives a verdict.
        const proxies = await verdictsFor(sim, t, nodeAgents(["kube-proxy"]), 20_000).catch((e: Error) => e.message);
        expect(typeof proxies === "string" ? proxies : Object.values(proxies).map((v) => v.accepted)).toEqual(sim.nodes.map(() => true));

        const check = await checkStack(sim, raw, "handbuilt-all", scratch);
        expect(checkProblems(check.doc), check.stderr).toEqual([]);
        expect(check.code).toBe(0);
    }, 600_000);
});
