/**
 * `--prometheus FILE`: a node_exporter textfile using x509-certificate-exporter's metric names and
 * labels (filename, filepath, serial_number, subject_*, issuer_*, embedded_kind), plus a `node`
 * label (one file covers many nodes), and kube-pki's own series: kube_pki_served_cert_mismatch,
 * kube_pki_node_up (every node, so an unreachable one is a 0, not a gap) and
 * kube_pki_check_timestamp_seconds (node_exporter serves a textfile for as long as it exists, so
 * only this tells a fresh file from a stale one). Written atomically.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CertInfo } from "../drift/cert-info";
import type { NodeRows } from "./rows";

const HELP: ReadonlyArray<[string, string]> = [
    ["x509_cert_not_before", "Indicates the certificate's not before timestamp"],
    ["x509_cert_not_after", "Indicates the certificate's not after timestamp"],
    ["x509_cert_expired", "Indicates if the certificate is expired"],
    ["x509_cert_expires_in_seconds", "Indicates the remaining time before the certificate's not after timestamp"],
    ["x509_cert_valid_since_seconds", "Indicates the elapsed time since the certificate's not before timestamp"],
];

function escapeLabel(v: string): string {
    return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Labels sorted by name, as client_golang prints them. */
function labelText(labels: Record<string, string>): string {
    return "{" + Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",") + "}";
}

function certLabels(node: string, filePath: string, cert: CertInfo, kubeconfig: boolean): Record<string, string> {
    const labels: Record<string, string> = {
        node, filename: path.posix.basename(filePath), filepath: filePath, serial_number: cert.serialNumber,
    };
    if (cert.subjectCN) labels.subject_CN = cert.subjectCN;
    if (cert.subjectO[0]) labels.subject_O = cert.subjectO[0];
    if (cert.issuerCN) labels.issuer_CN = cert.issuerCN;
    if (cert.issuerO[0]) labels.issuer_O = cert.issuerO[0];
    if (kubeconfig) labels.embedded_kind = "user";
    return labels;
}

export function renderPrometheus(nodes: readonly NodeRows[], now: Date): string {
    const series = new Map<string, string[]>(HELP.map(([name]) => [name, []]));
    let readErrors = 0;
    const mismatch: string[] = [];
    const up: string[] = [];
    const nowS = Math.floor(now.getTime() / 1000);
    for (const n of nodes) {
        up.push(`kube_pki_node_up${labelText({ node: n.node })} ${n.reachable ? 1 : 0}`);
        if (!n.reachable) { readErrors++; continue; }
        for (const r of n.rows) {
            if (!r.cert) { readErrors++; continue; }
            const l = labelText(certLabels(n.node, r.path, r.cert, r.path.endsWith(".conf")));
            const notBefore = Math.floor(r.cert.notBefore.getTime() / 1000);
            const notAfter = Math.floor(r.cert.notAfter.getTime() / 1000);
            series.get("x509_cert_not_before")!.push(`x509_cert_not_before${l} ${notBefore}`);
            series.get("x509_cert_not_after")!.push(`x509_cert_not_after${l} ${notAfter}`);
            series.get("x509_cert_expired")!.push(`x509_cert_expired${l} ${nowS > notAfter ? 1 : 0}`);
            series.get("x509_cert_expires_in_seconds")!.push(`x509_cert_expires_in_seconds${l} ${notAfter - nowS}`);
            series.get("x509_cert_valid_since_seconds")!.push(`x509_cert_valid_since_seconds${l} ${nowS - notBefore}`);
            if (r.served !== "-") {
                mismatch.push(`kube_pki_served_cert_mismatch${labelText({ node: n.node, filepath: r.path })} ${r.served === "ok" ? 0 : 1}`);
            }
        }
    }
    const out: string[] = [];
    for (const [name, help] of HELP) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...series.get(name)!);
    out.push("# HELP x509_read_errors Indicates the number of read failure(s)", "# TYPE x509_read_errors gauge", `x509_read_errors ${readErrors}`);
    out.push("# HELP kube_pki_served_cert_mismatch 1 when the certificate a component serves differs from the one on disk (or nothing is served)",
        "# TYPE kube_pki_served_cert_mismatch gauge", ...mismatch);
    out.push("# HELP kube_pki_node_up 1 when kube-pki read the node, 0 when it could not reach or read it",
        "# TYPE kube_pki_node_up gauge", ...up);
    out.push("# HELP kube_pki_check_timestamp_seconds Unix time of the check that wrote this file",
        "# TYPE kube_pki_check_timestamp_seconds gauge", `kube_pki_check_timestamp_seconds ${nowS}`);
    return out.join("\n") + "\n";
}

/**
 * Writes beside the target and renames, so node_exporter never reads half a file. World-readable
 * whatever the umask (the systemd example runs with UMask=0077; node_exporter is another user).
 */
export function writeFileAtomically(file: string, text: string): void {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, file);
}
