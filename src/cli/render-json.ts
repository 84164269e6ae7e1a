/** `--output json`: one document on stdout, 2-space indented, certificate names as keys. */
import type { CheckRow, NodeRows, Severity } from "./rows";

function certJson(r: CheckRow, now: Date) {
    return {
        path: r.path,
        missing: r.missing,
        expires: r.cert?.notAfter.toISOString() ?? null,
        residualSeconds: r.cert ? Math.floor((r.cert.notAfter.getTime() - now.getTime()) / 1000) : null,
        ...(r.section === "certificate" ? { certificateAuthority: r.authority || null } : {}),
        externallyManaged: r.externallyManaged,
        ...(r.section === "certificate" ? { served: r.served } : {}),
        status: r.status,
        detail: r.detail,
        severity: r.severity,
        subject: r.cert ? { CN: r.cert.subjectCN ?? null, O: r.cert.subjectO } : null,
        issuer: r.cert ? { CN: r.cert.issuerCN ?? null } : null,
        serialNumber: r.cert?.serialNumber ?? null,
        sha256: r.cert?.sha256 ?? null,
    };
}

export function renderJson(nodes: readonly NodeRows[], summary: { severity: Severity; exitCode: number; warnDays: number }, now: Date): string {
    const doc = {
        status: summary.severity,
        exitCode: summary.exitCode,
        warnDays: summary.warnDays,
        checkedAt: now.toISOString(),
        nodes: Object.fromEntries(nodes.map((n) => [n.node, {
            reachable: n.reachable,
            ...(n.error ? { error: n.error } : {}),
            skewSeconds: n.skewSeconds ?? null,
            certificates: Object.fromEntries(n.rows.filter((r) => r.section === "certificate").map((r) => [r.name, certJson(r, now)])),
            certificateAuthorities: Object.fromEntries(n.rows.filter((r) => r.section === "authority").map((r) => [r.name, certJson(r, now)])),
        }])),
    };
    return JSON.stringify(doc, null, 2) + "\n";
}
