/**
 * Issue 11 point 5, RKE-style cluster (1 master + 1 worker): /etc/kubernetes/ssl with RKE's names,
 * kubeconfigs kubecfg-*.yaml, every component a docker container (the sim's docker shim), every
 * leaf expired a day ago (test/harness/sim/rke-seed.ts; written by openssl only). The stack is
 * stacks/Pulumi.rke-example.yaml pointed at the sim. One `up` must bring every component back.
 * Judges: openssl, etcdctl, kubectl, the apiserver stand-in's record of client certificates,
 * docker inspect over SSH, the nodes' event logs and `kube-pki check`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { planNodeFiles } from "../../src/pki/plan";
import { kubePki } from "../../src/program";
import { createExecutingMocks, MockStateStore, runProgram } from "../harness/mocks";
import { describeLive, RKE, SimCluster } from "../harness/sim";
import { certSha, opensslJudge, restartsSince, verdictsFor } from "./layout-judges";
import { checkProblems, checkStack, exampleNodes, exampleStack, onSim, specOf } from "./layout-stack";

describeLive("RKE-style cluster (docker containers, every leaf expired; 1 master + 1 worker)", () => {
    let sim: SimCluster;
    let scratch: string;

    beforeAll(async () => {
        // The example's node names and version when it is there (a missing example fails the tests that run it, not the start).
        let names: Array<{ name: string; role: "master" | "worker" }> | undefined;
        let version: string | undefined;
        try {
            const example = exampleStack("rke-example");
            names = exampleNodes(example);
            version = (example.cluster as { kubernetesVersion?: string }).kubernetesVersion;
        } catch { names = undefined; }
        sim = await SimCluster.start({ layout: "rke", ...(names?.length === 2 ? { nodes: names } : { masters: 1, workers: 1 }),
            keyType: "ecdsa-p256", rootLoginShell: "/bin/sh", ...(version ? { kubernetesVersion: version } : {}) });
        scratch = fs.mkdtempSync(path.join(sim.dir, "rke-stacks-"));
    }, 180_000);
    afterAll(async () => { await sim?.stop(); });

    let raw: ReturnType<typeof onSim>;

    it("one `up` reissues every leaf from kube-ca and brings every container back: etcdctl, kubectl and the apiserver judge it; a second `up` runs nothing", async () => {
        const [m, w] = [sim.masters[0], sim.workers[0]];
        // Down before: etcd's certificate is expired, so etcdctl is refused.
        const down = await sim.etcdctl(["endpoint", "health"]);
        expect(down.code).not.toBe(0);

        raw = onSim(sim, exampleStack("rke-example"));
        const spec = specOf(raw);
        const plan = planNodeFiles(spec);
        const certFiles = (n: string) => (plan[n] ?? []).filter((f) => f.material.kind === "leaf-cert" || f.material.kind === "kubeconfig").map((f) => f.path);
        const byNode = Object.fromEntries(sim.nodes.map((n) => [n.name, certFiles(n.name)]));
        // What the fixture's components read: kube-pki must declare each (kube-proxy.pem through kube-pki:certificates).
        expect(byNode[m.name]).toEqual(expect.arrayContaining([RKE.apiserver, RKE.etcd(m.ip), RKE.node, RKE.nodeKubeconfig, RKE.proxy,
            RKE.controllerManagerKubeconfig, RKE.schedulerKubeconfig]));
        expect(byNode[w.name]).toEqual(expect.arrayContaining([RKE.nodeKubeconfig, RKE.proxy]));
        const caBefore = certSha(m, RKE.ca);

        const store = new MockStateStore();
        const up = () => runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "rke", timeoutMs: 400_000 });
        const t = Date.now();
        const r = await up();
        expect(r.failures).toEqual([]);

        expect(certSha(m, RKE.ca)).toBe(caBefore);
        for (const n of sim.nodes) {
            for (const p of byNode[n.name]) expect(await opensslJudge(n, p, sim.authorities.ca.cert), `${n.name}:${p}`).toEqual({ verify: `${p}: OK`, validFor: true });
        }
        // Every container restarted (control plane in order) and running.
        const restarts = restartsSince(sim, t);
        const firstOf = (n: string, c: string) => restarts.indexOf(`${n}:${c}`);
        const order = RKE.masterContainers.map((c) => firstOf(m.name, c));
        for (const [i, c] of RKE.masterContainers.entries()) expect(order[i], c).toBeGreaterThanOrEqual(0);
        expect(order).toEqual([...order].sort((a, b) => a - b));
        for (const n of sim.nodes) for (const c of RKE.nodeContainers) expect(firstOf(n.name, c), `${n.name}:${c}`).toBeGreaterThanOrEqual(0);
        for (const [n, names] of [[m, [...RKE.masterContainers, ...RKE.nodeContainers]], [w, RKE.nodeContainers]] as const) {
            const running = await n.ssh(`docker inspect -f '{{.Name}} {{.State.Running}}' ${names.join(" ")}`);
            expect(running.stdout.trim().split("\n"), n.name).toEqual(names.map((c) => `/${c} true`));
        }

        const health = await sim.etcdctl(["endpoint", "health"]);
        expect(health.code, health.stdout + health.stderr).toBe(0);
        const nodes = await sim.kubectl(sim.adminKubeconfig, ["get", "nodes", "-o", "name"]);
        expect(nodes.stdout.trim().split("\n").sort(), nodes.stderr).toEqual(sim.nodes.map((n) => `node/${n.name}`).sort());
        const seen = await verdictsFor(sim, t, sim.nodes.map((n) => `${n.name} kubelet`));
        for (const [who, v] of Object.entries(seen)) expect(v.accepted, who).toBe(true);
        // kube-proxy shows its identity when it starts: only a restart after its new certificate gives a verdict.
        const proxies = await verdictsFor(sim, t, sim.nodes.map((n) => `${n.name} kube-proxy`), 20_000).catch((e: Error) => e.message);
        expect(typeof proxies === "string" ? proxies : Object.values(proxies).map((v) => v.accepted)).toEqual(sim.nodes.map(() => true));

        const againAt = Date.now();
        const again = await up();
        expect(again.failures).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
        expect(restartsSince(sim, againAt)).toEqual([]);
    }, 600_000);

    it("kube-pki check --stack is clean after the `up`", async () => {
        const check = await checkStack(sim, raw, "rke", scratch);
        expect(checkProblems(check.doc), check.stderr).toEqual([]);
        expect(check.code).toBe(0);
    });
});
