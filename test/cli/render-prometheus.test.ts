/**
 * The textfile renderer's own series: kube_pki_node_up lists every node (unreachable ones as 0,
 * with none of their certificate series), kube_pki_check_timestamp_seconds is the check's time,
 * and the x509-certificate-exporter series stay as they were; the file is readable by node_exporter.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { CertInfo } from "../../src/drift/cert-info";
import { renderPrometheus, writeFileAtomically } from "../../src/cli/render-prometheus";
import type { CheckRow, NodeRows } from "../../src/cli/rows";

const NOW = new Date("2026-12-02T00:00:00Z");
const NOW_S = 1796169600; // date -d 2026-12-02T00:00:00Z +%s

function cert(cn: string, notBefore: string, notAfter: string): CertInfo {
    return { subjectCN: cn, subjectO: [], issuerCN: "kubernetes", issuerO: [], dnsNames: [], ipAddresses: [],
        notBefore: new Date(notBefore), notAfter: new Date(notAfter), sha256: "ab".repeat(32), serialNumber: "42",
        isCa: false, selfSigned: false, pem: "" };
}

function row(node: string, path: string, c: CertInfo | undefined, served = "-"): CheckRow {
    return { node, name: path.split("/").pop()!, path, section: "certificate", missing: !c, ...(c ? { cert: c } : {}),
        authority: "", externallyManaged: false, served, status: c ? "ok" : "missing", detail: "", severity: c ? "ok" : "critical" };
}

const nodes: NodeRows[] = [
    { node: "master-1", reachable: true, rows: [
        row("master-1", "/etc/kubernetes/pki/apiserver.crt", cert("kube-apiserver", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"), "MISMATCH"),
        row("master-1", "/etc/kubernetes/pki/front-proxy-client.crt", undefined),
    ] },
    { node: "worker-1", reachable: false, error: "ECONNREFUSED", rows: [] },
];

const lines = (text: string, metric: string) => text.split("\n").filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));

describe("renderPrometheus", () => {
    const text = renderPrometheus(nodes, NOW);

    it("lists every node in kube_pki_node_up, 1 when read and 0 when unreachable", () => {
        expect(text).toContain("# TYPE kube_pki_node_up gauge\n");
        expect(lines(text, "kube_pki_node_up")).toEqual(['kube_pki_node_up{node="master-1"} 1', 'kube_pki_node_up{node="worker-1"} 0']);
    });

    it("writes the check's time as kube_pki_check_timestamp_seconds (whole seconds)", () => {
        expect(text).toContain("# TYPE kube_pki_check_timestamp_seconds gauge\n");
        expect(lines(text, "kube_pki_check_timestamp_seconds")).toEqual([`kube_pki_check_timestamp_seconds ${NOW_S}`]);
        const later = renderPrometheus(nodes, new Date(NOW.getTime() + 1999));
        expect(lines(later, "kube_pki_check_timestamp_seconds")).toEqual([`kube_pki_check_timestamp_seconds ${NOW_S + 1}`]);
    });

    it("keeps the x509-certificate-exporter series, the mismatch gauge and the read errors (missing file + unreachable node)", () => {
        const labels = 'filename="apiserver.crt",filepath="/etc/kubernetes/pki/apiserver.crt",issuer_CN="kubernetes",node="master-1",serial_number="42",subject_CN="kube-apiserver"';
        expect(lines(text, "x509_cert_not_after")).toEqual([`x509_cert_not_after{${labels}} 1798761600`]);
        expect(lines(text, "x509_cert_not_before")).toEqual([`x509_cert_not_before{${labels}} 1767225600`]);
        expect(lines(text, "x509_cert_expired")).toEqual([`x509_cert_expired{${labels}} 0`]);
        expect(lines(text, "x509_cert_expires_in_seconds")).toEqual([`x509_cert_expires_in_seconds{${labels}} ${1798761600 - NOW_S}`]);
        expect(lines(text, "kube_pki_served_cert_mismatch")).toEqual(['kube_pki_served_cert_mismatch{filepath="/etc/kubernetes/pki/apiserver.crt",node="master-1"} 1']);
        expect(lines(text, "x509_read_errors")).toEqual(["x509_read_errors 2"]);
        // Nothing of the unreachable node but its up gauge.
        expect(text.split("\n").filter((l) => l.includes('node="worker-1"'))).toEqual(['kube_pki_node_up{node="worker-1"} 0']);
    });

    it("declares each metric once, HELP and TYPE before its samples, and ends with a newline", () => {
        const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
        expect(new Set(types).size).toBe(types.length);
        for (const name of types) {
            const at = text.indexOf(`# TYPE ${name} gauge\n`);
            expect(text.indexOf(`# HELP ${name} `)).toBeLessThan(at);
            for (const l of lines(text, name)) expect(text.indexOf(l)).toBeGreaterThan(at);
        }
        expect(text.endsWith("\n")).toBe(true);
    });
});

describe("writeFileAtomically", () => {
    it("leaves a world-readable file and no temp file, whatever the umask", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-textfile-"));
        const old = process.umask(0o077);
        try {
            const file = path.join(dir, "kube_pki.prom");
            writeFileAtomically(file, "x509_read_errors 0\n");
            expect(fs.statSync(file).mode & 0o777).toBe(0o644);
            expect(fs.readdirSync(dir)).toEqual(["kube_pki.prom"]);
        } finally {
            process.umask(old);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
