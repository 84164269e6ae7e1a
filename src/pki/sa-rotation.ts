/**
 * Rotating the service-account key pair without invalidating tokens mid-way. Pure. Same phases as a
 * CA rotation (src/pki/ca-rotation.ts), one per `up`: kube-apiserver verifies tokens with every key
 * of --service-account-key-file (sa.pub) and signs with --service-account-signing-key-file (sa.key),
 * as kube-controller-manager does with --service-account-private-key-file (sa.key). So:
 *   trust-both  sa.pub = old + new, sa.key old      (every apiserver accepts both; still signs with the old)
 *   reissue     sa.pub = new + old, sa.key new      (sign with the new; tokens of the old still accepted)
 *   drop-old    sa.pub = new,       sa.key new      (tokens signed by the old key are refused from here)
 * sa.pub's first key is always sa.key's: install.sh and the inventory judge the pair by it.
 * The new key is the operator's file, so its public half is known at program time: that is how the
 * keys on the nodes are told apart (a public key carries no marker, and the program has no state).
 */
import type { NodeInventory } from "../drift/inventory";
import { spkiPem } from "../drift/script-output";
import type { ClusterSpec, NodeSpec, SaRotationSpec } from "../spec";
import { phaseAt, phaseLabel, readHold, servingHold, type RotationNodeState, type RotationPhase, type RotationStage, PHASE_CONTENTS } from "./ca-rotation";
import { planCluster } from "./plan";

export const SA_ROTATION_KEY = "kube-pki:authorities.rotate.serviceAccount";

/** What the next `up` declares for the service-account pair, from every node's program-time reading. */
export interface SaRotationDecision {
    readonly id: string;
    readonly phase: RotationPhase;
    /** Every node holds what `phase` declares already (a finished rotation or abort). */
    readonly complete: boolean;
    /** One line for preview: where the rotation stands and what the next `up` touches. */
    readonly summary: string;
    /** Why the rotation does not advance (a node unread, a file unusable, a component serving old files). */
    readonly held?: string;
    readonly nodes: Readonly<Record<string, RotationNodeState>>;
    /** The public keys (SPKI PEM) other than the new one in the judged masters' sa.pub: the stack's old key must be one while any is left. */
    readonly oldSeen?: readonly string[];
}

export interface SaRotationInputs {
    readonly spec: SaRotationSpec;
    readonly cluster: ClusterSpec;
    readonly inventories: readonly NodeInventory[];
}

/** One node holding the pair: sa.pub's keys and sa.key's public half (SPKI PEM), or why they are unusable. */
interface PairReading {
    readonly node: NodeSpec;
    readonly inventory?: NodeInventory;
    readonly pubPath: string;
    readonly keyPath: string;
    readonly pubs?: readonly string[];
    readonly keyPub?: string;
    readonly problem?: string;
}

function readPairs(cluster: ClusterSpec, inventories: readonly NodeInventory[]): PairReading[] {
    const plan = planCluster(cluster);
    const out: PairReading[] = [];
    for (const node of cluster.nodes) {
        const files = plan.nodes[node.name]?.files ?? [];
        const pub = files.find((f) => f.material.kind === "sa-public-key");
        const key = files.find((f) => f.material.kind === "sa-private-key");
        if (!pub || !key) continue;
        const inventory = inventories.find((inv) => inv.node === node.name);
        const base = { node, inventory, pubPath: pub.path, keyPath: key.path };
        if (!inventory?.reachable) { out.push(base); continue; }
        const pubFile = inventory.files.find((f) => f.path === pub.path);
        const keyFile = inventory.files.find((f) => f.path === key.path);
        const problem = !pubFile?.exists ? `${pub.key} missing` : pubFile.unreadable ? `${pub.key} not readable`
            : !pubFile.publicKeys?.length ? `${pub.key} holds no readable public key`
            : !keyFile?.exists ? `${key.key} missing` : keyFile.unreadable ? `${key.key} not readable`
            : !keyFile.publicKey ? `${key.key}'s public half not read (not an RSA/ECDSA key?)` : undefined;
        out.push(problem ? { ...base, problem } : { ...base, pubs: pubFile!.publicKeys, keyPub: keyFile!.publicKey });
    }
    return out;
}

/** 0..3: how far a node is toward verifying and signing with `target` only (the new key forward, the old in an abort). */
function stageToward(pubs: readonly string[], keyPub: string, isTarget: (pub: string) => boolean): 0 | 1 | 2 | 3 {
    if (!pubs.some(isTarget)) return 0;
    if (!isTarget(keyPub) || !isTarget(pubs[0])) return 1;
    return pubs.every(isTarget) ? 3 : 2;
}

/**
 * The phase the next `up` declares for the pair. Throws (naming the config key) for an abort of a
 * finished rotation and for a stack whose nodes hold no sa pair.
 */
export function decideSaRotation(i: SaRotationInputs): SaRotationDecision {
    const readings = readPairs(i.cluster, i.inventories);
    if (readings.length === 0) throw new Error(`${SA_ROTATION_KEY}: no node of this stack holds sa.key and sa.pub; remove the rotation`);
    const newPub = spkiPem(i.spec.publicKeyPem);
    if (!newPub) throw new Error(`${SA_ROTATION_KEY}.keyFile: the new key's public half does not parse; give an RSA or ECDSA PEM private key`);
    const isNew = (pub: string) => pub === newPub;
    const isOld = (pub: string) => pub !== newPub;
    const nodes: Record<string, RotationNodeState> = {};
    const holds: string[] = [];
    const forward: number[] = [];
    const backward: number[] = [];
    for (const r of readings) {
        const unread = readHold(r.node, r.inventory);
        const hold = unread ?? (r.problem ? `${r.node.name}: ${r.problem}` : servingHold(r.node, r.inventory!));
        if (hold) holds.push(hold);
        if (unread || r.problem) { nodes[r.node.name] = { held: hold! }; continue; }
        const f = stageToward(r.pubs!, r.keyPub!, isNew);
        const b = stageToward(r.pubs!, r.keyPub!, isOld);
        forward.push(f);
        backward.push(b);
        nodes[r.node.name] = { stage: (i.spec.abort ? `B${b}` : `S${f}`) as RotationStage, ...(hold ? { held: hold } : {}) };
    }
    const min = (xs: number[]) => (xs.length ? Math.min(...xs) : 0);
    if (i.spec.abort && forward.length === readings.length && min(forward) === 3) {
        throw new Error(`${SA_ROTATION_KEY}.abort: the rotation of the service-account key to ${i.spec.id} is complete (every master's sa.pub holds only the new key, ` +
            "and tokens signed by the old one are refused already); there is nothing to abort: remove abort (a second rotation, back or onward, is not supported yet)");
    }
    const stage = min(i.spec.abort ? backward : forward);
    const held = holds.length ? holds.join("; ") : undefined;
    const phase = phaseAt(stage, i.spec.abort, !!held);
    const complete = !held && stage === 3;
    const head = `service-account key rotation → ${i.spec.id}${i.spec.abort ? " (abort)" : ""}`;
    const label = phaseLabel(phase, i.spec.abort, "key");
    let summary: string;
    if (complete) summary = `${head}: complete (every master's sa.pub holds only the ${i.spec.abort ? "old" : "new"} key)`;
    else if (held) summary = `${head}: held at ${label}: ${held}`;
    else summary = `${head}: ${label} next: ${pendingText(readings, phase, isNew, i.spec.abort)}`;
    const oldSeen = [...new Set(readings.flatMap((r) => (r.pubs ?? []).filter(isOld)))].sort();
    return { id: i.spec.id, phase, complete, summary, ...(held ? { held } : {}), nodes, oldSeen };
}

/** What `phase` still changes: sa.pub / sa.key on how many nodes, which restarts, and what tokens stop working. */
function pendingText(readings: readonly PairReading[], phase: RotationPhase, isNew: (pub: string) => boolean, abort: boolean): string {
    const want = PHASE_CONTENTS[phase];
    const sideOf = (pub: string) => (isNew(pub) ? "new" : "old");
    let pubs = 0;
    let keys = 0;
    for (const r of readings) {
        if (!r.pubs || !r.keyPub) continue;
        if (r.pubs.map(sideOf).join() !== want.trust.join()) pubs++;
        if (sideOf(r.keyPub) !== want.key) keys++;
    }
    const parts: string[] = [];
    if (pubs) parts.push(`sa.pub on ${pubs} ${pubs === 1 ? "master" : "masters"}`);
    if (keys) parts.push(`sa.key on ${keys} ${keys === 1 ? "master" : "masters"}`);
    if (pubs || keys) parts.push(`restarts kube-apiserver${keys ? ", kube-controller-manager" : ""}`);
    if (want.trust.length === 1 && pubs) {
        parts.push(`tokens signed by the ${abort ? "new" : "old"} key are refused from then on (pods get new ones from the kubelet within 24 h, or when restarted; see README "Rotating the service-account key")`);
    }
    return parts.length ? parts.join("; ") : "nothing left on the nodes";
}
