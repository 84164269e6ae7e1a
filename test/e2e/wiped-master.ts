/**
 * The wiped-master scenario of issue 12 (a healthy 3 masters + 1 worker, then one master's
 * /etc/kubernetes deleted), shared by test/e2e/recovery-wiped.live.test.ts and bench/recovery.ts
 * so both set up and break the cluster the same way.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ClusterSpec } from "../../src/spec";
import type { SimCluster, SimClusterOptions, SimNode } from "../harness/sim";
import { specFor } from "./sim-spec";

/** A healthy cluster: leaves valid for 10 more days, control plane up. */
export const WIPED_SIM: SimClusterOptions = { masters: 3, workers: 1, leafExpiresInDays: 10, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" };

export function wipedSpec(sim: SimCluster): ClusterSpec {
    return specFor(sim, { rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 60, clockSkewToleranceSeconds: 30, keepBackups: 3 } });
}

/** Per node: the PID each component runs under now (last start, still alive). */
export function componentPids(sim: SimCluster): Record<string, Record<string, number>> {
    return Object.fromEntries(sim.nodes.map((n) => {
        const last: Record<string, number> = {};
        for (const e of n.events()) if (e.event === "start") last[e.component] = e.pid;
        for (const [c, pid] of Object.entries(last)) if (!fs.existsSync(`/proc/${pid}`)) delete last[c];
        return [n.name, last];
    }));
}

/** Deletes the node's `dir` content (the directory itself is the node's mount point). */
export function wipe(n: SimNode, dir: string): void {
    const host = n.hostPath(dir);
    for (const entry of fs.readdirSync(host)) fs.rmSync(path.join(host, entry), { recursive: true, force: true });
}

/** Waits (20 s at most) until the fake kubelet stopped every static pod whose manifest vanished. */
export async function waitStopped(sim: SimCluster, n: SimNode): Promise<void> {
    const running = () => Object.keys(componentPids(sim)[n.name]).filter((c) => c !== "kubelet");
    for (let i = 0; i < 100 && running().length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    if (running().length > 0) throw new Error(`${n.name}: still running after its manifests were deleted: ${running().join(", ")}`);
}
