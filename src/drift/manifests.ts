/**
 * The static pod manifests of the components kube-pki restarts, and kube-pki's own copy of them
 * under /var/lib/kube-pki/manifests (src/scripts/manifests.sh), as the inventory reports them:
 * which copies are stale (a `save` command exists only then), which manifests a master lost
 * (restored from the copy before any restart), and which cannot be restored (derived from another
 * master's where unambiguous, src/drift/manifest-derive.ts; else kubeadm recreates them and their
 * components are left alone). Pure: no I/O, no Pulumi.
 */
import { createHash } from "node:crypto";
import { componentRestart, manifestsDir } from "../pki/layout";
import type { LayoutSpec, NodeSpec } from "../spec";
import type { DerivedManifest } from "./manifest-derive";

export const MANIFEST_COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type ManifestComponent = (typeof MANIFEST_COMPONENTS)[number];

/** kube-pki's copy: outside /etc/kubernetes, so a wipe of that tree leaves it. */
export const MANIFEST_COPY_DIR = "/var/lib/kube-pki/manifests";

/** What the inventory read: per component, the manifest's and the copy's sha256 (absent: undefined). */
export type ManifestState = Partial<Record<ManifestComponent, { sha256?: string; copy?: string }>>;

/** What the run does with a node's manifests. */
export interface NodeManifests {
    /** Missing on the node, restored from kube-pki's copy (after the files, before any restart). */
    readonly restore: readonly ManifestComponent[];
    /** Missing with no copy: their components are not restarted; `kubeadm` recreates them. */
    readonly left: readonly ManifestComponent[];
    /** Missing with no copy, derived from another master's (src/drift/manifest-derive.ts); restored like `restore`. */
    readonly derived?: readonly DerivedManifest[];
    /** Missing with no copy and not derivable: why (said in preview). */
    readonly refused?: Partial<Record<ManifestComponent, string>>;
    /** Set while the copy is missing or stale: digest of the manifests the `save` command records. */
    readonly save?: string;
    /** The restore's trigger: changes every run (the node's clock), so it runs while anything is missing. */
    readonly restoreTrigger?: string;
}

/** The layout's static pod components (masters only): those get `--manifests` in the inventory. */
export function staticPodComponents(layout: LayoutSpec, node: Pick<NodeSpec, "role">): ManifestComponent[] {
    if (node.role !== "master") return [];
    return MANIFEST_COMPONENTS.filter((c) => componentRestart(layout, c).restart === "static-pod");
}

/** inventory.sh's `--manifests DIR COPY-DIR`, or nothing when the node runs no static pods. */
export function manifestInventoryArgs(layout: LayoutSpec, node: Pick<NodeSpec, "role">): string[] {
    return staticPodComponents(layout, node).length ? ["--manifests", manifestsDir(layout), MANIFEST_COPY_DIR] : [];
}

/**
 * A manifest is missing when absent on this master while its copy holds it or another master
 * runs that component (an external etcd has no etcd.yaml anywhere: nothing is missing).
 */
export function planManifests(
    layout: LayoutSpec, node: Pick<NodeSpec, "role">, own: ManifestState | undefined, others: readonly (ManifestState | undefined)[],
): NodeManifests {
    const components = staticPodComponents(layout, node);
    if (!own) return { restore: [], left: [] };
    const restore: ManifestComponent[] = [];
    const left: ManifestComponent[] = [];
    const present: string[] = [];
    let stale = false;
    for (const c of components) {
        const s = own[c] ?? {};
        if (s.sha256) {
            present.push(`${c}:${s.sha256}`);
            if (s.copy !== s.sha256) stale = true;
        } else if (s.copy) {
            restore.push(c);
        } else if (others.some((o) => o?.[c]?.sha256)) {
            left.push(c);
        }
    }
    const save = stale ? createHash("sha256").update(present.join("\n")).digest("hex") : undefined;
    return { restore, left, ...(save ? { save } : {}) };
}

/** The commands that recreate manifests kube-pki has no copy of (said in preview and after `up`). */
export function kubeadmCommands(left: readonly ManifestComponent[]): string[] {
    const out: string[] = [];
    const cp = left.filter((c) => c !== "etcd");
    if (cp.length === 3) out.push("kubeadm init phase control-plane all --config <your kubeadm config>");
    else for (const c of cp) out.push(`kubeadm init phase control-plane ${c.replace(/^kube-/, "")} --config <your kubeadm config>`);
    if (left.includes("etcd")) out.push("kubeadm init phase etcd local --config <your kubeadm config>");
    return out;
}

/**
 * Components the run does not restart on this node: those left without a manifest, and a stacked
 * apiserver whose local etcd is left (it cannot start before etcd is back: --etcd-servers=127.0.0.1).
 */
export function notRestartable(plan: NodeManifests | undefined): ManifestComponent[] {
    const left = [...(plan?.left ?? [])];
    return left.includes("etcd") && !left.includes("kube-apiserver") ? [...left, "kube-apiserver"] : left;
}

/** Components whose manifest the restore step writes: from kube-pki's copy, then derived ones. */
export function restoredComponents(plan: NodeManifests | undefined): ManifestComponent[] {
    return [...(plan?.restore ?? []), ...(plan?.derived ?? []).map((d) => d.component)];
}

/** The line preview and `up` print for a node that lost manifests. */
export function manifestMessage(node: string, dir: string, plan: NodeManifests): string | undefined {
    const parts: string[] = [];
    if (plan.restore.length) {
        parts.push(`static pod manifests missing: ${plan.restore.map((c) => `${dir}/${c}.yaml`).join(", ")}; ` +
            `restored from kube-pki's copy in ${MANIFEST_COPY_DIR} before its components restart`);
    }
    for (const d of plan.derived ?? []) {
        parts.push(`${dir}/${d.component}.yaml missing with no copy: written from ${d.from}'s ` +
            (d.substituted ? `with ${node}'s name and address` : "as it is (it names no node)"));
    }
    if (plan.left.includes("etcd") && (plan.derived ?? []).some((d) => d.component === "kube-apiserver")) {
        parts.push(`kube-apiserver is not restarted or verified: it needs the local etcd, which stays down until its manifest is back`);
    }
    if (plan.left.length) {
        const why = Object.entries(plan.refused ?? {}).map(([c, r]) => `${c}: ${r}`);
        parts.push(`static pod manifests missing with no copy${why.length ? ` (not derived from another master: ${why.join("; ")})` : ""}: ` +
            `${plan.left.map((c) => `${dir}/${c}.yaml`).join(", ")}; ` +
            `kube-pki restores the certificates and kubeconfigs but leaves ${plan.left.join(", ")} alone. ` +
            `Left to do on the node: ${kubeadmCommands(plan.left).join("; ")}; then run \`pulumi up\` again`);
    }
    return parts.length ? `node "${node}": ${parts.join(". ")}` : undefined;
}

/** Per master with static pods: the plan from its inventory and the other masters'. */
export function manifestPlans(
    layout: LayoutSpec, inventories: readonly { node: string; role: NodeSpec["role"]; reachable: boolean; nodeTime?: Date; manifests?: ManifestState }[],
): Record<string, NodeManifests> {
    const out: Record<string, NodeManifests> = {};
    for (const inv of inventories) {
        if (!inv.reachable || !inv.manifests) continue;
        const others = inventories.filter((o) => o !== inv && o.role === "master" && o.reachable).map((o) => o.manifests);
        const plan = planManifests(layout, inv, inv.manifests, others);
        const restoreTrigger = `${plan.restore.join(",")}@${inv.nodeTime?.toISOString() ?? ""}`;
        if (plan.restore.length || plan.left.length || plan.save) out[inv.node] = { ...plan, ...(plan.restore.length ? { restoreTrigger } : {}) };
    }
    return out;
}
