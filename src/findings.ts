/**
 * Program-time inspection of the nodes (preview and up): read each node's inventory, refuse
 * nodes whose clock lags, and turn drift into per-file reasons and repair requests.
 * Runs before any resource is registered, so a refusal touches nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readInventories, type NodeInventory } from "./drift/inventory";
import { compareNode, nodeDrifted, renderDriftTable, REPUSH_REASONS, type NodeDriftResult, type WantedFileSummary } from "./drift/report";
import { restartOrder, type Component } from "./pki/components";
import { declaredReads, wantedFromSpec } from "./drift/wanted";
import { caEndingWarnings, knownCas, leafOutlivesCaProblems } from "./drift/ca-lifetime";
import { currentKit } from "./node/kit";
import { manifestMessage, manifestPlans, notRestartable, type NodeManifests } from "./drift/manifests";
import { deriveMissingManifests } from "./drift/manifest-derive";
import { manifestsDir } from "./pki/layout";
import type { KitReship } from "./node/kit-ship";
import type { NodeRepair } from "./rollout/rollout";
import type { ClusterSpec, RotatableAuthority } from "./spec";
import { apiserverServes } from "./cluster-objects/reachability";
import { CA_CONFIG_KEY, type CaId } from "./pki/catalog";
import type { RotationDecision, RotationInputs } from "./pki/ca-rotation";
import { SA_ROTATION_KEY, type SaRotationDecision, type SaRotationInputs } from "./pki/sa-rotation";

export interface ClusterFindings {
    /** Per node and file key: why the file is (re)issued or re-pushed, or "ok". */
    reasons: Record<string, Record<string, string>>;
    /** Nodes that drifted and what to restart after the re-push. */
    repairs: Record<string, NodeRepair>;
    /** The drift table as printed in the preview diagnostics. */
    report: string;
    /** Per node: how many times a failed run rolled it back (read even with drift off). */
    rollbacks?: Record<string, number>;
    /** Nodes whose kit must be shipped again (the inventory found it missing or altered). */
    kitReships?: Record<string, KitReship>;
    /** Whether an apiserver answered at the start of the run (undefined: not checked); see src/cluster-objects/reachability.ts. */
    apiserverServing?: boolean;
    /** What was read from each node (for the per-file actions of the `certificates` output). */
    inventories?: readonly NodeInventory[];
    /** Masters whose static pod manifests are missing or whose kube-pki copy is stale (src/drift/manifests.ts). */
    manifests?: Record<string, NodeManifests>;
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

/**
 * The node's wanted files, with the content kube-pki last installed there as the wanted hash:
 * a file edited, deleted or rolled back since then shows as drift, while a file the stack is
 * about to replace anyway does not (this run's install handles it).
 */
export function wantedWithInstalled(wanted: readonly WantedFileSummary[], inventory: NodeInventory): WantedFileSummary[] {
    return wanted.map((w) => {
        const sha256 = inventory.installed?.[w.path];
        return sha256 ? { ...w, sha256 } : w;
    });
}

/** "expiring: expires in 9d" — the reason column of the `certificates` output. */
function reasonText(reason: string, detail: string): string {
    return detail ? `${reason}: ${detail}` : reason;
}

/**
 * A drifted node gets a repair: the wanted files again, then a restart + verification of every
 * component whose files drifted or that serves something other than its file.
 */
export function repairFor(result: NodeDriftResult, installedBefore = true, nonce = ""): NodeRepair | undefined {
    if (!nodeDrifted(result)) return undefined;
    // Before kube-pki's first install on a node, its own install replaces every file anyway; a
    // subject that differs from the stack (a kubeadm-made cert) is no drift to repair yet.
    const repush = installedBefore ? REPUSH_REASONS : REPUSH_REASONS.filter((r) => r !== "spec-changed");
    const drifted = result.files.filter((f) => f.managed && f.reasons.some((r) => repush.includes(r)));
    if (drifted.length === 0) return undefined;
    const components = new Set<Component>();
    for (const f of drifted) {
        // The plan's readers for this cluster's version (src/pki/plan.ts), carried by the wanted file.
        for (const c of f.consumers ?? []) components.add(c);
        if (f.reasons.includes("served-mismatch") && f.served) components.add(f.served.component);
    }
    const restart = restartOrder(components, result.role);
    // kube-pki:certificates readers outside the component table (kube-proxy): restarted after them.
    const extraConsumers = [...new Set(drifted.flatMap((f) => f.extraConsumers ?? []))];
    const signature = createHash("sha256")
        .update(JSON.stringify(drifted.map((f) => [f.path, f.reasons, f.cert?.sha256 ?? "", f.served?.sha256 ?? ""])))
        // A missing file is pushed on every run until the node is whole (a failed or rolled-back
        // repair leaves the same drift, and an unchanged trigger would not run it again).
        .update(drifted.some((f) => f.reasons.includes("missing")) ? nonce : "")
        .digest("hex");
    return { components: restart, ...(extraConsumers.length ? { extraConsumers } : {}), signature };
}

/** Turn per-node drift results into reasons, repairs and the printed table. */
export function findingsFrom(
    results: readonly NodeDriftResult[], installedBefore: ReadonlySet<string> = new Set(results.map((r) => r.node)), nonces: Readonly<Record<string, string>> = {},
): ClusterFindings {
    const reasons: ClusterFindings["reasons"] = {};
    const repairs: ClusterFindings["repairs"] = {};
    for (const result of results) {
        reasons[result.node] = Object.fromEntries(result.files.filter((f) => f.managed).map((f) => [f.key, reasonText(f.reason, f.detail)]));
        const repair = repairFor(result, installedBefore.has(result.node), nonces[result.node]);
        if (repair) repairs[result.node] = repair;
    }
    return { reasons, repairs, report: renderDriftTable(results) };
}

/**
 * Reads every node, even with drift detection off: the clock guard, the rollback count and the CA
 * lifetimes are needed for correctness. Turning drift off silences only the report and the repair
 * of hand edits.
 */
/** Nodes with a rollback counter, by name (from the inventories). */
export function rollbackCounts(inventories: readonly NodeInventory[]): Record<string, number> {
    return Object.fromEntries(inventories.filter((inv) => (inv.rollbacks ?? 0) > 0).map((inv) => [inv.node, inv.rollbacks!]));
}

/**
 * Nodes whose kit (this program's id) is missing or altered. They get a re-ship that exists only
 * while this lasts: read even with drift off, since every node command needs the kit. A node that
 * never had it (first run, an upgrade) is listed too: its main ship runs this time as well, and the
 * re-ship after it only finds the kit in place (the program cannot see state to tell them apart, and
 * a wiped node must not be left without one).
 */
export function kitReshipsFrom(inventories: readonly NodeInventory[], kitId: string): Record<string, KitReship> {
    const out: Record<string, KitReship> = {};
    for (const inv of inventories) {
        if (inv.kit?.id === kitId && inv.kit.state !== "ok") out[inv.node] = { problem: inv.kit.state, signature: inv.kit.signature ?? "" };
    }
    for (const [node, { problem }] of Object.entries(out)) {
        pulumi.log.info(`node "${node}": kit ${kitId} ${problem}; this run ships it (again)`);
    }
    return out;
}

export async function inspectCluster(
    cluster: ClusterSpec, read: typeof readInventories = readInventories, kitId: string = currentKit().id,
): Promise<ClusterFindings> {
    const driftServed = cluster.drift.enabled && cluster.drift.checkServed;
    const read1 = await read(cluster.nodes, cluster.layout, {
        // Cluster objects need to know whether an apiserver answers, drift or not.
        checkServed: driftServed || cluster.clusterObjects.enabled,
        kubeletServing: cluster.kubelet.servingCertificate === "managed",
        // kube-pki:certificates files may land outside the layout's directories.
        declared: declaredReads(cluster),
        concurrency: cluster.drift.concurrency,
        kitId,
    });
    const apiserverServing = cluster.clusterObjects.enabled ? apiserverServes(read1) : undefined;
    // Served certificates read for the cluster objects only: drift sees what it asked for.
    const inventories = driftServed ? read1 : read1.map((inv) => ({ ...inv, served: [] }));
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
    const now = new Date();
    const cas = knownCas(cluster, inventories);
    const outlived = leafOutlivesCaProblems(cluster, cas, now);
    if (outlived.length > 0) throw new Error(outlived.join("\n"));
    for (const warning of caEndingWarnings(cluster, cas, now)) pulumi.log.warn(warning);
    const kitReships = kitReshipsFrom(inventories, kitId);
    const rollbacks = rollbackCounts(inventories);
    for (const [node, count] of Object.entries(rollbacks)) {
        pulumi.log.info(`node "${node}" was rolled back ${count} time(s) by failed runs; if its install is not ` +
            `verified yet, this run installs and restarts it again`);
    }
    if (!cluster.drift.enabled) return { reasons: {}, repairs: {}, rollbacks, kitReships, inventories, apiserverServing, report: "drift detection disabled (kube-pki:drift.enabled)" };
    const wanted = wantedFromSpec(cluster);
    const results = inventories.map((inv) => compareNode(wantedWithInstalled(wanted[inv.node] ?? [], inv), inv, {
        now, renewBeforeDays: cluster.validity.renewBeforeDays,
    }));
    // Each run's own value (the node's clock when read): a node missing files is repaired every run.
    const nonces = Object.fromEntries(inventories.map((inv) => [inv.node, inv.nodeTime?.toISOString() ?? ""]));
    // Only for a master missing manifests kube-pki has no copy of: one read of a healthy master's.
    const manifests = await deriveMissingManifests(cluster.nodes, manifestsDir(cluster.layout), inventories, manifestPlans(cluster.layout, inventories));
    const findings = {
        ...findingsFrom(results.map((r) => servedOnlyWhereRunnable(r, manifests[r.node])), new Set(inventories.filter((inv) => inv.installed).map((inv) => inv.node)), nonces),
        rollbacks, kitReships, inventories, apiserverServing, manifests,
    };
    withoutManifestless(findings.repairs, manifests, cluster.layout);
    pulumi.log.info(`kube-pki drift report\n${findings.report}`);
    for (const [node, repair] of Object.entries(findings.repairs)) {
        pulumi.log.warn(`node "${node}" drifted from the stack: its files will be pushed again` +
            (repair.components.length ? ` and ${repair.components.join(", ")} restarted and verified` : "") +
            (repair.extraConsumers?.length ? `${repair.components.length ? "," : " and"} ${repair.extraConsumers.join(", ")} restarted` : ""));
    }
    return findings;
}

/**
 * A component whose manifest is gone with no copy (or a stacked apiserver whose etcd is) does not
 * run: that it serves nothing is no drift a repair can fix (the table still shows it), so it alone
 * schedules no repair.
 */
export function servedOnlyWhereRunnable(result: NodeDriftResult, plan: NodeManifests | undefined): NodeDriftResult {
    const left: readonly string[] = notRestartable(plan);
    if (left.length === 0) return result;
    return { ...result, files: result.files.map((f) => f.served && left.includes(f.served.component)
        ? { ...f, reasons: f.reasons.filter((r) => r !== "served-mismatch") } : f) };
}

/**
 * A component whose static pod manifest is gone with no copy and could not be derived from another
 * master's is not restarted (nothing would run it), nor a stacked apiserver whose etcd is in that
 * case: the repair pushes their files and the preview says which kubeadm commands recreate them.
 */
function withoutManifestless(repairs: Record<string, NodeRepair>, manifests: Record<string, NodeManifests>, layout: ClusterSpec["layout"]): void {
    for (const [node, plan] of Object.entries(manifests)) {
        const message = manifestMessage(node, manifestsDir(layout), plan);
        if (message) pulumi.log.warn(message);
        const repair = repairs[node];
        const left: readonly string[] = notRestartable(plan);
        if (repair && left.length) repairs[node] = { ...repair, components: repair.components.filter((c) => !left.includes(c)) };
    }
}

/** The CA each kube-pki:authorities.rotate key names. */
const ROTATED_CA = Object.fromEntries(Object.entries(CA_CONFIG_KEY).map(([id, key]) => [key, id as CaId])) as Record<RotatableAuthority, CaId>;

/**
 * The phase of every CA rotation asked for (kube-pki:authorities.rotate), decided from the
 * program-time inventories: one phase per `up`, and none past a node that was not read. Without
 * drift detection nothing would tell which phase the nodes completed, so a rotation needs it.
 */
export function rotationDecisions(
    cluster: ClusterSpec, inventories: readonly NodeInventory[] | undefined, decide: (inputs: RotationInputs) => RotationDecision,
): Partial<Record<CaId, RotationDecision>> {
    const asked = Object.entries(cluster.authorities.rotate ?? {}) as [RotatableAuthority, NonNullable<ClusterSpec["authorities"]["rotate"]>[RotatableAuthority]][];
    const out: Partial<Record<CaId, RotationDecision>> = {};
    for (const [key, spec] of asked) {
        if (!spec) continue;
        if (!cluster.drift.enabled) {
            throw new Error(`kube-pki:authorities.rotate.${key}: a CA rotation decides each phase from what every node holds, ` +
                "which is read only with drift detection; set kube-pki:drift.enabled to true (it is false), or remove the rotation");
        }
        const ca = ROTATED_CA[key];
        const newCaCertPem = spec.certPem;
        out[ca] = decide({ ca, spec, ...(newCaCertPem ? { newCaCertPem } : {}), cluster, inventories: inventories ?? [] });
    }
    return out;
}

/**
 * The phase of the service-account key rotation asked for (kube-pki:authorities.rotate.serviceAccount),
 * decided like a CA rotation's from the masters' program-time readings; undefined when none is asked.
 */
export function saRotationDecision(
    cluster: ClusterSpec, inventories: readonly NodeInventory[] | undefined, decide: (inputs: SaRotationInputs) => SaRotationDecision,
): SaRotationDecision | undefined {
    const spec = cluster.authorities.serviceAccountRotation;
    if (!spec) return undefined;
    if (!cluster.drift.enabled) {
        throw new Error(`${SA_ROTATION_KEY}: a key rotation decides each phase from what every master holds, ` +
            "which is read only with drift detection; set kube-pki:drift.enabled to true (it is false), or remove the rotation");
    }
    return decide({ spec, cluster, inventories: inventories ?? [] });
}

/** The preview line of one rotation: a warning while it is held, else information. */
export function rotationMessage(decision: RotationDecision | SaRotationDecision): { level: "warn" | "info"; text: string } {
    if (!decision.held) return { level: "info", text: decision.summary };
    return { level: "warn", text: decision.summary.includes(decision.held) ? decision.summary : `${decision.summary}; held: ${decision.held}` };
}
