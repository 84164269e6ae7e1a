/**
 * Whether an apiserver answered at the start of the run, from the program-time inventories
 * (src/drift/inventory.ts reads what each master serves on :6443 when asked to check served
 * certificates). Cluster objects are declared only when one did: against a cluster that is down
 * their creation would fail the run, and the PKI work that brings it back must go on.
 */
import type { NodeInventory } from "../drift/inventory";

/**
 * true: some master's apiserver completed a TLS handshake. false: served certificates were read
 * and none did. undefined: nothing tells (no inventories, or served certificates not read).
 */
export function apiserverServes(inventories: readonly NodeInventory[] | undefined): boolean | undefined {
    const readings = (inventories ?? []).filter((inv) => inv.reachable).flatMap((inv) => inv.served)
        .filter((s) => s.component === "kube-apiserver");
    if (readings.length === 0) return undefined;
    return readings.some((s) => s.cert !== undefined);
}
