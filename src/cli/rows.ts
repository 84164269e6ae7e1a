/**
 * Turns drift results into the rows every `check` output shares (table, JSON, metrics): one per
 * certificate or kubeconfig, one per CA, `!MISSING!` and unreachable rows, each with a severity.
 */
import type { CertInfo } from "../drift/cert-info";
import type { DriftReason, FileVerdict, NodeDriftResult } from "../drift/report";

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

const CA_NAMES: Record<string, string> = { "ca.crt": "ca", "front-proxy-ca.crt": "front-proxy-ca", "etcd/ca.crt": "etcd-ca" };
const CA_KEYS: Record<string, string> = { ca: "ca.key", "front-proxy-ca": "front-proxy-ca.key", "etcd-ca": "etcd/ca.key" };

/** kubeadm's certificate names; strays keep their path under the PKI dir. */
function certName(key: string, p: string): string {
    if (CA_NAMES[key]) return CA_NAMES[key];
    if (key.endsWith(".conf") || key === "kubelet-client-current") return key;
    if (key.startsWith("etcd/")) return `etcd-${key.slice(5).replace(/\.crt$/, "")}`;
    if (key.endsWith(".crt")) return key.replace(/\.crt$/, "");
    return p.replace(/^.*\/pki\//, "");
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
export function checkRows(results: readonly NodeDriftResult[]): NodeRows[] {
    return results.map((r) => {
        const caKeyPresent = new Set(r.files.filter((f) => f.kind === "private-key").map((f) => f.key));
        const authorityOf = (cert: CertInfo | undefined): string => {
            if (!cert) return "";
            if (cert.signedBy) return CA_NAMES[Object.keys(CA_NAMES).find((k) => cert.signedBy!.endsWith(`/pki/${k}`)) ?? ""] ?? cert.signedBy;
            return `foreign:${cert.issuerCN ?? "?"}`;
        };
        const rows: CheckRow[] = [];
        for (const f of r.files) {
            const isCertLike = f.kind === "certificate" || f.kind === "kubeconfig" || f.kind === "kubelet-pem"
                || (f.kind === undefined && (f.key.endsWith(".crt") || f.key.endsWith(".conf")));
            if (!isCertLike) continue;
            const name = certName(f.key, f.path);
            const isCa = Boolean(CA_NAMES[f.key]);
            const authority = isCa ? "" : authorityOf(f.cert);
            const external = isCa
                ? !caKeyPresent.has(CA_KEYS[name])
                : f.key === "kubelet-client-current" || (authority !== "" && !authority.startsWith("foreign:") && !caKeyPresent.has(CA_KEYS[authority]));
            rows.push({
                node: r.node, name, path: f.path, section: isCa ? "authority" : "certificate",
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
