/**
 * Turns drift results into the rows every `check` output shares (table, JSON, metrics): one per
 * certificate or kubeconfig, one per CA, `!MISSING!` and unreachable rows, each with a severity.
 */
import type { CertInfo } from "../drift/cert-info";
import { KUBELET_CLIENT_KEY } from "../drift/inventory";
import type { DriftReason, FileVerdict, NodeDriftResult } from "../drift/report";
import type { KnownFile } from "../pki/plan";

export type Severity = "ok" | "warning" | "critical";

export interface CheckRow {
    node: string;
    /** kubeadm's name: "apiserver", "admin.conf", "etcd-server", "ca". */
    name: string;
    path: string;
    section: "certificate" | "authority";
    missing: boolean;
    cert?: CertInfo;
    /** CA name of the signer ("ca", "etcd-ca"), or "foreign:<issuer CN>". */
    authority: string;
    externallyManaged: boolean;
    /** ok | MISMATCH | down | - (not served or not checked). */
    served: string;
    status: DriftReason;
    detail: string;
    severity: Severity;
    /** Kubeconfig rows: the embedded CA ("cluster" in x509-certificate-exporter terms). */
    embeddedCa?: CertInfo;
}

export interface NodeRows {
    node: string;
    reachable: boolean;
    error?: string;
    skewSeconds?: number;
    rows: CheckRow[];
}

/**
 * A file's name in the rows: the catalogue's (kubeadm's) for known paths, the plan's for the
 * stack's other files (a kube-pki:certificates id); strays keep their path under the PKI dir.
 */
function rowName(f: FileVerdict, known: ReadonlyMap<string, KnownFile>): string {
    return known.get(f.path)?.name ?? f.name ?? (f.key === KUBELET_CLIENT_KEY ? f.key : f.path.replace(/^.*\/pki\//, ""));
}

export function severityOf(reasons: readonly DriftReason[]): Severity {
    if (reasons.every((r) => r === "ok")) return "ok";
    return reasons.every((r) => r === "ok" || r === "expiring") ? "warning" : "critical";
}

function servedColumn(f: FileVerdict): string {
    if (!f.served) return "-";
    if (!f.served.sha256) return "down";
    return f.served.sha256 === f.cert?.sha256 ? "ok" : "MISMATCH";
}

/** Rows per node; `warnDays` is already applied by compareNode's renewBeforeDays. */
export function checkRows(results: readonly NodeDriftResult[], known: ReadonlyMap<string, KnownFile>): NodeRows[] {
    return results.map((r) => {
        const keyPresent = new Set(r.files.filter((f) => f.kind === "private-key").map((f) => f.path));
        const caKeyOf = (ca: string) => [...known.values()].find((k) => k.ca === ca)?.caKeyPath;
        const authorityOf = (cert: CertInfo | undefined): string => {
            if (!cert) return "";
            if (cert.signedBy) return known.get(cert.signedBy)?.ca ?? cert.signedBy;
            return `foreign:${cert.issuerCN ?? "?"}`;
        };
        const rows: CheckRow[] = [];
        for (const f of r.files) {
            const isCertLike = f.kind === "certificate" || f.kind === "kubeconfig" || f.kind === "kubelet-pem"
                || (f.kind === undefined && (f.key.endsWith(".crt") || f.key.endsWith(".conf")));
            if (!isCertLike) continue;
            const ca = known.get(f.path)?.ca;
            const name = rowName(f, known);
            const authority = ca ? "" : authorityOf(f.cert);
            const caKey = (id: string) => { const p = caKeyOf(id); return p !== undefined && keyPresent.has(p); };
            const external = ca
                ? !caKey(ca)
                : f.key === KUBELET_CLIENT_KEY || (authority !== "" && !authority.startsWith("foreign:") && !caKey(authority));
            rows.push({
                node: r.node, name, path: f.path, section: ca ? "authority" : "certificate",
                missing: f.reason === "missing" || f.reason === "unreachable",
                ...(f.cert ? { cert: f.cert } : {}),
                authority, externallyManaged: external, served: servedColumn(f),
                status: f.reason, detail: f.detail, severity: severityOf(f.reasons),
            });
        }
        rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return {
            node: r.node, reachable: r.reachable, rows,
            ...(r.error ? { error: r.error } : {}),
            ...(r.skewSeconds !== undefined ? { skewSeconds: r.skewSeconds } : {}),
        };
    });
}

/** The worst severity over every row and unreachable node. */
export function overallSeverity(nodes: readonly NodeRows[]): Severity {
    let worst: Severity = "ok";
    for (const n of nodes) {
        if (!n.reachable) return "critical";
        for (const row of n.rows) {
            if (row.severity === "critical") return "critical";
            if (row.severity === "warning") worst = "warning";
        }
    }
    return worst;
}

export const EXIT_CODES: Record<Severity, number> = { ok: 0, warning: 1, critical: 2 };
