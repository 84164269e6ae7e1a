/**
 * Failure paths of a rotation on the simulated cluster: each ends with nothing lost, a clear
 * message, and later masters untouched; the next run repairs what was rolled back.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, ProgramRunError, runProgram } from "../harness/mocks";
import { describeLive, SimCluster, type SimEvent } from "../harness/sim";
import { fileFingerprint, servedFingerprint, specFor, treeDigest } from "./sim-spec";

const restartsSince = (events: SimEvent[], t: number) =>
    events.filter((e) => Date.parse(e.ts) >= t && (e.event === "start" || e.event === "kubelet-restart"));

async function failure(p: Promise<unknown>): Promise<string> {
    const err = await p.then(() => undefined, (e) => e);
    expect(err, "the run should have failed").toBeInstanceOf(ProgramRunError);
    return String((err as Error).message);
}

describeLive("rotation faults", () => {
    let sim: SimCluster;
    let spec: ClusterSpec;
    let store: MockStateStore;
    const up = (s: ClusterSpec = spec) =>
        runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "faults", timeoutMs: 300_000 });

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 2, workers: 1, leafExpiresInDays: 10, keyType: "ecdsa-p256" });
        // Adopt from master-2 so that master-1's first SSH session is its install (for the cut).
        spec = specFor(sim, { rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 15, clockSkewToleranceSeconds: 30, keepBackups: 3 } });
        spec = { ...spec, authorities: { ...spec.authorities, adoptFrom: "master-2" } };
        store = new MockStateStore();
    }, 300_000);

    afterAll(async () => { await sim?.stop(); });

    it("an SSH cut in the middle of the install leaves master-1's files exactly as they were", async () => {
        const [m1] = sim.masters;
        const before = treeDigest(m1);
        m1.setFault("ssh", { kind: "cut-ssh-after-bytes", bytes: 4000 });
        const message = await failure(up({ ...spec, drift: { ...spec.drift, enabled: false } }));
        expect(message).toMatch(/master-1-install/);
        expect(treeDigest(m1)).toEqual(before);
        m1.clearFault();
    }, 300_000);

    it("an apiserver that keeps its old certificate is rolled back; later masters are untouched", async () => {
        const [m1, m2] = sim.masters;
        const before1 = treeDigest(m1);
        const before2 = treeDigest(m2);
        const servedBefore = fileFingerprint(m1.hostPath("/etc/kubernetes/pki/apiserver.crt"));
        m1.setFault("kube-apiserver", { kind: "keep-old-cert" });
        const t = Date.now();
        const message = await failure(up());
        expect(message).toMatch(/kube-apiserver/);
        expect(message).toMatch(/rolled back/);
        expect(treeDigest(m1)).toEqual(before1);
        expect(await servedFingerprint(m1, `${m1.ip}:6443`)).toBe(servedBefore);
        expect(treeDigest(m2)).toEqual(before2);
        expect(restartsSince(m2.events(), t)).toEqual([]);
        m1.clearFault();
    }, 300_000);

    it("a controller-manager that never comes back is rolled back the same way", async () => {
        const [m1, m2] = sim.masters;
        const before1 = treeDigest(m1);
        const before2 = treeDigest(m2);
        m1.setFault("kube-controller-manager", { kind: "never-return" });
        const message = await failure(up());
        expect(message).toMatch(/kube-controller-manager/);
        expect(message).toMatch(/did not come back|rolled back/);
        expect(treeDigest(m1)).toEqual(before1);
        expect(treeDigest(m2)).toEqual(before2);
        m1.clearFault();
    }, 300_000);

    it("once the faults are gone, the next run repairs and rotates everything", async () => {
        await up();
        for (const m of sim.masters) {
            expect(await servedFingerprint(m, `${m.ip}:6443`)).toBe(fileFingerprint(m.hostPath("/etc/kubernetes/pki/apiserver.crt")));
            const cert = new (require("node:crypto").X509Certificate)(fs.readFileSync(m.hostPath("/etc/kubernetes/pki/apiserver.crt")));
            expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(300 * 86_400_000);
        }
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
