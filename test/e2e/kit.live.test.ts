/**
 * The node kit over real sshd (SFTP) on a 1-master + 1-worker simulated cluster: after `up` every
 * node holds /var/lib/kube-pki/kit/<id> (private modes); a kit deleted on a node is named by the
 * next preview, the next `up` ships it again without restarting or pushing anything, and the run
 * after that only drops the re-ship from state. An altered kit stops a command with one clear line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { currentKit, KIT_DIR, KIT_MISSING_EXIT, kitCommand, kitMissingMessage } from "../../src/node/kit";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram } from "../harness/mocks";
import { describeLive, SimCluster } from "../harness/sim";
import { specFor, treeDigest } from "./sim-spec";

describeLive("node kit on the simulated cluster", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    const kit = currentKit();
    const short = (urn: string) => urn.split("::").pop()!;
    const up = (preview = false) => runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "e2e", preview, timeoutMs: 300_000 });
    const kitOn = (name: string) => sim.nodes.find((n) => n.name === name)!.hostPath(`${KIT_DIR}/${kit.id}`);

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 1, leafExpiresInDays: 200, keyType: "ecdsa-p256" });
        store = new MockStateStore();
        spec = specFor(sim, { rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 60, clockSkewToleranceSeconds: 30, keepBackups: 3 } });
        await up();
    }, 400_000);

    afterAll(async () => { await sim?.stop(); });

    it("every node holds the kit, private, exactly the shipped files", () => {
        for (const n of sim.nodes) {
            const dir = kitOn(n.name);
            expect((fs.statSync(dir).mode & 0o777).toString(8), n.name).toBe("700");
            expect(fs.readdirSync(dir).sort()).toEqual([...kit.files.map((f) => f.name), "MANIFEST"].sort());
            expect(fs.readFileSync(path.join(dir, "MANIFEST"), "utf8")).toBe(kit.manifest);
            expect(fs.existsSync(n.hostPath(`${KIT_DIR}/.incoming/${kit.id}`))).toBe(false);
        }
    });

    it("a deleted kit: preview names the re-ship, up ships it again and restarts nothing, the next run drops it", async () => {
        const worker = sim.workers[0];
        fs.rmSync(kitOn(worker.name), { recursive: true });
        const before = Object.fromEntries(sim.nodes.map((n) => [n.name, treeDigest(n)]));
        const since = Date.now();

        await up(true);
        // The first up shipped twice (the kit was missing everywhere): its re-ships are still in
        // state; the worker's is replaced (its kit was lost again), the master's goes, and so does the
        // first run's manifest-copy (it exists only while kube-pki's copy of the manifests is missing).
        const planned = Object.entries(store.lastRun.operations).filter(([, op]) => op !== "same").map(([u, op]) => `${op} ${short(u)}`).sort();
        const reship = (n: string) => [`${spec.name}-kit-${n}-reship`, `${spec.name}-kit-${n}-reship-activate`];
        const copies = sim.masters.map((m) => `delete ${spec.name}-rollout-${m.name}-manifest-copy`);
        expect(planned).toEqual([...reship(sim.masters[0].name).map((r) => `delete ${r}`), ...reship(worker.name).map((r) => `replace ${r}`), ...copies].sort());

        await up();
        expect(store.lastRun.replaced.map(short).sort()).toEqual(reship(worker.name));
        expect([...store.lastRun.updated, ...store.lastRun.created]).toEqual([]);
        expect(fs.readFileSync(path.join(kitOn(worker.name), "MANIFEST"), "utf8")).toBe(kit.manifest);
        const restarts = sim.nodes.flatMap((n) => n.events()).filter((e) => Date.parse(e.ts) >= since && (e.event === "start" || e.event === "kubelet-restart"));
        expect(restarts).toEqual([]);
        for (const n of sim.nodes) expect(treeDigest(n), n.name).toEqual(before[n.name]);

        await up();
        expect(store.lastRun.deleted.map(short).sort()).toEqual([`${spec.name}-kit-${worker.name}-reship`, `${spec.name}-kit-${worker.name}-reship-activate`]);
        expect(store.lastRun.executions).toEqual([]);
    });

    it("an altered kit stops a command with one line and exit 69; the next up replaces it", async () => {
        const master = sim.masters[0];
        fs.appendFileSync(path.join(kitOn(master.name), "rotate.sh"), "echo altered\n");
        const r = await master.ssh(kitCommand(kit.id, master.name, undefined, "restart", ["--help"]));
        expect(r.code).toBe(KIT_MISSING_EXIT);
        expect(r.stderr.trim()).toBe(kitMissingMessage(kit.id, master.name));
        await up();
        expect(store.lastRun.created.map(short).sort()).toEqual([`${spec.name}-kit-${master.name}-reship`, `${spec.name}-kit-${master.name}-reship-activate`]);
        const ok = await master.ssh(kitCommand(kit.id, master.name, undefined, "restart", ["--help"]));
        expect(ok.code).toBe(0);
    });
});
