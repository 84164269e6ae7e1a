/**
 * What each certificate file on each node gets from this run, and why, with the values that
 * decide it: computed at program time from the spec and the node's inventory, so every value is
 * known in preview (the engine's own plan is not: a reissued certificate's notAfter is unknown
 * until it is issued). Pure: no I/O, no Pulumi.
 *
 * The engine reissues a leaf (tls LocallySignedCert) when it is ready for renewal (now ≥ notAfter
 * − renew-before), or its validity, subject, SANs or key algorithm changed. The certificate on
 * disk stands for the one in state when kube-pki's install record shows it put that very file
 * there. CAs are never reissued implicitly; re-push and restart-only come from the drift verdicts.
 */
import { X509Certificate } from "node:crypto";
import { CA_CONFIG_KEY } from "../pki/catalog";
import { decideKubeletClient, type KubeletClientDecision, type KubeletClientRotation } from "../pki/kubelet-client";
import { planCluster, type PlannedFile as PlanFile } from "../pki/plan";
import type { ClusterSpec, KeyAlgorithm } from "../spec";
import { canonicalIp, shortFingerprint, type CertInfo } from "./cert-info";
import type { NodeInventory } from "./inventory";
import { compareNode, fixedWidth, type FileVerdict, type WantedFileSummary } from "./report";
import { wantedSummary } from "./wanted";

export const FILE_ACTIONS = ["reissue", "re-push", "restart only", "keep"] as const;
/** Ordered strongest first: a reissued file is also pushed and its readers restarted. */
export type FileAction = (typeof FILE_ACTIONS)[number];

export interface PlannedFile {
    action: FileAction;
    /** Why, with the values: "expires in 25 d, inside renew-before 30 d"; "validity 365 d → 730 d". */
    reason: string;
    /**
     * notAfter (ISO 8601) the file will hold after the run: the disk's for keep, now + validity
     * for reissue; "" when it cannot be told before the run (the node holds other content).
     */
    expires: string;
}

export interface PlanOptions {
    now: Date;
    /**
     * Nodes whose drifted files this run pushes again (the program's repairs). Re-push and
     * restart-only apply only there; elsewhere the drift is reported but left alone.
     * Undefined: every reachable node.
     */
    repairedNodes?: ReadonlySet<string>;
    /** Why a node without inventory was not read ("drift detection disabled", …). */
    notInspected?: string;
    /** The cluster CA's rotation, as the program gives decideKubeletClients (the kubelet row must say what the run does). */
    kubeletRotation?: KubeletClientRotation;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** "25 d" for a day or more, else "5 h" / "12 min" (rounded down). */
export function span(ms: number): string {
    const abs = Math.abs(ms);
    if (abs >= DAY) return `${Math.floor(abs / DAY)} d`;
    if (abs >= HOUR) return `${Math.floor(abs / HOUR)} h`;
    return `${Math.floor(abs / 60_000)} min`;
}

function expiryPhrase(cert: CertInfo, now: Date): string {
    const left = cert.notAfter.getTime() - now.getTime();
    return left > 0 ? `expires in ${span(left)}` : `expired ${span(left)} ago`;
}

/** "RSA-2048", "ECDSA-P256", … of a certificate's public key (spec names where there is one). */
export function keyAlgorithmOf(pem: string): string {
    const key = new X509Certificate(pem).publicKey;
    const details = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === "rsa") return `RSA-${details.modulusLength}`;
    if (key.asymmetricKeyType === "ec") {
        const curves: Record<string, string> = { prime256v1: "P256", secp384r1: "P384", secp521r1: "P521", secp224r1: "P224" };
        return `ECDSA-${curves[details.namedCurve ?? ""] ?? details.namedCurve}`;
    }
    return (key.asymmetricKeyType ?? "unknown").toUpperCase();
}

function setDiff(label: string, wanted: readonly string[], actual: readonly string[]): string | undefined {
    const a = new Set(actual);
    const w = new Set(wanted);
    const changes = [...[...w].filter((x) => !a.has(x)).map((x) => `+${x}`), ...[...a].filter((x) => !w.has(x)).map((x) => `−${x}`)];
    return changes.length ? `${label} ${changes.join(" ")}` : undefined;
}

/** Subject and SAN changes the CSR carries ("+" wanted, "−" on disk only). */
function subjectChanges(cert: CertInfo, expected: NonNullable<WantedFileSummary["expected"]>["subject"]): string[] {
    const out: string[] = [];
    if ((cert.subjectCN ?? "") !== expected.commonName) out.push(`CN ${cert.subjectCN ?? "(none)"} → ${expected.commonName}`);
    const o = setDiff("O", expected.organizations, cert.subjectO);
    if (o) out.push(o);
    const sans = setDiff("SANs",
        [...expected.ipAddresses.map((i) => `IP:${canonicalIp(i)}`), ...expected.dnsNames.map((d) => `DNS:${d}`)],
        [...cert.ipAddresses.map((i) => `IP:${i}`), ...cert.dnsNames.map((d) => `DNS:${d}`)]);
    if (sans) out.push(sans);
    return out;
}

/** What the engine would find due on a certificate that is the one in state. */
export function reissueReasons(cert: CertInfo, spec: { days: number; renewBeforeDays: number; keyAlgorithm: KeyAlgorithm },
    expected: NonNullable<WantedFileSummary["expected"]>["subject"], now: Date): string[] {
    const out: string[] = [];
    const left = cert.notAfter.getTime() - now.getTime();
    // The provider's ready_for_renewal: now ≥ notAfter − early_renewal_hours.
    if (left <= spec.renewBeforeDays * DAY) {
        out.push(left <= 0 ? expiryPhrase(cert, now) : `${expiryPhrase(cert, now)}, inside renew-before ${spec.renewBeforeDays} d`);
    }
    const diskDays = Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY);
    if (diskDays !== spec.days) out.push(`validity ${diskDays} d → ${spec.days} d`);
    const algorithm = keyAlgorithmOf(cert.pem);
    if (algorithm !== spec.keyAlgorithm) out.push(`key algorithm ${algorithm} → ${spec.keyAlgorithm}`);
    out.push(...subjectChanges(cert, expected));
    return out;
}

/** Re-push reasons from a drift verdict, with their values (the verdict decides, this only words it). */
function repushReasons(v: FileVerdict | undefined, label: string, inventory: NodeInventory, expected?: WantedFileSummary["expected"]): string[] {
    if (!v) return [];
    const file = inventory.files.find((f) => f.path === v.path);
    const prefix = label ? `${label} ` : "";
    const out: string[] = [];
    if (v.reasons.includes("missing")) out.push(`${prefix}missing`);
    if (v.reasons.includes("differs")) {
        const installed = inventory.installed?.[v.path];
        const why = file?.unreadable ? "not readable" : file?.parseError ? file.parseError
            : file?.sha256 && installed ? `disk ${shortFingerprint(file.sha256)} ≠ installed ${shortFingerprint(installed)}` : "content";
        out.push(`${prefix}differs (${why})`);
    }
    if (v.reasons.includes("key-mismatch")) out.push(`${prefix}key does not match the certificate`);
    // spec-changed also covers subject/SAN changes, which the issuer handles (reissue); the issuer
    // part is what a push fixes.
    if (v.reasons.includes("spec-changed") && expected && v.cert) {
        if ((v.cert.issuerCN ?? "") !== expected.issuerCommonName || v.cert.signedBy !== expected.caPath) {
            out.push(`foreign CA on disk (issuer ${v.cert.issuerCN ?? "(none)"}${v.cert.signedBy ? "" : ", not signed by " + expected.caPath})`);
        }
    }
    return out;
}

function servedReason(v: FileVerdict | undefined): string | undefined {
    if (!v?.reasons.includes("served-mismatch") || !v.served) return undefined;
    if (!v.served.sha256) return `served ≠ disk (nothing served on :${v.served.port}: ${v.served.error ?? "no certificate"})`;
    return `served ≠ disk (served ${shortFingerprint(v.served.sha256)} ≠ disk ${v.cert ? shortFingerprint(v.cert.sha256) : "?"})`;
}

/** The wanted files with kube-pki's last install as their wanted content (as src/findings.ts judges drift). */
function withInstalled(wanted: readonly WantedFileSummary[], inventory: NodeInventory): WantedFileSummary[] {
    return wanted.map((w) => (inventory.installed?.[w.path] ? { ...w, sha256: inventory.installed[w.path] } : w));
}

/** A CA kube-pki generates (an adopted one, or one that is the same material as another, is never issued here). */
function generatedCa(cluster: ClusterSpec, f: PlanFile): boolean {
    return f.material.kind === "ca-cert" && cluster.authorities[CA_CONFIG_KEY[f.material.ca]] === "generate";
}

/**
 * Per node name and file key (certificates and kubeconfigs): the action, its reason and the
 * expiry the file will have. `inventories` lacks a node that was not read.
 */
export function planFileActions(cluster: ClusterSpec, inventories: readonly NodeInventory[] | undefined, opts: PlanOptions): Record<string, Record<string, PlannedFile>> {
    const now = opts.now;
    // The per-node plan (src/pki/plan.ts): which files carry a certificate, its validity, its key file.
    const plan = planCluster(cluster);
    const planned = (days: number) => new Date(now.getTime() + days * DAY).toISOString();
    const out: Record<string, Record<string, PlannedFile>> = {};

    for (const node of cluster.nodes) {
        const rows: Record<string, PlannedFile> = {};
        out[node.name] = rows;
        const files = plan.nodes[node.name]?.files ?? [];
        const wanted = files.map(wantedSummary);
        const inventory = inventories?.find((inv) => inv.node === node.name);
        const verdicts = inventory?.reachable
            ? compareNode(withInstalled(wanted, inventory), inventory, { now, renewBeforeDays: cluster.validity.renewBeforeDays }).files
            : [];
        const repaired = opts.repairedNodes ? opts.repairedNodes.has(node.name) : true;

        for (const w of files) {
            if (!w.expected || w.validityDays === undefined) continue;
            const days = w.validityDays;
            const isCa = w.material.kind === "ca-cert";
            const generated = generatedCa(cluster, w);

            if (!inventory?.reachable) {
                const why = inventory ? `node unreachable: ${inventory.error ?? "unknown error"}` : (opts.notInspected ?? "node not read");
                rows[w.key] = isCa && !generated
                    ? { action: "keep", reason: `not inspected (${why}); an adopted CA is never reissued`, expires: "" }
                    : { action: "reissue", reason: `not inspected (${why}): assumed not on node yet`, expires: planned(days) };
                continue;
            }

            const file = inventory.files.find((f) => f.path === w.path);
            const recorded = inventory.installed?.[w.path];
            // The disk certificate is the one in state when kube-pki's install put exactly it there.
            const inState = !!(file?.exists && file.cert && file.sha256 && recorded === file.sha256);
            const v = verdicts.find((f) => f.path === w.path);
            // The certificate's private key, at the plan's path (none for kubeconfigs: it is inside).
            const kv = w.expected.keyPath ? verdicts.find((f) => f.path === w.expected!.keyPath) : undefined;

            // 1. Reissue: a file kube-pki never installed here is issued new (generated CAs too);
            // one it did install is reissued when the engine finds it due.
            const reissue: string[] = [];
            if (recorded === undefined && (!isCa || generated)) {
                reissue.push(!file?.exists ? "not on node yet"
                    : `first issue by kube-pki${file.cert && !isCa ? ` (the file on disk ${expiryPhrase(file.cert, now)})` : ""}`);
            } else if (inState && !isCa) {
                reissue.push(...reissueReasons(file!.cert!, { days, renewBeforeDays: cluster.validity.renewBeforeDays, keyAlgorithm: cluster.keyAlgorithm },
                    w.expected.subject, now));
            }
            if (reissue.length) {
                rows[w.key] = { action: "reissue", reason: reissue.join("; "), expires: planned(days) };
                continue;
            }

            // An adopted CA on disk is the one in state even before kube-pki's first install.
            const expires = (inState || (isCa && !generated && recorded === undefined)) && file?.cert ? file.cert.notAfter.toISOString() : "";
            // 2. Re-push, 3. restart only: from the drift verdicts, where this run repairs.
            const repush = [...repushReasons(v, "", inventory, w.expected), ...repushReasons(kv, kv?.key ?? "", inventory)];
            const served = servedReason(v);
            if (repaired && repush.length) {
                rows[w.key] = { action: "re-push", reason: [...repush, ...(served ? [served] : [])].join("; "), expires };
                continue;
            }
            if (repaired && served) {
                rows[w.key] = { action: "restart only", reason: served, expires };
                continue;
            }
            // 4. Keep.
            const left = file?.cert ? file.cert.notAfter.getTime() - now.getTime() : undefined;
            const notes: string[] = [];
            if (file?.cert) notes.push(expiryPhrase(file.cert, now));
            if (isCa && left !== undefined && left <= cluster.validity.renewBeforeDays * DAY) notes.push("a CA is never reissued implicitly: rotate it");
            if (!repaired && (repush.length || served)) notes.push(`drift not repaired: ${[...repush, ...(served ? [served] : [])].join("; ")}`);
            rows[w.key] = { action: "keep", reason: notes.length ? `ok (${notes.join("; ")})` : "ok", expires: file?.cert ? file.cert.notAfter.toISOString() : expires };
        }
        const kubeletDays = plan.nodes[node.name]?.kubeletClient?.validityDays ?? cluster.validity.leafDays;
        const kubelet = kubeletClientRow(cluster, decideKubeletClient(cluster, node, inventory, now, opts.kubeletRotation), planned(kubeletDays));
        if (kubelet) rows[KUBELET_CLIENT_ROW] = kubelet;
        else if (cluster.kubelet.clientCertificate === "rotate" && !inventory?.reachable) {
            rows[KUBELET_CLIENT_ROW] = { action: "keep", reason: `not inspected (${inventory ? `node unreachable: ${inventory.error ?? "unknown error"}` : opts.notInspected ?? "node not read"}): left to the kubelet`, expires: "" };
        }
    }
    return out;
}

/** Row key of the kubelet's client certificate (rotate mode) in the plan and the `certificates` output. */
export const KUBELET_CLIENT_ROW = "kubelet-client-current.pem";

/** The kubelet client certificate's row: its issuer, rotation setting and what kube-pki does. */
export function kubeletClientRow(cluster: ClusterSpec, d: KubeletClientDecision | undefined, plannedExpiry: string): PlannedFile | undefined {
    if (!d) return undefined;
    const rotation = d.rotation === true ? "rotation on" : d.rotation === false ? "rotation off" : "rotation unknown (no kubelet config)";
    const issuer = d.cert ? `issuer CN=${d.cert.issuerCN ?? "(none)"}` : "no certificate";
    const facts = `${issuer}; ${rotation}`;
    if (d.action === "reissue") return { action: "reissue", reason: `${d.reason} [${facts}]`, expires: plannedExpiry };
    return { action: "keep", reason: `${d.reason} [${facts}]`, expires: d.cert ? d.cert.notAfter.toISOString() : "" };
}

/** The plan as a table for the diagnostics, one row per node and file, with a count per action. */
export function renderFileActions(plan: Record<string, Record<string, PlannedFile>>): string {
    const rows: string[][] = [];
    const counts = new Map<FileAction, number>();
    for (const [node, files] of Object.entries(plan)) {
        for (const [key, p] of Object.entries(files)) {
            rows.push([node, key, p.action, p.expires ? p.expires.slice(0, 10) : "-", p.reason]);
            counts.set(p.action, (counts.get(p.action) ?? 0) + 1);
        }
    }
    if (rows.length === 0) return "no certificates\n";
    const summary = FILE_ACTIONS.filter((a) => counts.has(a)).map((a) => `${counts.get(a)} ${a}`).join(", ");
    return fixedWidth(["NODE", "FILE", "ACTION", "EXPIRES", "REASON"], rows) + `${summary}\n`;
}
