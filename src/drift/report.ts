/**
 * Compares a node's inventory with what the stack wants there and says, per file, why it is not
 * fine (or that it is). Pure: no I/O, no Pulumi; the program puts the reasons into preview
 * diagnostics and repair triggers, the CLI into its table, JSON and metrics.
 */
import { canonicalIp, shortFingerprint, type CertInfo } from "./cert-info";
import { KUBELET_CLIENT_KEY, type InventoryFile, type NodeInventory, type ServedCert } from "./inventory";
import type { Component } from "../pki/components";
import type { KnownFile } from "../pki/plan";
import { isRotationMarker } from "../pki/ca-rotation";

/** What a certificate should look like (structurally the lead's `ExpectedCert`, minus Pulumi). */
export interface ExpectedCertSummary {
    readonly subject: {
        readonly commonName: string;
        readonly organizations: readonly string[];
        readonly dnsNames: readonly string[];
        readonly ipAddresses: readonly string[];
    };
    readonly issuerCommonName: string;
    /** Path of the CA certificate on the node that must verify it. */
    readonly caPath: string;
    /** The signing CA is adopted: judged by its signature (its own subject is the cluster's, e.g. kube-ca, O=k8s). */
    readonly adoptedIssuer?: boolean;
}

/** One file the stack wants on a node, reduced to what can be compared without secrets. */
export interface WantedFileSummary {
    readonly key: string;
    readonly path: string;
    readonly expected?: ExpectedCertSummary;
    /** SHA-256 (hex) of the wanted content, when known. */
    readonly sha256?: string;
    /** Components that read it, for the cluster's version (the plan's): a re-push restarts these. */
    readonly consumers?: readonly Component[];
    /** Readers outside the component table (kube-pki:certificates consumers): a re-push restarts these too. */
    readonly extraConsumers?: readonly string[];
    /** The plan's name of the certificate it holds ("apiserver", a kube-pki:certificates id); none for keys. */
    readonly name?: string;
}

/** Ordered worst first: a file's `reason` is the first of its `reasons` in this order. */
export const DRIFT_REASONS = [
    "unreachable", "missing", "key-mismatch", "served-mismatch", "differs", "spec-changed",
    "expired", "not-yet-valid", "expiring", "ok",
] as const;
export type DriftReason = (typeof DRIFT_REASONS)[number];

/** Reasons that mean the node must get the wanted files again (expiry is the issuer's job). */
export const REPUSH_REASONS: readonly DriftReason[] = ["missing", "differs", "spec-changed", "key-mismatch", "served-mismatch"];

export interface ServedVerdict {
    component: ServedCert["component"];
    port: number;
    sha256?: string;
    error?: string;
}

export interface FileVerdict {
    key: string;
    path: string;
    reason: DriftReason;
    /** Every reason found, worst first (at least one). */
    reasons: DriftReason[];
    /** Human detail: "expires in 9d", "SANs +DNS:x −IP:y", "served sha256:ab… ≠ disk sha256:cd…". */
    detail: string;
    /** False for files the stack does not manage (kubelet's rotated cert, strays): never a re-push. */
    managed: boolean;
    kind?: InventoryFile["kind"];
    cert?: CertInfo;
    /** What the component serves, for the file it serves from. */
    served?: ServedVerdict;
    /** From the wanted file: the components a re-push of it restarts. */
    consumers?: readonly Component[];
    /** From the wanted file: readers outside the component table a re-push restarts. */
    extraConsumers?: readonly string[];
    /** From the wanted file: the plan's name of its certificate. */
    name?: string;
}

export interface NodeDriftResult {
    node: string;
    role: NodeInventory["role"];
    reachable: boolean;
    error?: string;
    skewSeconds?: number;
    files: FileVerdict[];
    /** Served certificates not tied to a file on disk (self-signed in memory, or unreadable). */
    served: ServedVerdict[];
}

export interface CompareOptions {
    now: Date;
    renewBeforeDays: number;
    /**
     * Without a wanted list: what the catalogue puts at the layout's paths (src/pki/plan.ts
     * knownFiles), so a required file that is absent is reported missing. Unset: nothing is.
     */
    known?: ReadonlyMap<string, KnownFile>;
}

const DAY = 86_400_000;

/** "9d", "5h", "12m", "30s" (always whole units, rounded down). */
export function humanDuration(ms: number): string {
    const s = Math.floor(Math.abs(ms) / 1000);
    if (s >= 86_400) return `${Math.floor(s / 86_400)}d`;
    if (s >= 3600) return `${Math.floor(s / 3600)}h`;
    if (s >= 60) return `${Math.floor(s / 60)}m`;
    return `${s}s`;
}

function setDiff(label: string, wanted: readonly string[], actual: readonly string[]): string | undefined {
    const w = new Set(wanted);
    const a = new Set(actual);
    const plus = [...w].filter((x) => !a.has(x)).map((x) => `+${x}`);
    const minus = [...a].filter((x) => !w.has(x)).map((x) => `−${x}`);
    return plus.length + minus.length ? `${label} ${[...plus, ...minus].join(" ")}` : undefined;
}

/** Subject/SAN/issuer differences; "+x" is wanted but missing on the node, "−y" is on the node but not wanted. */
function specDifferences(cert: CertInfo, expected: ExpectedCertSummary): string[] {
    // An adopted CA's own certificate: whatever subject the cluster gave it is right.
    if (expected.adoptedIssuer && cert.isCa && cert.selfSigned && cert.signedBy === expected.caPath) return [];
    const out: string[] = [];
    if ((cert.subjectCN ?? "") !== expected.subject.commonName) out.push(`CN ${cert.subjectCN ?? "(none)"} → ${expected.subject.commonName}`);
    // A CA kube-pki generated for a rotation carries its marker as O: still the CA's own certificate.
    const ownCa = cert.isCa && cert.selfSigned && cert.signedBy === expected.caPath;
    const o = setDiff("O", expected.subject.organizations, ownCa ? cert.subjectO.filter((x) => !isRotationMarker(x)) : cert.subjectO);
    if (o) out.push(o);
    const sans = setDiff("SANs",
        [...expected.subject.dnsNames.map((d) => `DNS:${d}`), ...expected.subject.ipAddresses.map((i) => `IP:${canonicalIp(i)}`)],
        [...cert.dnsNames.map((d) => `DNS:${d}`), ...cert.ipAddresses.map((i) => `IP:${i}`)]);
    if (sans) out.push(sans);
    // An adopted CA's subject is the cluster's own: its signature says whether it signed this.
    if (expected.adoptedIssuer && cert.signedBy === expected.caPath) return out;
    if (expected.adoptedIssuer) out.push(`not signed by ${expected.caPath} (issuer CN ${cert.issuerCN ?? "(none)"})`);
    else if ((cert.issuerCN ?? "") !== expected.issuerCommonName) out.push(`issuer CN ${cert.issuerCN ?? "(none)"} ≠ ${expected.issuerCommonName}`);
    else if (cert.signedBy !== expected.caPath) out.push(`not signed by ${expected.caPath}`);
    return out;
}

interface Finding {
    reason: DriftReason;
    detail: string;
}

function expiryFindings(cert: CertInfo, opts: CompareOptions): Finding[] {
    const now = opts.now.getTime();
    const left = cert.notAfter.getTime() - now;
    if (left <= 0) return [{ reason: "expired", detail: `expired ${humanDuration(left)} ago` }];
    const out: Finding[] = [];
    if (cert.notBefore.getTime() > now) {
        out.push({ reason: "not-yet-valid", detail: `valid from ${cert.notBefore.toISOString()} (in ${humanDuration(cert.notBefore.getTime() - now)})` });
    }
    if (left < opts.renewBeforeDays * DAY) out.push({ reason: "expiring", detail: `expires in ${humanDuration(left)}` });
    return out;
}

function servedFinding(cert: CertInfo | undefined, served: ServedCert | undefined): Finding[] {
    if (!served || !cert) return [];
    if (!served.cert) return [{ reason: "served-mismatch", detail: `nothing served on :${served.port} (${served.error ?? "no certificate"})` }];
    if (served.cert.sha256 === cert.sha256) return [];
    return [{ reason: "served-mismatch", detail: `served ${shortFingerprint(served.cert.sha256)} ≠ disk ${shortFingerprint(cert.sha256)}` }];
}

function servedVerdict(s: ServedCert): ServedVerdict {
    return { component: s.component, port: s.port, ...(s.cert ? { sha256: s.cert.sha256 } : { error: s.error ?? "no certificate" }) };
}

function verdict(key: string, path: string, managed: boolean, findings: Finding[], file?: InventoryFile, served?: ServedCert,
    wanted?: WantedFileSummary): FileVerdict {
    const sorted = [...findings].sort((a, b) => DRIFT_REASONS.indexOf(a.reason) - DRIFT_REASONS.indexOf(b.reason));
    const reasons = sorted.length ? [...new Set(sorted.map((f) => f.reason))] : (["ok"] as DriftReason[]);
    return {
        key, path, reason: reasons[0], reasons,
        detail: sorted.map((f) => f.detail).join("; "),
        managed,
        ...(file ? { kind: file.kind } : {}),
        ...(file?.cert ? { cert: file.cert } : {}),
        ...(served ? { served: servedVerdict(served) } : {}),
        ...(wanted?.consumers ? { consumers: wanted.consumers } : {}),
        ...(wanted?.extraConsumers?.length ? { extraConsumers: wanted.extraConsumers } : {}),
        ...(wanted?.name ? { name: wanted.name } : {}),
    };
}

/** Findings every present file gets, with or without a wanted list. */
function fileFindings(file: InventoryFile, opts: CompareOptions, served: ServedCert | undefined): Finding[] {
    const out: Finding[] = [];
    if (file.unreadable) out.push({ reason: "differs", detail: "not readable" });
    if (file.parseError) out.push({ reason: "differs", detail: file.parseError });
    if (file.keyMatches === false) {
        out.push({ reason: "key-mismatch", detail: file.kind === "public-key" ? "private key does not match the public key" : "private key does not match the certificate" });
    }
    if (file.cert) {
        out.push(...expiryFindings(file.cert, opts));
        out.push(...servedFinding(file.cert, served));
    }
    return out;
}

/**
 * Files a node of this role must hold when there is no wanted list: those the catalogue requires
 * on every cluster (knownFiles' requiredOn). A node without any etcd file runs external etcd: its
 * etcd files are not ours to judge.
 */
function expectedFiles(inventory: NodeInventory, known: ReadonlyMap<string, KnownFile>): { key: string; file: InventoryFile }[] {
    const etcd = inventory.files.some((f) => f.exists && known.get(f.path)?.etcd);
    return inventory.files.flatMap((file) => {
        const k = known.get(file.path);
        return k?.requiredOn?.includes(inventory.role) && (etcd || !k.etcd) ? [{ key: k.key as string, file }] : [];
    });
}

/**
 * Per-file verdicts for one node. With `wanted`, each wanted file is judged against its content
 * hash and expected subject; without it (the CLI given only hosts), files are judged by expiry,
 * chain to the node's own CAs, key match and served-vs-disk alone. Files the stack does not
 * manage (kubelet's rotated cert, strays) are judged alone and marked `managed: false`.
 */
export function compareNode(wanted: readonly WantedFileSummary[] | undefined, inventory: NodeInventory, opts: CompareOptions): NodeDriftResult {
    const base = { node: inventory.node, role: inventory.role, reachable: inventory.reachable,
        ...(inventory.error ? { error: inventory.error } : {}),
        ...(inventory.skewSeconds !== undefined ? { skewSeconds: inventory.skewSeconds } : {}) };
    if (!inventory.reachable) {
        const detail = `node unreachable: ${inventory.error ?? "unknown error"}`;
        return { ...base, files: (wanted ?? []).map((w) => verdict(w.key, w.path, true, [{ reason: "unreachable", detail }])), served: [] };
    }
    const byPath = new Map(inventory.files.map((f) => [f.path, f]));
    const servedFor = (p: string) => inventory.served.find((s) => s.diskPath === p);
    const files: FileVerdict[] = [];
    const judged = new Set<string>();

    if (wanted) {
        for (const w of wanted) {
            judged.add(w.path);
            const file = byPath.get(w.path);
            if (!file?.exists) {
                files.push(verdict(w.key, w.path, true, [{ reason: "missing", detail: "not on node" }], file, undefined, w));
                continue;
            }
            const served = servedFor(w.path);
            const findings = fileFindings(file, opts, served);
            if (w.sha256 && file.sha256 && w.sha256 !== file.sha256) {
                findings.push({ reason: "differs", detail: `content ${shortFingerprint(file.sha256)} ≠ wanted ${shortFingerprint(w.sha256)}` });
            }
            if (w.expected && file.cert) {
                const diffs = specDifferences(file.cert, w.expected);
                if (diffs.length) findings.push({ reason: "spec-changed", detail: diffs.join("; ") });
            }
            files.push(verdict(w.key, w.path, true, findings, file, served, w));
        }
    } else {
        for (const { key, file } of opts.known ? expectedFiles(inventory, opts.known) : []) {
            if (!file.exists) {
                judged.add(file.path);
                files.push(verdict(key, file.path, true, [{ reason: "missing", detail: "not on node" }], file));
            }
        }
    }

    // Everything else that is on the node: judged on its own.
    for (const file of inventory.files) {
        if (judged.has(file.path) || !file.exists) continue;
        const served = servedFor(file.path);
        const findings = fileFindings(file, opts, served);
        const chainless = file.cert && !file.cert.signedBy && !(file.cert.isCa && file.cert.selfSigned);
        if (chainless) findings.push({ reason: "spec-changed", detail: `issuer CN ${file.cert!.issuerCN ?? "(none)"} is not a CA on this node` });
        const managed = !wanted && file.key !== undefined && file.key !== KUBELET_CLIENT_KEY;
        if (wanted && file.key === undefined && file.kind === "private-key") continue;
        if (wanted && file.key !== KUBELET_CLIENT_KEY) {
            // Not declared by the stack (an omitted entry, a file nothing reads any more): info, not a problem.
            const info = verdict(file.key ?? file.path, file.path, false, [], file, served);
            const seen = findings.map((f) => f.detail).join("; ");
            files.push({ ...info, detail: `not declared by this stack, left as it is${seen ? ` (${seen})` : ""}` });
            continue;
        }
        files.push(verdict(file.key ?? file.path, file.path, managed, findings, file, served));
    }

    const tied = new Set(files.map((f) => f.served?.component).filter(Boolean));
    return { ...base, files, served: inventory.served.filter((s) => !tied.has(s.component)).map(servedVerdict) };
}

/** Does the node need the wanted files pushed again (and its components restarted)? */
export function nodeDrifted(result: NodeDriftResult): boolean {
    return result.reachable && result.files.some((f) => f.managed && f.reasons.some((r) => REPUSH_REASONS.includes(r)));
}

function pad(text: string, width: number): string {
    return text + " ".repeat(Math.max(0, width - text.length));
}

/** Fixed-width rows from a header and cells (last column unpadded). */
export function fixedWidth(header: readonly string[], rows: ReadonlyArray<readonly string[]>, gap = 3): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: readonly string[]) =>
        cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] + gap))).join("").trimEnd();
    return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** The drift table for preview diagnostics: one row per file that is not ok, and per unreachable node. */
export function renderDriftTable(results: readonly NodeDriftResult[], options: { all?: boolean } = {}): string {
    const rows: string[][] = [];
    for (const r of results) {
        if (!r.reachable && r.files.length === 0) {
            rows.push([r.node, "-", "unreachable", `node unreachable: ${r.error ?? "unknown error"}`]);
            continue;
        }
        for (const f of r.files) {
            if (f.reason === "ok" && !options.all) continue;
            rows.push([r.node, f.key, f.reasons.join(","), f.detail || "-"]);
        }
    }
    if (rows.length === 0) return "no drift\n";
    return fixedWidth(["NODE", "FILE", "REASON", "DETAIL"], rows);
}
