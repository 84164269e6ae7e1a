/**
 * Failure paths of a rotation on the simulated cluster: each ends with nothing lost, a clear
 * message, and later masters untouched; the next run pushes the rolled-back node again (even with
 * drift detection off) until it is verified, and the run after that does nothing.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, ProgramRunError, runProgram, type RunResult } from "../harness/mocks";
import { describeLive, SimCluster, type SimEvent, type SimNode } from "../harness/sim";
import { findLeaks, haystack, keyLeakNeedles, runKeyPems } from "../harness/leaks";
import { fileFingerprint, servedFingerprint, specFor, treeDigest } from "./sim-spec";

const restartsSince = (events: SimEvent[], t: number) =>
    events.filter((e) => Date.parse(e.ts) >= t && (e.event === "start" || e.event === "kubelet-restart"));

async function failure(p: Promise<unknown>): Promise<string> {
    return (await failedRun(p)).message;
}

async function failedRun(p: Promise<unknown>): Promise<ProgramRunError> {
    const err = await p.then(() => undefined, (e) => e);
    expect(err, "the run should have failed").toBeInstanceOf(ProgramRunError);
    return err as ProgramRunError;
}

const ETCD_CLIENT = { cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt", key: "/etc/kubernetes/pki/etcd/healthcheck-client.key" };
const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const BACKUPS = "/var/lib/kube-pki/backups";

/** Every private key PEM file under the node's /etc/kubernetes/pki (the files a rollback restores). */
function nodeKeyPems(node: SimNode): string[] {
    const root = node.hostPath("/etc/kubernetes/pki");
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full);
            else if (e.isFile() && e.name.endsWith(".key")) out.push(fs.readFileSync(full, "utf8"));
        }
    };
    walk(root);
    return out;
}

describeLive("rotation faults", () => {
    let sim: SimCluster;
    let spec: ClusterSpec;
    let store: MockStateStore;
    const up = (s: ClusterSpec = spec): Promise<RunResult> =>
        runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "faults", timeoutMs: 300_000 });
    const driftOff = () => ({ ...spec, drift: { ...spec.drift, enabled: false } });

    beforeAll(async () => {
        // Root logs in with /bin/sh: this host's root ~/.bashrc costs seconds per SSH session (see rootLoginShell).
        sim = await SimCluster.start({ masters: 2, workers: 1, leafExpiresInDays: 10, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" });
        spec = specFor(sim, { rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 15, clockSkewToleranceSeconds: 30, keepBackups: 3 } });
        spec = { ...spec, authorities: { ...spec.authorities, adoptFrom: "master-2" } };
        store = new MockStateStore();
    }, 300_000);

    afterAll(async () => { await sim?.stop(); });

    it("an SSH cut in the middle of master-1's install leaves its files exactly as they were", async () => {
        const [m1] = sim.masters;
        const before = treeDigest(m1);
        const t = Date.now();
        // Only master-1's install takes the cut (the program-time reads and the kit's copies come first).
        m1.setFault("ssh", { kind: "cut-ssh-after-bytes", bytes: 4000, commandContaining: '/install.sh"' });
        let message = "";
        try {
            message = await failure(up(driftOff()));
        } finally {
            m1.clearFault();
        }
        expect(m1.events().filter((e) => e.event === "ssh-cut" && Date.parse(e.ts) >= t - 1000)).toHaveLength(1);
        expect(message).toMatch(/master-1-install/);
        expect(treeDigest(m1)).toEqual(before);
    }, 300_000);

    it("an apiserver that keeps its old certificate is rolled back; later masters are untouched", async () => {
        const [m1, m2] = sim.masters;
        const before1 = treeDigest(m1);
        const before2 = treeDigest(m2);
        const servedBefore = fileFingerprint(m1.hostPath("/etc/kubernetes/pki/apiserver.crt"));
        m1.setFault("kube-apiserver", { kind: "keep-old-cert" });
        const t = Date.now();
        const err = await failedRun(up());
        m1.clearFault(); // before any assertion, so a failing one does not leave it armed for the next tests
        const message = err.message;
        expect(message).toMatch(/kube-apiserver/);
        expect(message).toMatch(/FAILED on node master-1, step: verify kube-apiserver serves [\s\S]*served: sha256:[0-9a-f]{64}; expected: sha256:[0-9a-f]{64}[\s\S]*node now: rolled back to \S+; node is as before/);
        expect(treeDigest(m1)).toEqual(before1);
        expect(await servedFingerprint(m1, `${m1.ip}:6443`)).toBe(servedBefore);
        expect(treeDigest(m2)).toEqual(before2);
        expect(restartsSince(m2.events(), t)).toEqual([]);

        // The rollback is counted on the node (the next run re-pushes it), root-only like the backups.
        const counter = m1.hostPath(`${BACKUPS}/rollbacks`);
        expect(fs.readFileSync(counter, "utf8")).toBe("1\n");
        expect([0o600, 0o644]).toContain(fs.statSync(counter).mode & 0o777);
        expect(fs.statSync(m1.hostPath(BACKUPS)).mode & 0o777).toBe(0o700);

        // The failing run's error text (command, stdout and stderr, as the provider quotes them)
        // carries no key: neither this stack's keys, the adopted CA keys, nor the node's old keys.
        const a = sim.authorities;
        const pems = [...runKeyPems(err.result), ...[a.ca, a.frontProxyCa, a.etcdCa, a.sa].map((x) => fs.readFileSync(x.key, "utf8")), ...nodeKeyPems(m1)];
        expect(pems.length).toBeGreaterThan(20);
        expect(findLeaks(keyLeakNeedles(pems), [haystack("error of the failed run", message)])).toEqual([]);
    }, 300_000);

    it("a controller-manager that never comes back is rolled back the same way", async () => {
        const [m1, m2] = sim.masters;
        const before1 = treeDigest(m1);
        const before2 = treeDigest(m2);
        m1.setFault("kube-controller-manager", { kind: "never-return" });
        const message = await failure(up());
        m1.clearFault(); // the fault holds through the rollback's own restart; cleared before any assertion
        expect(message).toMatch(/kube-controller-manager/);
        expect(message).toMatch(/FAILED on node master-1, step: restart kube-controller-manager [\s\S]*failed: kube-controller-manager did not come back[\s\S]*node now: ROLLBACK INCOMPLETE \[kube-controller-manager after rollback: [\s\S]*backup \/var\/lib\/kube-pki\/backups\/\S+/);
        expect(treeDigest(m1)).toEqual(before1);
        expect(treeDigest(m2)).toEqual(before2);
    }, 300_000);

    it("with drift detection off, the next run pushes the rolled-back master again; the run after does nothing", async () => {
        const [m1] = sim.masters;
        const t = Date.now();
        const result = await up(driftOff());
        // master-1 was installed again (its rollback count joined the triggers) and restarted.
        const install = Object.entries(store.lastRun.operations).filter(([urn]) => urn.endsWith("::kubernetes-rollout-master-1-install"));
        expect(install).toEqual([[expect.any(String), "replace"]]);
        const restarted = restartsSince(m1.events(), t).map((e) => e.component);
        expect(restarted).toEqual(expect.arrayContaining(["etcd", "kube-apiserver"]));
        const served = result.outputs.served.value as Record<string, Record<string, string>>;
        for (const m of sim.masters) {
            const disk = (p: string) => fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${p}`));
            const apiserver = await servedFingerprint(m, `${m.ip}:6443`);
            const etcd = await servedFingerprint(m, "127.0.0.1:2379", ETCD_CLIENT);
            expect(apiserver).toBe(disk("apiserver.crt"));
            expect(etcd).toBe(disk("etcd/server.crt"));
            expect(served[m.name]["kube-apiserver"]).toBe(`sha256:${apiserver}`);
            expect(served[m.name].etcd).toBe(`sha256:${etcd}`);
            const cert = new crypto.X509Certificate(fs.readFileSync(m.hostPath("/etc/kubernetes/pki/apiserver.crt")));
            expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(300 * 86_400_000);
            // What the node holds is what state holds.
            const stored = store.urns().filter((u) => u.endsWith(`$${LOCALLY_SIGNED}::kubernetes-${m.name}-apiserver-cert`));
            expect(stored).toHaveLength(1);
            expect(fs.readFileSync(m.hostPath("/etc/kubernetes/pki/apiserver.crt"), "utf8").trim()).toBe(String(store.get(stored[0])!.state.certPem).trim());
        }

        const t3 = Date.now();
        await up(driftOff());
        expect(store.lastRun.executions).toEqual([]);
        expect(store.lastRun.replaced).toEqual([]);
        expect(sim.nodes.flatMap((n) => restartsSince(n.events(), t3))).toEqual([]);
    }, 300_000);
});

describeLive("clock guard", () => {
    let sim: SimCluster;
    beforeAll(async () => {
        sim = await SimCluster.start({ nodes: [{ name: "master-1", role: "master", clockOffsetSeconds: -3600 }], keyType: "ecdsa-p256" });
    }, 300_000);
    afterAll(async () => { await sim?.stop(); });

    it("refuses a node whose clock lags, before anything is touched", async () => {
        const store = new MockStateStore();
        const before = treeDigest(sim.masters[0]);
        const message = await failure(runProgram(() => kubePki({ spec: specFor(sim) }), { mocks: createExecutingMocks({ store }), timeoutMs: 120_000 }));
        expect(message).toMatch(/node "master-1": its clock is 3\d{3}s behind/);
        expect(store.lastRun.executions.filter((e) => e.action !== "generate")).toEqual([]);
        expect(treeDigest(sim.masters[0])).toEqual(before);
    }, 180_000);
});
