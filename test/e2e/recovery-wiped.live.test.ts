/**
 * A master that lost /etc/kubernetes (issue 12, points 2 and 4 b/c) on the simulated cluster:
 * 3 masters + 1 worker, one `up` to start from (it records kube-pki's copy of each master's
 * manifests), then master-2's /etc/kubernetes is deleted.
 * (b) with kube-pki's copy: one `up` puts back every file from state (byte for byte the same:
 *     nothing regenerated), the manifests from the copy, and master-2's components run and serve
 *     those files (openssl s_client, an etcd quorum write); master-1/3 keep their PIDs.
 * (c) with the copy removed too: the apiserver, controller-manager and scheduler manifests are derived
 *     from master-1's with master-2's name and address; etcd's names every member (ambiguous), so its
 *     kubeadm command is named and the apiserver, which needs the local etcd, is written but not
 *     restarted; master-1/3 keep their PIDs. With etcd's manifest put back by hand, master-2's
 *     apiserver serves its certificate at master-2's address.
 * Judges: SHA-256 of the node trees, the fake kubelet's events and live PIDs, openssl, etcdctl.
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { inspectCluster } from "../../src/findings";
import { MANIFEST_COMPONENTS, MANIFEST_COPY_DIR, manifestMessage } from "../../src/drift/manifests";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram } from "../harness/mocks";
import { describeLive, SimCluster, type SimNode } from "../harness/sim";
import { fileFingerprint, quorumWrite, servedFingerprint, treeDigest } from "./sim-spec";
import { componentPids as pidsOf, waitStopped, wipe, WIPED_SIM, wipedSpec } from "./wiped-master";

const MANIFESTS = "/etc/kubernetes/manifests";
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describeLive("wiped master: /etc/kubernetes deleted on master-2", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    const up = () => runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "wiped", timeoutMs: 600_000 });

    const componentPids = () => pidsOf(sim);
    const startsSince = (n: SimNode, t: number) => n.events().filter((e) => Date.parse(e.ts) >= t && e.event === "start").map((e) => e.component);

    /** What master-2's components serve (openssl s_client on the node) against the files on its disk. */
    async function expectServesItsFiles(m: SimNode): Promise<void> {
        const etcdClient = { cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt", key: "/etc/kubernetes/pki/etcd/healthcheck-client.key" };
        const disk = (p: string) => fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${p}`));
        const served = {
            etcd: await servedFingerprint(m, "127.0.0.1:2379", etcdClient), apiserver: await servedFingerprint(m, `${m.ip}:6443`),
            cm: await servedFingerprint(m, "127.0.0.1:10257"), sched: await servedFingerprint(m, "127.0.0.1:10259"),
        };
        expect(served).toEqual({ etcd: disk("etcd/server.crt"), apiserver: disk("apiserver.crt"), cm: disk("controller-manager.crt"), sched: disk("scheduler.crt") });
    }

    beforeAll(async () => {
        sim = await SimCluster.start(WIPED_SIM);
        store = new MockStateStore();
        spec = wipedSpec(sim);
        const first = await up();
        // The first run recorded each master's manifests (their copy was missing), after its restarts.
        expect(first.resources.filter((r) => r.name.endsWith("-manifest-copy")).map((r) => r.name).sort())
            .toEqual(sim.masters.map((m) => `${spec.name}-rollout-${m.name}-manifest-copy`).sort());
        for (const m of sim.masters) {
            for (const c of MANIFEST_COMPONENTS) expect(sha(m.hostPath(`${MANIFEST_COPY_DIR}/${c}.yaml`)), `${m.name} ${c}`).toBe(sha(m.hostPath(`${MANIFESTS}/${c}.yaml`)));
            expect((fs.statSync(m.hostPath(MANIFEST_COPY_DIR)).mode & 0o777).toString(8)).toBe("700");
        }
        // Healthy and recorded: the next inspection plans no repair and no manifest work.
        const again = await inspectCluster(spec);
        expect(again.repairs).toEqual({});
        expect(again.manifests).toEqual({});
    }, 900_000);

    afterAll(async () => { await sim?.stop(); });

    it("(b) one `up` restores files from state and manifests from kube-pki's copy; master-2 serves them, master-1/3 keep their PIDs", async () => {
        const m2 = sim.node("master-2");
        const before = treeDigest(m2);
        const manifestsBefore = Object.fromEntries(MANIFEST_COMPONENTS.map((c) => [c, sha(m2.hostPath(`${MANIFESTS}/${c}.yaml`))]));
        const pids = componentPids();
        wipe(m2, "/etc/kubernetes");
        await waitStopped(sim, m2);

        // What the preview says: every file of master-2 missing, its four manifests restored from the copy.
        const findings = await inspectCluster(spec);
        expect(Object.keys(findings.repairs)).toEqual(["master-2"]);
        const missing = Object.entries(findings.reasons["master-2"]).filter(([, why]) => why.startsWith("missing")).map(([k]) => k).sort();
        expect(missing.length).toBeGreaterThan(20);
        // Only the kubelet's own rotated certificate lives outside /etc/kubernetes.
        expect(Object.entries(findings.reasons["master-2"]).filter(([k, why]) => !why.startsWith("missing") && k !== "kubelet-client-current")).toEqual([]);
        expect(findings.manifests).toEqual({ "master-2": expect.objectContaining({ restore: [...MANIFEST_COMPONENTS], left: [] }) });
        expect(manifestMessage("master-2", MANIFESTS, findings.manifests!["master-2"])).toContain(`${MANIFESTS}/etcd.yaml`);

        const t0 = Date.now();
        const result = await up();
        expect(result.resources.map((r) => r.name)).toContain(`${spec.name}-rollout-master-2-restore-manifests`);
        // Nothing regenerated: every file is byte for byte what state held (same CAs, same sa pair).
        expect(treeDigest(m2)).toEqual(before);
        for (const c of MANIFEST_COMPONENTS) expect(sha(m2.hostPath(`${MANIFESTS}/${c}.yaml`)), c).toBe(manifestsBefore[c]);
        expect(startsSince(m2, t0)).toEqual(expect.arrayContaining(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]));
        await expectServesItsFiles(m2);
        const etcdClient = { ca: m2.hostPath("/etc/kubernetes/pki/etcd/ca.crt"), cert: m2.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.crt"), key: m2.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.key") };
        expect(await quorumWrite(sim, etcdClient, `wiped-b-${t0}`)).toBeUndefined();
        const after = componentPids();
        expect(after["master-1"]).toEqual(pids["master-1"]);
        expect(after["master-3"]).toEqual(pids["master-3"]);
        for (const n of ["master-1", "master-3"]) expect(startsSince(sim.node(n), t0), n).toEqual([]);

        // Whole again: the next run has nothing to repair or restore.
        const next = await inspectCluster(spec);
        expect(next.repairs).toEqual({});
        expect(next.manifests).toEqual({});
    }, 900_000);

    it("(c) without kube-pki's copy: controller-manager, scheduler and apiserver come from master-1's manifests with master-2's address; etcd (ambiguous) is left to kubeadm", async () => {
        const m1 = sim.node("master-1");
        const m2 = sim.node("master-2");
        const before = treeDigest(m2);
        const manifestsBefore = Object.fromEntries(MANIFEST_COMPONENTS.map((c) => [c, fs.readFileSync(m2.hostPath(`${MANIFESTS}/${c}.yaml`), "utf8")]));
        const pids = componentPids();
        wipe(m2, "/etc/kubernetes");
        fs.rmSync(m2.hostPath(MANIFEST_COPY_DIR), { recursive: true, force: true });
        await waitStopped(sim, m2);

        const findings = await inspectCluster(spec);
        expect(Object.keys(findings.repairs)).toEqual(["master-2"]);
        const plan = findings.manifests!["master-2"];
        expect(plan).toEqual(expect.objectContaining({ restore: [], left: ["etcd"] }));
        expect(plan.refused!.etcd).toMatch(/^master-1's manifest also names master master-[23]$/);
        expect(plan.derived!.map((d) => [d.component, d.from, d.substituted])).toEqual([
            ["kube-apiserver", "master-1", true], ["kube-controller-manager", "master-1", false], ["kube-scheduler", "master-1", false]]);
        const message = manifestMessage("master-2", MANIFESTS, plan)!;
        expect(message).toContain(`${MANIFESTS}/kube-apiserver.yaml missing with no copy: written from master-1's with master-2's name and address`);
        expect(message).toContain("kubeadm init phase etcd local --config");
        expect(message).not.toContain("control-plane all");
        expect(message).toContain("kube-apiserver is not restarted or verified: it needs the local etcd");
        // The apiserver cannot start before its local etcd (--etcd-servers=https://127.0.0.1:2379): not restarted.
        expect(findings.repairs["master-2"].components).toEqual(["kube-controller-manager", "kube-scheduler", "kubelet"]);

        const t0 = Date.now();
        const result = await up();
        expect(result.resources.map((r) => r.name)).toContain(`${spec.name}-rollout-master-2-restore-manifests`);
        expect(treeDigest(m2)).toEqual(before);
        // Derived from master-1's: for this sim's manifests, what kubeadm wrote for master-2 itself.
        for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
            expect(fs.readFileSync(m2.hostPath(`${MANIFESTS}/${c}.yaml`), "utf8"), c).toBe(manifestsBefore[c]);
        }
        const api = fs.readFileSync(m2.hostPath(`${MANIFESTS}/kube-apiserver.yaml`), "utf8");
        expect(api).toContain(`--advertise-address=${m2.ip}`);
        expect(api).not.toContain(m1.ip);
        expect(fs.existsSync(m2.hostPath(`${MANIFESTS}/etcd.yaml`))).toBe(false);
        const disk = (p: string) => fileFingerprint(m2.hostPath(`/etc/kubernetes/pki/${p}`));
        expect(await servedFingerprint(m2, "127.0.0.1:10257")).toBe(disk("controller-manager.crt"));
        expect(await servedFingerprint(m2, "127.0.0.1:10259")).toBe(disk("scheduler.crt"));
        // The kubelet starts the apiserver from its new manifest; with no local etcd it exits (as the real one does).
        expect(startsSince(m2, t0)).toEqual(expect.arrayContaining(["kube-apiserver", "kube-controller-manager", "kube-scheduler"]));
        expect(startsSince(m2, t0)).not.toContain("etcd");
        expect(await servedFingerprint(m2, `${m2.ip}:6443`)).toBe("");
        const after = componentPids();
        expect(after["master-1"]).toEqual(pids["master-1"]);
        expect(after["master-3"]).toEqual(pids["master-3"]);
        for (const n of ["master-1", "master-3"]) expect(startsSince(sim.node(n), t0), n).toEqual([]);

        // The files are whole: the next run repairs nothing and still names etcd's kubeadm command.
        const next = await inspectCluster(spec);
        expect(next.repairs).toEqual({});
        expect(next.manifests!["master-2"].left).toEqual(["etcd"]);

        // What is left to do, done as the preview says (etcd's manifest back, as `kubeadm init phase etcd local` would
        // write it): etcd rejoins from its data dir and the derived apiserver serves its certificate at master-2's address.
        fs.writeFileSync(m2.hostPath(`${MANIFESTS}/etcd.yaml`), manifestsBefore.etcd, { mode: 0o600 });
        let served = "";
        for (let i = 0; i < 60 && served !== disk("apiserver.crt"); i++) {
            await new Promise((r) => setTimeout(r, 1000));
            served = await servedFingerprint(m2, `${m2.ip}:6443`);
        }
        expect(served).toBe(disk("apiserver.crt"));
        const etcdClient = { ca: m2.hostPath("/etc/kubernetes/pki/etcd/ca.crt"), cert: m2.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.crt"), key: m2.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.key") };
        expect(await quorumWrite(sim, etcdClient, `wiped-c-${t0}`)).toBeUndefined();
        expect(componentPids()["master-1"]).toEqual(pids["master-1"]);
    }, 900_000);
});
