/**
 * What the stack wants on each node, for drift and `kube-pki check --stack` (no Pulumi, no
 * secrets): the per-node plan (src/pki/plan.ts, the same one ClusterPki turns into resources)
 * reduced to what can be compared without issued PEMs: key, path, name, readers, and the
 * subject, SANs and signing CA a certificate must have. Catalogue files and the files declared
 * in kube-pki:certificates alike. No content hashes: the report judges missing files, subjects
 * and issuers from it (kube-pki's install record gives the bytes it put there).
 */
import { planCluster, type PlannedFile } from "../pki/plan";
import type { ClusterSpec } from "../spec";
import type { DeclaredReads } from "./inventory";
import type { WantedFileSummary } from "./report";

/** One planned file as drift compares it. */
export function wantedSummary(f: PlannedFile): WantedFileSummary {
    const e = f.expected;
    return {
        key: f.key, path: f.path, consumers: f.consumers,
        ...(f.name ? { name: f.name } : {}),
        ...(f.extraConsumers?.length ? { extraConsumers: f.extraConsumers } : {}),
        ...(e ? { expected: { subject: e.subject, issuerCommonName: e.issuerCommonName, caPath: e.caPath, ...(e.adoptedIssuer ? { adoptedIssuer: true } : {}) } } : {}),
    };
}

/**
 * Wanted files per node name, in plan order (catalogue, then kube-pki:certificates). A user's
 * kubeconfig kept only as a stack output is on no node, so it is in no list.
 */
export function wantedFromSpec(cluster: ClusterSpec): Record<string, WantedFileSummary[]> {
    return Object.fromEntries(Object.entries(planCluster(cluster).nodes).map(([node, n]) => [node, n.files.map(wantedSummary)]));
}

/**
 * What the inventory must read on each node beyond the layout's paths: the files the stack
 * declares (kube-pki:certificates land anywhere, not only in a scanned PKI dir), each
 * certificate with its key so a key that no longer matches is seen. Empty for stacks without them.
 */
export function declaredReads(cluster: ClusterSpec): Record<string, DeclaredReads> {
    const out: Record<string, DeclaredReads> = {};
    if (!cluster.certificates?.length) return out;
    for (const [node, n] of Object.entries(planCluster(cluster).nodes)) {
        const stack = n.files.filter((f) => f.stack);
        if (stack.length === 0) continue;
        out[node] = {
            files: stack.map((f) => f.path),
            pairs: stack.flatMap((f): [string, string][] => (f.material.kind === "leaf-cert" && f.expected?.keyPath ? [[f.path, f.expected.keyPath]] : [])),
        };
    }
    return out;
}
