/**
 * What `kube-pki renew` acts on, from check's judgement: which nodes refuse a run (not read),
 * which files are due (an up renews or repairs them), which need a person (not yet valid), and
 * which nodes are all well. Pure: no I/O.
 */
import type { DriftReason, FileVerdict, NodeDriftResult } from "../drift/report";

/**
 * Reasons an up acts on: the engine reissues inside renew-before and when expired; the program
 * re-pushes drifted files and restarts a component that serves something other than its file.
 */
export const DUE_REASONS: readonly DriftReason[] = ["expiring", "expired", "missing", "key-mismatch", "differs", "spec-changed", "served-mismatch"];

/**
 * Not yet valid is not due: the program neither reissues nor re-pushes for it, and refuses to
 * issue for a node whose clock is behind (src/findings.ts clockProblems), its usual cause.
 */
export const ATTENTION_REASONS: readonly DriftReason[] = ["not-yet-valid"];

/** A CA is never reissued by an up (src/drift/actions.ts: "rotate it"): its expiry is for a person. */
const CA_EXPIRY: readonly DriftReason[] = ["expiring", "expired"];

export const ATTENTION_WHY = {
    clock: "the node's clock is probably behind; an up does not change this",
    ca: "an up never renews a CA (kube-pki never rotates one implicitly): a person must rotate it",
} as const;

export interface DueFile {
    node: string;
    /** The plan's name ("apiserver", "admin.conf") or the file's key. */
    file: string;
    path: string;
    /** The reasons that make it due (or need attention), worst first. */
    reasons: DriftReason[];
    detail: string;
    /** notAfter of the certificate on the node, when there is one. */
    notAfter?: Date;
    /** For attention: why an up does not help. */
    why?: string;
}

export interface RenewalJudgement {
    /** Nodes that could not be read: no up runs while any is listed. */
    unreadable: { node: string; error: string }[];
    due: DueFile[];
    /** Not due, not well: for a person (a clock to fix, a CA to rotate). */
    attention: DueFile[];
    /** Read, nothing due and nothing for attention. */
    wellNodes: string[];
    /** Files judged on the nodes that were read. */
    filesChecked: number;
}

function pick(node: string, f: FileVerdict, reasons: readonly DriftReason[], why?: string): DueFile | undefined {
    const hit = f.reasons.filter((r) => reasons.includes(r));
    if (hit.length === 0) return undefined;
    return { node, file: f.name ?? f.key, path: f.path, reasons: hit, detail: f.detail, ...(f.cert ? { notAfter: f.cert.notAfter } : {}), ...(why ? { why } : {}) };
}

export function judgeRenewal(results: readonly NodeDriftResult[]): RenewalJudgement {
    const out: RenewalJudgement = { unreadable: [], due: [], attention: [], wellNodes: [], filesChecked: 0 };
    for (const r of results) {
        if (!r.reachable) {
            out.unreadable.push({ node: r.node, error: r.error ?? "unknown error" });
            continue;
        }
        out.filesChecked += r.files.length;
        const isCa = (f: FileVerdict) => f.cert?.isCa === true;
        const due = r.files.flatMap((f) => pick(r.node, f, isCa(f) ? DUE_REASONS.filter((x) => !CA_EXPIRY.includes(x)) : DUE_REASONS) ?? []);
        const attention = r.files.flatMap((f) => [pick(r.node, f, ATTENTION_REASONS, ATTENTION_WHY.clock), isCa(f) ? pick(r.node, f, CA_EXPIRY, ATTENTION_WHY.ca) : undefined]
            .filter((x): x is DueFile => x !== undefined));
        out.due.push(...due);
        out.attention.push(...attention);
        if (due.length === 0 && attention.length === 0) out.wellNodes.push(r.node);
    }
    return out;
}
