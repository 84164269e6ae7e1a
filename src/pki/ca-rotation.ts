/**
 * CA rotation without an outage: the phases of one rotation and what each one puts on the nodes.
 * Pure. A rotation walks trust-both → reissue → drop-old, one phase per `up`; the phase the next
 * `up` runs is decided at program time from what every node holds (src/drift inventory), so an
 * interrupted phase is simply declared again, and a phase starts only when every node verifiably
 * completed the one before. An abort walks back: abort-trust (reissue with the old CA, both
 * trusted) → abort-drop-new.
 *
 * How the new CA is told apart from the old on a node, with no state at program time: a generated
 * new CA carries the subject organization `rotationMarker(id)`; an adopted one is known by its
 * certificate, read from the operator's file at program time.
 */
import { certificatesOf, issuedBy, kubeconfigCasOf, shortFingerprint, tryParseCert, type CertInfo } from "../drift/cert-info";
// Types only: drift/inventory reaches this module through kubelet-client at load time.
import type { InventoryFile, KUBELET_CLIENT_KEY, NodeInventory } from "../drift/inventory";
import type { CaRotationSpec, ClusterSpec, NodeSpec } from "../spec";
import { CA_CONFIG_KEY, type CaId } from "./catalog";
import { COMPONENT_ORDER, type Component } from "./components";
import { caAliases, planCluster } from "./plan";

export type RotationPhase =
    | "trust-both"      // trust anchors hold old + new; the old CA still signs
    | "reissue"         // every leaf and kubeconfig signed by the new CA; both still trusted
    | "drop-old"        // trust anchors hold only the new CA (also what a finished rotation keeps declaring)
    | "abort-trust"     // walking back: leaves signed by the old CA again, both trusted
    | "abort-drop-new"; // walking back: only the old CA trusted (also what a finished abort keeps declaring)

/** What one phase declares for the rotating CA: trust anchors (in order), the CA key on masters, the signer of leaves. */
export interface PhaseContents {
    /** CA certificates in every trust anchor (CA file, kubeconfig CA data, cluster-info), first one first. */
    readonly trust: readonly ("old" | "new")[];
    /** Which CA's key (and first certificate) the CA files carry: the one that signs (controller-manager signing, too). */
    readonly key: "old" | "new";
    /** Which CA signs every leaf and kubeconfig client certificate. */
    readonly signer: "old" | "new";
}

export const PHASE_CONTENTS: Readonly<Record<RotationPhase, PhaseContents>> = {
    "trust-both": { trust: ["old", "new"], key: "old", signer: "old" },
    "reissue": { trust: ["new", "old"], key: "new", signer: "new" },
    "drop-old": { trust: ["new"], key: "new", signer: "new" },
    "abort-trust": { trust: ["old", "new"], key: "old", signer: "old" },
    "abort-drop-new": { trust: ["old"], key: "old", signer: "old" },
};

/** Subject organization of a CA kube-pki generates for rotation `id` (components ignore a CA's O). */
export function rotationMarker(id: string): string {
    return `kube-pki rotation ${id}`;
}

/** The decision for one rotating CA, from every node's reading (decideRotation). */
export interface RotationDecision {
    readonly ca: CaId;
    readonly id: string;
    /** What the next `up` declares. */
    readonly phase: RotationPhase;
    /** Every node completed `phase` already (a finished rotation or abort, or nothing left to do this run). */
    readonly complete: boolean;
    /** One line for preview: where the rotation stands and what the next `up` touches. */
    readonly summary: string;
    /** Why the rotation does not advance although the config asks it to (a node unread, a component serving old files). */
    readonly held?: string;
    /**
     * SHA-256 fingerprints of the CA certificates other than the new one in the judged nodes' trust
     * anchors. The stack's old CA must be one of them while any is left: else the nodes trust a CA
     * this stack does not know (an earlier rotation's), and declaring the phase would cut them off.
     */
    readonly oldSeen?: readonly string[];
}

/**
 * What decideRotation (to be implemented here) reads: the rotation asked for, the new CA's
 * certificate when it is adopted (known at program time), the plan (which files of which node are
 * trust anchors or leaves of `ca`) and every node's program-time reading (a node missing from
 * `inventories`, or unreachable, is unread: the rotation holds rather than advance past it).
 */
export interface RotationInputs {
    readonly ca: CaId;
    readonly spec: CaRotationSpec;
    readonly newCaCertPem?: string;
    readonly cluster: ClusterSpec;
    readonly inventories: readonly NodeInventory[];
}

/** Is this subject organization a rotation marker (of any id)? A generated CA of a rotation carries one. */
export function isRotationMarker(o: string): boolean {
    return o.startsWith(rotationMarker(""));
}

/**
 * How far one node is (forward: S0 some trust anchor lacks the new CA; S1 every anchor holds both,
 * some leaf not yet by the new; S2 every leaf by the new, the key's CA file leads with it; S3 only
 * the new trusted). An abort walks the mirror image with old and new swapped: B0 some anchor lacks
 * the old CA; B1 anchors hold both, some leaf not yet by the old; B2 every leaf by the old; B3 only
 * the old trusted.
 */
export type RotationStage = "S0" | "S1" | "S2" | "S3" | "B0" | "B1" | "B2" | "B3";

/** One node's reading of the rotating CA (RotationDecision.nodes). */
export interface RotationNodeState {
    /** Undefined when the node could not be judged (unread, an anchor missing or unreadable). */
    readonly stage?: RotationStage;
    /** Why the node holds the rotation. */
    readonly held?: string;
}

/** Extends RotationDecision with the per-node view (tests, preview details). */
export interface RotationDecisionDetail extends RotationDecision {
    /** Nodes holding trust anchors or leaves of the CA, by name. */
    readonly nodes: Readonly<Record<string, RotationNodeState>>;
}

/** A trust anchor of the rotating CA on one node: a CA file, or a kubeconfig's CA data. */
interface Anchor {
    /** The plan's file key ("etcd/ca.crt", "admin.conf"). */
    readonly label: string;
    /** A kubeconfig's certificate-authority-data (not a CA file). */
    readonly kubeconfig: boolean;
    readonly certs?: readonly CertInfo[];
    /** Missing, unreadable or unparseable. */
    readonly problem?: string;
    /** The CA file beside the CA key: its first certificate is the signing CA's (PhaseContents.key). */
    readonly keyed: boolean;
    readonly consumers: readonly Component[];
}

/** A certificate the rotating CA signs on one node; `cert` undefined when missing or unreadable (not yet reissued). */
interface Leaf {
    readonly label: string;
    readonly cert?: CertInfo;
    readonly consumers: readonly Component[];
}

interface NodeReading {
    readonly node: NodeSpec;
    readonly inventory?: NodeInventory;
    readonly anchors: readonly Anchor[];
    readonly leaves: readonly Leaf[];
}

const KUBELET_CLIENT: typeof KUBELET_CLIENT_KEY = "kubelet-client-current";
const CONFIG_KEY = (ca: CaId) => `kube-pki:authorities.rotate.${CA_CONFIG_KEY[ca]}`;

/** Trust anchors and leaves of `ca` the plan puts on each node, read from that node's inventory. */
function readNodes(i: RotationInputs): NodeReading[] {
    const plan = planCluster(i.cluster);
    const issuerOf = (id: string) => plan.certificates.get(id)?.issuer;
    const caEntry = plan.cas.find((c) => c.id === i.ca);
    const out: NodeReading[] = [];
    for (const node of i.cluster.nodes) {
        const inventory = i.inventories.find((inv) => inv.node === node.name);
        const files = plan.nodes[node.name]?.files ?? [];
        const read = (p: string) => inventory?.files.find((f) => f.path === p);
        const holdsKey = files.some((f) => f.material.kind === "ca-key" && f.material.ca === i.ca);
        const anchors: Anchor[] = [];
        const leaves: Leaf[] = [];
        for (const f of files) {
            const m = f.material;
            const file = read(f.path);
            if (m.kind === "ca-cert" && m.ca === i.ca) {
                const own = !!caEntry && (f.key === caEntry.certFile || (f.alsoKeys ?? []).includes(caEntry.certFile));
                anchors.push({ label: f.key, kubeconfig: false, ...anchorCerts(file, certificatesOf), keyed: holdsKey && own, consumers: f.consumers });
            } else if ((m.kind === "kubeconfig" || m.kind === "rotating-kubeconfig") && i.ca === "ca") {
                anchors.push({ label: f.key, kubeconfig: true, ...anchorCerts(file, kubeconfigCasOf, "no certificate-authority-data"), keyed: false, consumers: f.consumers });
            }
            if ((m.kind === "leaf-cert" || m.kind === "kubeconfig") && issuerOf(m.certificate) === i.ca) {
                leaves.push({ label: f.key, ...(usable(file) ? { cert: file!.cert } : {}), consumers: f.consumers });
            }
        }
        // rotate mode: the kubelet's own client certificate (signed by the controller-manager with the CA key).
        if (i.ca === "ca" && i.cluster.kubelet.clientCertificate === "rotate") {
            const current = inventory?.files.find((f) => f.key === KUBELET_CLIENT);
            if (current?.exists) leaves.push({ label: KUBELET_CLIENT, ...(usable(current) ? { cert: current.cert } : {}), consumers: ["kubelet"] });
        }
        if (anchors.length + leaves.length > 0) out.push({ node, inventory, anchors, leaves });
    }
    return out;
}

function usable(file: InventoryFile | undefined): boolean {
    return !!file?.exists && !file.unreadable && !!file.cert;
}

function anchorCerts(file: InventoryFile | undefined, certs: (f: InventoryFile) => CertInfo[], empty = "no certificate"): { certs?: CertInfo[]; problem?: string } {
    if (!file?.exists) return { problem: "missing" };
    if (file.unreadable) return { problem: "not readable" };
    const all = certs(file);
    if (all.length === 0 || (file.kind !== "kubeconfig" && file.parseError)) return { problem: file.parseError ?? empty };
    return { certs: all };
}

/** Tells the new CA's certificates (and the leaves they sign) from everything else. */
interface Newness {
    readonly ca: (cert: CertInfo) => boolean;
    readonly leaf: (cert: CertInfo) => boolean;
}

function newness(i: RotationInputs, readings: readonly NodeReading[]): Newness {
    const marker = rotationMarker(i.spec.id);
    let isNewCa: (cert: CertInfo) => boolean;
    const known: CertInfo[] = [];
    if (i.spec.source === "adopt") {
        if (!i.newCaCertPem) throw new Error(`${CONFIG_KEY(i.ca)}.certFile: the adopted new CA's certificate was not read; give certFile (a PEM file on the machine running Pulumi)`);
        const adopted = tryParseCert(i.newCaCertPem);
        if (!adopted) throw new Error(`${CONFIG_KEY(i.ca)}.certFile: the adopted new CA's certificate does not parse as PEM; give the CA's certificate file`);
        known.push(adopted);
        isNewCa = (cert) => cert.sha256 === adopted.sha256;
    } else {
        isNewCa = (cert) => cert.isCa && cert.subjectO.includes(marker);
        // Its certificate is not known at program time: the copies on the nodes verify its leaves.
        const seen = new Set<string>();
        for (const r of readings) for (const a of r.anchors) for (const c of a.certs ?? []) {
            if (isNewCa(c) && !seen.has(c.sha256)) { seen.add(c.sha256); known.push(c); }
        }
    }
    return {
        ca: isNewCa,
        // By signature; a generated CA seen on no node yet is known by its marker in the issuer name.
        leaf: (cert) => known.some((ca) => issuedBy(cert, ca)) || (i.spec.source === "generate" && known.length === 0 && cert.issuerO.includes(marker)),
    };
}

/** Why a node cannot be judged or must not be walked past: unread, an anchor unusable, a component serving other than its disk. */
function nodeHold(r: NodeReading): string | undefined {
    const inv = r.inventory;
    const unread = readHold(r.node, inv);
    if (unread || !inv) return unread;
    const bad = r.anchors.find((a) => a.problem);
    if (bad) return `${r.node.name}: ${bad.label}${bad.kubeconfig ? " CA data" : ""} ${bad.problem}`;
    return servingHold(r.node, inv);
}

/** A node not read (absent from the inventories, or unreachable): no rotation walks past it. */
export function readHold(node: NodeSpec, inv: NodeInventory | undefined): string | undefined {
    if (!inv) return `${node.name} not read`;
    if (!inv.reachable) return `${node.name} not read (${inv.error ?? "unreachable"})`;
    return undefined;
}

/** A component serving other than its disk (or nothing): the last phase did not take there. */
export function servingHold(node: NodeSpec, inv: NodeInventory): string | undefined {
    for (const s of inv.served) {
        if (!s.diskPath) continue;
        const disk = inv.files.find((f) => f.path === s.diskPath)?.cert;
        if (!disk) continue;
        if (!s.cert) return `${node.name}: ${s.component} serves nothing on :${s.port} (${s.error ?? "no certificate"})`;
        if (s.cert.sha256 !== disk.sha256) return `${node.name}: ${s.component} serves ${shortFingerprint(s.cert.sha256)} ≠ disk ${shortFingerprint(disk.sha256)}`;
    }
    return undefined;
}

/** 0..3: how far a node is toward trusting and signing with `target` only (new forward, old in an abort). */
function stageToward(r: NodeReading, isTarget: (ca: CertInfo) => boolean, leafIsTarget: (cert: CertInfo) => boolean): 0 | 1 | 2 | 3 {
    const anchors = r.anchors.map((a) => a.certs ?? []);
    if (anchors.some((certs) => !certs.some(isTarget))) return 0;
    const leavesDone = r.leaves.every((l) => l.cert && leafIsTarget(l.cert));
    const keyDone = r.anchors.every((a) => !a.keyed || (a.certs?.[0] && isTarget(a.certs[0])));
    if (!leavesDone || !keyDone) return 1;
    return anchors.every((certs) => certs.every(isTarget)) ? 3 : 2;
}

/** The phase the next `up` declares when the furthest-behind node is at `stage` (0..3, toward the target). */
export function phaseAt(stage: number, abort: boolean, held: boolean): RotationPhase {
    return (abort ? (held ? ABORT_HELD : ABORT_NEXT) : (held ? FORWARD_HELD : FORWARD_NEXT))[stage];
}

/** The preview label of a phase ("phase 2 of 3 (reissue)"). */
export function phaseLabel(phase: RotationPhase, abort: boolean, what = "CA"): string {
    if (abort && phase === "reissue") return `abort 0 of 2 (trust the old ${what} again, the new one still signs)`;
    return PHASE_LABEL[phase].replace(/\bCA\b/g, what);
}

const FORWARD_NEXT: readonly RotationPhase[] = ["trust-both", "reissue", "drop-old", "drop-old"];
const FORWARD_HELD: readonly RotationPhase[] = ["trust-both", "trust-both", "reissue", "drop-old"];
// An abort from a node that trusts only the new CA first trusts the old again while the new still signs (reissue's contents).
const ABORT_NEXT: readonly RotationPhase[] = ["reissue", "abort-trust", "abort-drop-new", "abort-drop-new"];
const ABORT_HELD: readonly RotationPhase[] = ["reissue", "reissue", "abort-trust", "abort-drop-new"];

const PHASE_LABEL: Readonly<Record<RotationPhase, string>> = {
    "trust-both": "phase 1 of 3 (trust both)",
    "reissue": "phase 2 of 3 (reissue)",
    "drop-old": "phase 3 of 3 (drop the old CA)",
    "abort-trust": "abort 1 of 2 (sign with the old CA again, both trusted)",
    "abort-drop-new": "abort 2 of 2 (drop the new CA)",
};

/**
 * The phase the next `up` declares for one rotating CA, from every node's program-time reading.
 * Throws (a config error naming the key) for an abort of a finished rotation, an adopted new CA
 * whose certificate is missing, or a CA that no node holds.
 */
export function decideRotation(i: RotationInputs): RotationDecisionDetail {
    if (caAliases(i.cluster).has(i.ca)) {
        throw new Error(`${CONFIG_KEY(i.ca)}: ${i.ca} is the cluster CA (kube-pki:authorities.${CA_CONFIG_KEY[i.ca]}: same-as-ca); rotate kube-pki:authorities.rotate.ca instead`);
    }
    const readings = readNodes(i);
    if (!readings.some((r) => r.anchors.length > 0)) {
        throw new Error(`${CONFIG_KEY(i.ca)}: no node of this stack holds ${i.ca}'s certificate; remove the rotation or add the CA`);
    }
    const isNew = newness(i, readings);
    const isOld = (c: CertInfo) => !isNew.ca(c);
    const nodes: Record<string, RotationNodeState> = {};
    const holds: string[] = [];
    const forward: number[] = [];
    const backward: number[] = [];
    for (const r of readings) {
        const held = nodeHold(r);
        if (held) holds.push(held);
        if (!r.inventory?.reachable || r.anchors.some((a) => a.problem)) {
            nodes[r.node.name] = { held: held! };
            continue;
        }
        const f = stageToward(r, isNew.ca, isNew.leaf);
        const b = stageToward(r, isOld, (c) => !isNew.leaf(c));
        forward.push(f);
        backward.push(b);
        nodes[r.node.name] = { stage: i.spec.abort ? (`B${b}` as RotationStage) : (`S${f}` as RotationStage), ...(held ? { held } : {}) };
    }
    const allJudged = forward.length === readings.length;
    const min = (xs: number[]) => (xs.length ? Math.min(...xs) : 0);
    if (i.spec.abort && allJudged && min(forward) === 3) {
        throw new Error(`${CONFIG_KEY(i.ca)}.abort: the rotation of ${i.ca} to ${i.spec.id} is complete (every node trusts only the new CA); there is nothing to abort: remove abort (a second rotation of the same CA, back or onward, is not supported yet)`);
    }
    const stage = min(i.spec.abort ? backward : forward);
    const held = holds.length ? holds.join("; ") : undefined;
    const phase = phaseAt(stage, i.spec.abort, !!held);
    const complete = !held && stage === 3;
    const head = `CA rotation ${i.ca} → ${i.spec.id}${i.spec.abort ? " (abort)" : ""}`;
    const label = phaseLabel(phase, i.spec.abort);
    let summary: string;
    if (complete) summary = `${head}: complete (every node trusts only the ${i.spec.abort ? "old" : "new"} CA)`;
    else if (held) summary = `${head}: held at ${label}: ${held}`;
    else summary = `${head}: ${label} next: ${pendingText(readings, phase, isNew)}`;
    const oldSeen = [...new Set(readings.flatMap((r) => r.anchors.flatMap((a) => (a.certs ?? []).filter(isOld).map((c) => c.sha256))))].sort();
    return { ca: i.ca, id: i.spec.id, phase, complete, summary, ...(held ? { held } : {}), nodes, oldSeen };
}

/** What `phase` still changes on the nodes: anchors by file and role, leaves reissued, components restarted. */
function pendingText(readings: readonly NodeReading[], phase: RotationPhase, isNew: Newness): string {
    const want = PHASE_CONTENTS[phase];
    const wantCa = (c: CertInfo) => (want.signer === "new") === isNew.ca(c);
    // CA files by file, kubeconfigs' CA data as one group: the nodes of each, counted by role.
    const anchorGroups = new Map<string, Map<string, Set<string>>>();
    const kubeconfigs = new Set<string>();
    let kubeconfigFiles = 0;
    const restarts = new Set<Component>();
    let leaves = 0;
    const leafNodes = new Set<string>();
    for (const r of readings) {
        if (!r.inventory?.reachable) continue;
        for (const a of r.anchors) {
            const certs = a.certs ?? [];
            const has = (side: "old" | "new") => certs.some((c) => isNew.ca(c) === (side === "new"));
            const changes = want.trust.some((side) => !has(side)) || (want.trust.length === 1 && !certs.every(wantCa))
                || (a.keyed && !!certs[0] && !wantCa(certs[0]));
            if (!changes) continue;
            const group = a.kubeconfig ? "\0kubeconfigs" : a.label;
            if (a.kubeconfig) { kubeconfigs.add(a.label); kubeconfigFiles++; }
            const byRole = anchorGroups.get(group) ?? new Map<string, Set<string>>();
            byRole.set(r.node.role, (byRole.get(r.node.role) ?? new Set()).add(r.node.name));
            anchorGroups.set(group, byRole);
            a.consumers.forEach((c) => restarts.add(c));
        }
        for (const l of r.leaves) {
            if (l.cert && (want.signer === "new") === isNew.leaf(l.cert)) continue;
            leaves++;
            leafNodes.add(r.node.name);
            l.consumers.forEach((c) => restarts.add(c));
        }
    }
    const parts: string[] = [];
    const kubeconfigText = kubeconfigs.size === 1 ? `${[...kubeconfigs][0]} CA data` : `CA data of ${kubeconfigFiles} kubeconfigs`;
    const groups = [...anchorGroups].map(([group, byRole]) =>
        `${group === "\0kubeconfigs" ? kubeconfigText : group} on ${[...byRole].map(([role, nodes]) => `${nodes.size} ${role}${nodes.size === 1 ? "" : "s"}`).join(" + ")}`);
    if (groups.length) parts.push(groups.length > 4 ? `${groups.slice(0, 4).join(", ")} and ${groups.length - 4} more` : groups.join(", "));
    if (leaves) parts.push(`reissues ${leaves} ${leaves === 1 ? "leaf" : "leaves"} on ${leafNodes.size} ${leafNodes.size === 1 ? "node" : "nodes"}`);
    const order = COMPONENT_ORDER.filter((c) => restarts.has(c));
    if (order.length) parts.push(`restarts ${order.join(", ")}`);
    return parts.length ? parts.join("; ") : "nothing left on the nodes";
}
