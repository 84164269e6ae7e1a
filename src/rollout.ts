/**
 * Rollout: per node, one install (stage → verify → back up → swap, all on the node), then one
 * restart+verify per component whose files changed, in the order etcd → apiserver →
 * controller-manager → scheduler → kubelet. Masters strictly one after another, workers in
 * bounded batches after the masters. A node that drifted gets a repair command that exists only
 * while the drift lasts.
 */
import * as pulumi from "@pulumi/pulumi";
import { fileFingerprints, filesReadBy, nodeBundle } from "./node/bundle";
import { scriptCommand, shellQuote } from "./node/scripts";
import { nodeCommand, type NodeCommand } from "./node/transport";
import type { Component } from "./pki/catalog";
import type { ClusterPki } from "./pki/cluster-pki";
import { LAST_INSTALL_NOTE } from "./pki/layout";
import { componentsToRestart, rolloutStages, rotateArgs, verifyArgs } from "./rollout-plan";
import type { ClusterSpec, NodeSpec } from "./spec";

/** What drift detection found on a node that needs a re-push. */
export interface NodeRepair {
    /** Components to restart and verify after the re-push (their files drifted, or they serve stale certs). */
    readonly components: readonly Component[];
    /** Stable digest of what drifted: the repair re-runs only when the drift itself changes. */
    readonly signature: string;
}

export interface RolloutArgs {
    readonly cluster: ClusterSpec;
    readonly pki: ClusterPki;
    /** Nodes to repair, by node name (from drift detection at program time). */
    readonly repairs?: Readonly<Record<string, NodeRepair>>;
    /** Per node: how many times a failed run rolled it back (from the inventory; absent = 0). */
    readonly rollbacks?: Readonly<Record<string, number>>;
}

export class Rollout extends pulumi.ComponentResource {
    /** Per node and component: the SHA-256 fingerprint the component served after its last restart. */
    public readonly served: pulumi.Output<Record<string, Record<string, string>>>;
    /** Per node: what the install printed (paths and fingerprints, never content). */
    public readonly installReports: pulumi.Output<Record<string, string>>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: RolloutArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:Rollout", name, {}, opts);
        const { cluster, pki } = args;
        const served: Record<string, pulumi.Output<Record<string, string>>> = {};
        const installs: Record<string, pulumi.Output<string>> = {};
        let previousStage: pulumi.Resource[] = [];
        for (const stage of rolloutStages(cluster.nodes, cluster.rollout.workerBatchSize)) {
            const stageResources: pulumi.Resource[] = [];
            for (const node of stage) {
                const result = rolloutNode(name, node, args, previousStage, this);
                stageResources.push(...result.resources);
                served[node.name] = result.served;
                installs[node.name] = result.install.stdout;
            }
            previousStage = stageResources;
        }
        this.served = pulumi.output(served) as pulumi.Output<Record<string, Record<string, string>>>;
        this.installReports = pulumi.output(installs) as pulumi.Output<Record<string, string>>;
        this.registerOutputs({ served: this.served, installReports: this.installReports });
    }
}

interface NodeResult {
    install: NodeCommand;
    resources: pulumi.Resource[];
    served: pulumi.Output<Record<string, string>>;
}

function rootArgs(node: NodeSpec): string[] {
    return node.localRoot ? ["--root", node.localRoot] : [];
}

function rolloutNode(
    name: string, node: NodeSpec, args: RolloutArgs, after: pulumi.Resource[], parent: pulumi.Resource,
): NodeResult {
    const { cluster } = args;
    const files = args.pki.nodes[node.name].files;
    const bundle = nodeBundle(args.pki.nodes[node.name]);
    const installArgs = [...rootArgs(node), "--keep", String(cluster.rollout.keepBackups)];
    // A local-directory node (dev) starts empty: its root is created, as a machine's "/" exists.
    const makeRoot = node.localRoot ? `mkdir -p ${shellQuote(node.localRoot)} && ` : "";
    // A rolled-back node holds the old files while state says the install is done: the count of
    // rollbacks joins the triggers, so the node is installed and restarted again until verified.
    // Absent (0) it adds nothing, so stacks that never rolled back keep their triggers.
    const rollbacks = args.rollbacks?.[node.name] ?? 0;
    const epoch = rollbacks > 0 ? [`rollbacks:${rollbacks}`] : [];
    const install = nodeCommand(`${name}-${node.name}-install`, node, {
        create: makeRoot + scriptCommand("install", installArgs),
        update: SETTINGS_ONLY_INSTALL,
        stdin: bundle,
        triggers: [fileFingerprints(files), ...epoch],
    }, { parent, dependsOn: after });

    const resources: pulumi.Resource[] = [install];
    const served: Record<string, pulumi.Output<string>> = {};
    let previous: pulumi.Resource = install;
    const components = cluster.rollout.restart ? componentsToRestart(files, node.role) : [];
    for (const component of components) {
        const restart = nodeCommand(`${name}-${node.name}-${component}`, node, {
            create: scriptCommand("rotate", rotateArgs(component, node, cluster)),
            update: checkWithoutRestart(component, node, cluster),
            triggers: [fileFingerprints(filesReadBy(component, files)), ...epoch],
        }, { parent, dependsOn: [install, previous] });
        served[component] = restart.stdout.apply((out) => servedFingerprint(out, component));
        resources.push(restart);
        previous = restart;
    }

    const repair = args.repairs?.[node.name];
    const repaired: Partial<Record<Component, NodeCommand>> = {};
    if (repair) {
        // One command per step: each node command inlines its scripts, and a command line must
        // stay under the kernel's limit for a single argument (128 KiB).
        let last: pulumi.Resource = nodeCommand(`${name}-${node.name}-repair`, node, {
            create: scriptCommand("install", installArgs),
            stdin: bundle,
            triggers: [repair.signature],
        }, { parent, dependsOn: [previous] });
        resources.push(last);
        for (const component of cluster.rollout.restart ? repair.components : []) {
            const step = nodeCommand(`${name}-${node.name}-repair-${component}`, node, {
                create: repairStep(node, cluster, component),
                triggers: [repair.signature],
            }, { parent, dependsOn: [last] });
            repaired[component] = step;
            resources.push(step);
            last = step;
        }
    }
    // What a component serves now: the repair's check when it ran this time, else its restart's.
    for (const [component, step] of Object.entries(repaired) as [Component, NodeCommand][]) {
        const before = served[component] ?? pulumi.output("");
        served[component] = pulumi.all([step.stdout, before]).apply(([out, prev]) => servedFingerprint(out, component) || prev);
    }
    return { install, resources, served: pulumi.output(served) };
}

/** What an install runs when only its settings changed: its files are its triggers, so none changed. */
const SETTINGS_ONLY_INSTALL = `echo "install: settings changed, files unchanged; nothing pushed"`;

/**
 * What a restart command runs when only its settings changed (timeouts, SSH details, scripts): no
 * restart, only a bounded check of what the component serves, printing the same `served` line
 * as rotate.sh so the `served` output stays true. A mismatch is left to drift detection's repair
 * (the check fails soft: this run must not stop before the repair it scheduled).
 */
export function checkWithoutRestart(component: Component, node: NodeSpec, cluster: ClusterSpec): string {
    const verify = verifyArgs(component, node, cluster, SETTINGS_CHECK_SECONDS);
    const skip = `echo "${component}: settings changed, not restarted"`;
    if (!verify) return skip;
    return `${skip}; ${scriptCommand("verify-served", verify)} || ` +
        `echo "${component} does not serve its file: not reported as served; drift detection repairs it"`;
}

const SETTINGS_CHECK_SECONDS = 10;

/**
 * After the repair's re-push: restart + verify a drifted component only when the re-push changed
 * files on the node or it still serves something other than its file. Drift seen before this
 * run's own install (which may already have fixed it) thus costs no restart.
 */
function repairStep(node: NodeSpec, cluster: ClusterSpec, component: Component): string {
    const lastInstall = `${node.localRoot ?? ""}${LAST_INSTALL_NOTE}`;
    const changed = `[ "$(cat ${shellQuote(lastInstall)} 2>/dev/null)" != none ]`;
    const verify = verifyArgs(component, node, cluster, 5);
    const rotate = scriptCommand("rotate", rotateArgs(component, node, cluster));
    if (!verify) return `if ${changed}; then ${rotate}; else echo "repair: ${component} unchanged"; fi`;
    // Unchanged and serving its file: print the check's `served` line, so the output stays true.
    return `if ! ${changed} && served=$(${scriptCommand("verify-served", verify)} 2>/dev/null); then ` +
        `printf '%s\n' "$served" "repair: ${component} unchanged and serving its file"; else ${rotate}; fi`;
}

/** The fingerprint rotate.sh reports on its `served <component> sha256:<hex>` line. */
export function servedFingerprint(stdout: string, component: string): string {
    const line = stdout.split("\n").find((l) => l.startsWith(`served ${component} `));
    return line ? line.split(" ")[2] : "";
}
