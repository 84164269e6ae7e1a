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
import type { NodeInventory } from "../drift/inventory";
import type { CaRotationSpec, ClusterSpec } from "../spec";
import type { CaId } from "./catalog";

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
