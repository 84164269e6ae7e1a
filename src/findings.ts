/**
 * Program-time inspection of the nodes (preview and up): read each node's inventory, refuse
 * nodes whose clock lags, and turn drift into per-file reasons and repair requests.
 * Runs before any resource is registered, so a refusal touches nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { readInventories, type NodeInventory } from "./drift/inventory";
import type { NodeRepair } from "./rollout";
import type { ClusterSpec } from "./spec";

export interface ClusterFindings {
    /** Per node and file key: why the file is (re)issued or re-pushed, or "ok". */
    reasons: Record<string, Record<string, string>>;
    /** Nodes that drifted and what to restart after the re-push. */
    repairs: Record<string, NodeRepair>;
    /** The drift table as printed in the preview diagnostics. */
    report: string;
}

/**
 * A node whose clock lags ours would see freshly issued certificates as "not yet valid"
 * (the tls provider cannot backdate notBefore), so it is refused before anything is touched.
 */
export function clockProblems(inventories: readonly NodeInventory[], toleranceSeconds: number): string[] {
    return inventories
        .filter((inv) => inv.reachable && inv.skewSeconds !== undefined && inv.skewSeconds < -toleranceSeconds)
        .map((inv) => `node "${inv.node}": its clock is ${Math.round(-inv.skewSeconds!)}s behind this machine ` +
            `(tolerance ${toleranceSeconds}s, kube-pki:rollout.clockSkewToleranceSeconds); new certificates would not ` +
            `be valid there yet. Fix time sync (chrony/NTP) on the node and run again.`);
}

export async function inspectCluster(cluster: ClusterSpec): Promise<ClusterFindings> {
    if (!cluster.drift.enabled) return { reasons: {}, repairs: {}, report: "drift detection disabled (kube-pki:drift.enabled)" };
    const inventories = await readInventories(cluster.nodes, cluster.layout, {
        checkServed: cluster.drift.checkServed,
        concurrency: cluster.drift.concurrency,
    });
    const clock = clockProblems(inventories, cluster.rollout.clockSkewToleranceSeconds);
    if (clock.length > 0) throw new Error(clock.join("\n"));
    const unreachable = inventories.filter((inv) => !inv.reachable);
    for (const inv of unreachable) {
        const message = `node "${inv.node}" is unreachable: ${inv.error}`;
        if (cluster.drift.unreachable === "error") {
            throw new Error(`${message} (kube-pki:drift.unreachable is "error"; set it to "warn" to go on without it)`);
        }
        pulumi.log.warn(message);
    }
    return { reasons: {}, repairs: {}, report: "" };
}
