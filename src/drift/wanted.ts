/**
 * What the stack wants on each node, for drift and `kube-pki check --stack` (no Pulumi, no
 * secrets): the per-node plan (src/pki/plan.ts, the same one ClusterPki turns into resources)
 * reduced to what can be compared without issued PEMs: key, path, kubeadm name, and the subject,
 * SANs and signing CA a certificate must have. No content hashes: the report judges missing
 * files, subjects and issuers from it.
 */
import { planNodeFiles, type PlannedFile } from "../pki/plan";
import type { ClusterSpec } from "../spec";
import type { WantedFileSummary } from "./report";

/** One planned file as drift compares it. */
export function wantedSummary(f: PlannedFile): WantedFileSummary {
    const e = f.expected;
    return {
        key: f.key, path: f.path, consumers: f.consumers,
        ...(e ? { expected: { subject: e.subject, issuerCommonName: e.issuerCommonName, caPath: e.caPath, ...(e.adoptedIssuer ? { adoptedIssuer: true } : {}) } } : {}),
    };
}

/**
 * Wanted files per node name, in catalogue order. kube-pki:certificates files are left out until
 * the inventory reads their paths (it reads the layout's): they would all read as missing.
 */
export function wantedFromSpec(cluster: ClusterSpec): Record<string, WantedFileSummary[]> {
    return Object.fromEntries(Object.entries(planNodeFiles(cluster)).map(([node, files]) => [node, files.filter((f) => !f.stack).map(wantedSummary)]));
}
