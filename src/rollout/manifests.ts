/**
 * The rollout's manifest commands (src/scripts/manifests.sh), which exist only while the
 * inventory shows a reason: `restore-manifests` while a master lacks manifests kube-pki has a copy
 * of or derived from another master's (after the files are pushed back, before any restart), `manifest-copy` while kube-pki's copy
 * is missing or older than the node's manifests (after the node's last step, so only a run that
 * installed and verified the node records them). A node whose copy is current has neither, so a
 * healthy stack registers nothing new.
 */
import * as pulumi from "@pulumi/pulumi";
import { restoredComponents, type NodeManifests } from "../drift/manifests";
import { derivedStdin } from "../drift/manifest-derive";
import { manifestsDir, SCRIPT_MANIFESTS_DIR } from "../pki/layout";
import type { ClusterSpec, NodeSpec } from "../spec";
import { nodeCommand, type NodeCommand } from "../node/transport";

type Run = (script: string, args: string[]) => pulumi.Input<string>;

/** --root for a local node, --manifests when not kubeadm's: what every manifest-editing script takes first. */
export function manifestArgs(node: NodeSpec, cluster: ClusterSpec): string[] {
    const dir = manifestsDir(cluster.layout);
    return [...(node.localRoot ? ["--root", node.localRoot] : []), ...(dir !== SCRIPT_MANIFESTS_DIR ? ["--manifests", dir] : [])];
}

export function restoreManifests(
    name: string, node: NodeSpec, cluster: ClusterSpec, plan: NodeManifests | undefined, run: Run, opts: pulumi.CustomResourceOptions,
): NodeCommand | undefined {
    const names = restoredComponents(plan);
    if (!plan || !names.length) return undefined;
    // Manifests derived from another master travel on stdin (short command line); written only where missing.
    const derived = plan.derived ?? [];
    return nodeCommand(`${name}-${node.name}-restore-manifests`, node, {
        create: run("manifests", [...manifestArgs(node, cluster), ...(derived.length ? ["--derived"] : []), "restore", ...names]),
        ...(derived.length ? { stdin: derivedStdin(derived) } : {}),
        triggers: [plan.restoreTrigger ?? names.join(",")],
    }, opts);
}

export function saveManifests(
    name: string, node: NodeSpec, cluster: ClusterSpec, plan: NodeManifests | undefined, run: Run, opts: pulumi.CustomResourceOptions,
): NodeCommand | undefined {
    if (!plan?.save) return undefined;
    return nodeCommand(`${name}-${node.name}-manifest-copy`, node, {
        create: run("manifests", [...manifestArgs(node, cluster), "save"]),
        triggers: [plan.save],
    }, opts);
}
