/**
 * Rollout: per node, one install (stage → verify → back up → swap, all on the node), then one
 * restart+verify per component whose files changed, in the order etcd → apiserver →
 * controller-manager → scheduler → kubelet. Masters strictly one after another, workers in
 * bounded batches after the masters; a control plane already down goes in the recovery order
 * instead (src/rollout/recovery.ts). A node that drifted gets a repair command that exists only
 * while the drift lasts.
 */
import * as pulumi from "@pulumi/pulumi";
import { fileFingerprints, filesReadBy, nodeBundle } from "../node/bundle";
import { kitCall, kitCommand, kitLine } from "../node/kit";
import type { NodeKit } from "../node/kit-ship";
import { shellQuote } from "../node/scripts";
import { nodeCommand, type NodeCommand } from "../node/transport";
import type { Component } from "../pki/catalog";
import type { ClusterPki, SigningFileStep } from "../pki/cluster-pki";
import { catalogFor, kubeconfigServer } from "../pki/catalog";
import { filePath, restartArgs } from "../pki/layout";
import { componentEndpoint } from "../pki/components";
import { kubeletTrustsAlready, pemSha256, type KubeletClientDecision } from "../pki/kubelet-client";
import { consumerRestarts } from "./consumers";
import { manifestArgs, restoreManifests, saveManifests } from "./manifests";
import type { NodeManifests } from "../drift/manifests";
import { PhaseBarrier } from "./recovery";
import { extraComponentsOf } from "../pki/stack-certificates";
import { componentsToRestart, rolloutStages, rotateArgs, servedCheck, verifyArgs } from "./plan";
import type { ClusterSpec, NodeSpec } from "../spec";

/** What drift detection found on a node that needs a re-push. */
export interface NodeRepair {
    /** Components to restart and verify after the re-push (their files drifted, or they serve stale certs). */
    readonly components: readonly Component[];
    /** kube-pki:certificates readers outside the component table whose files drifted (restarted after the components). */
    readonly extraConsumers?: readonly string[];
    /** Stable digest of what drifted: the repair re-runs only when the drift itself changes. */
    readonly signature: string;
}

export interface RolloutArgs {
    readonly cluster: ClusterSpec;
    readonly pki: ClusterPki;
    /** Per node: the kit its commands call and what they wait for (src/node/kit-ship.ts). */
    readonly kits: Readonly<Record<string, NodeKit>>;
    /** Nodes to repair, by node name (from drift detection at program time). */
    readonly repairs?: Readonly<Record<string, NodeRepair>>;
    /** Per node: how many times a failed run rolled it back (from the inventory; absent = 0). */
    readonly rollbacks?: Readonly<Record<string, number>>;
    /** rotate mode: per node, what the inventory says of its kubelet client certificate. */
    readonly kubeletClients?: Readonly<Record<string, KubeletClientDecision>>;
    /**
     * The control plane is down (src/rollout/recovery.ts): the masters go in the recovery order
     * instead of one at a time. Same resources, names and inputs: only dependsOn differs.
     */
    readonly recovery?: boolean;
    /** Why the control plane is judged down: the recovery's end-to-end check runs again when it changes. */
    readonly recoveryReasons?: readonly string[];
    /** Masters whose manifests are missing or whose kube-pki copy is stale (src/rollout/manifests.ts). */
    readonly manifests?: Readonly<Record<string, NodeManifests>>;
}

export class Rollout extends pulumi.ComponentResource {
    /** Per node and component: the SHA-256 fingerprint the component served after its last restart. */
    public readonly served: pulumi.Output<Record<string, Record<string, string>>>;
    /** Per node: what the install printed (paths and fingerprints, never content). */
    public readonly installReports: pulumi.Output<Record<string, string>>;
    /** The first master's resources (install, restarts, verifications): what the cluster objects wait for. */
    public readonly firstMaster: readonly pulumi.Resource[];

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
        let firstMaster: pulumi.Resource[] | undefined;
        const stages = rolloutStages(cluster.nodes, cluster.rollout.workerBatchSize);
        // Recovery: every master in one stage, ordered by phase across the masters.
        const barrier = args.recovery ? new PhaseBarrier<pulumi.Resource>() : undefined;
        const isMasters = (stage: NodeSpec[]) => stage.some((n) => n.role === "master");
        const ordered = barrier ? [stages.filter(isMasters).flat(), ...stages.filter((s) => !isMasters(s))] : stages;
        for (const stage of ordered) {
            const stageResources: pulumi.Resource[] = [];
            for (const node of stage) {
                const result = rolloutNode(name, node, args, previousStage, this, node.role === "master" ? barrier : undefined);
                stageResources.push(...result.resources);
                served[node.name] = result.served;
                installs[node.name] = result.install.stdout;
            }
            if (isMasters(stage) && barrier) {
                barrier.close();
                const check = recoveryCheck(name, stage[0], args, barrier, this);
                if (check) stageResources.push(check);
            }
            previousStage = stageResources;
            firstMaster ??= stageResources;
        }
        this.firstMaster = firstMaster ?? [];
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
    barrier?: PhaseBarrier<pulumi.Resource>,
): NodeResult {
    const { cluster } = args;
    const kit = args.kits[node.name];
    if (!kit) throw new Error(`no kit for node "${node.name}"`);
    const run = (script: string, scriptArgs: string[]) => kitCommand(kit.id, node.name, node.localRoot, script, scriptArgs);
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
    // Cluster CA rotation: the controller-manager signs from a one-certificate file before ca.crt
    // becomes a bundle (point, before the install), and from ca.crt again once it is one CA (unpoint, last).
    const signing = args.pki.nodes[node.name].signing;
    const signingStep = (dependsOn: pulumi.Input<pulumi.Resource[]>) => nodeCommand(`${name}-${node.name}-ca-signing`, node, {
        create: run("signing-file", signingArgs(signing!, node, cluster)),
        triggers: [signing!.mode, signing!.signing],
    }, { parent, dependsOn });
    const pointed = signing?.mode === "point" ? signingStep([...after, ...kit.ready]) : undefined;
    const install = nodeCommand(`${name}-${node.name}-install`, node, {
        create: makeRoot + run("install", installArgs),
        update: SETTINGS_ONLY_INSTALL,
        stdin: bundle,
        triggers: [fileFingerprints(files), ...epoch],
    }, { parent, dependsOn: [...after, ...(pointed ? [pointed] : []), ...kit.ready] });
    barrier?.add("install", install);

    const resources: pulumi.Resource[] = pointed ? [pointed, install] : [install];
    const served: Record<string, pulumi.Output<string>> = {};
    let previous: pulumi.Resource = install;
    const components = cluster.rollout.restart ? componentsToRestart(files, node.role, cluster) : [];
    for (const component of components) {
        const rotate = run("rotate", rotateArgs(component, node, cluster));
        const restart = nodeCommand(`${name}-${node.name}-${component}`, node, {
            create: component === "kubelet" ? kubeletRestart(rotate, node, args) : rotate,
            update: checkWithoutRestart(component, node, cluster, kit.id),
            triggers: [fileFingerprints(filesReadBy(component, files)), ...epoch],
        }, { parent, dependsOn: withBarrier(barrier, component, [install, previous, ...kit.ready]) });
        barrier?.add(component, restart);
        served[component] = restart.stdout.apply((out) => servedFingerprint(out, component));
        resources.push(restart);
        previous = restart;
    }
    // kube-pki:certificates consumers outside the component table, after the catalogue's (src/rollout/consumers.ts).
    const extras = cluster.rollout.restart ? consumerRestarts(extraComponentsOf(cluster), files, node, cluster) : [];
    for (const extra of extras) {
        const c = extra.component.name;
        const restart = nodeCommand(`${name}-${node.name}-${c}`, node, {
            create: run("restart-consumer", [...extra.args]),
            update: `echo "${c}: settings changed, not restarted"`,
            triggers: [fileFingerprints([...extra.files]), ...epoch],
        }, { parent, dependsOn: [install, previous, ...kit.ready] });
        served[c] = restart.stdout.apply((out) => servedFingerprint(out, c));
        resources.push(restart);
        previous = restart;
    }

    // rotate mode: a client certificate of kube-pki's, installed beside the kubelet's own, after
    // every restart of this node (the apiserver must accept it when it is verified).
    const client = args.pki.nodes[node.name].kubeletClient;
    if (client) {
        previous = nodeCommand(`${name}-${node.name}-kubelet-client`, node, {
            create: run("kubelet-client", kubeletClientArgs(node, cluster)),
            update: `echo "kubelet client certificate: settings changed, certificate unchanged; nothing installed"`,
            stdin: client.pem,
            triggers: [pulumi.unsecret(client.certPem.apply((c) => `sha256:${pemSha256(c)}`))],
        }, { parent, dependsOn: [install, previous, ...kit.ready] });
        resources.push(previous);
    }

    const repair = args.repairs?.[node.name];
    const repaired: Partial<Record<Component, NodeCommand>> = {};
    if (repair) {
        // One command per step, so a preview names each restart the repair may do.
        let last: pulumi.Resource = nodeCommand(`${name}-${node.name}-repair`, node, {
            create: run("install", installArgs),
            stdin: bundle,
            triggers: [repair.signature],
        }, { parent, dependsOn: [previous, ...kit.ready] });
        resources.push(last);
        // The files first, then the manifests kube-pki kept a copy of, then the restarts.
        const restored = restoreManifests(name, node, cluster, args.manifests?.[node.name], run, { parent, dependsOn: [last, ...kit.ready] });
        if (restored) resources.push((last = restored));
        for (const component of cluster.rollout.restart ? repair.components : []) {
            const step = nodeCommand(`${name}-${node.name}-repair-${component}`, node, {
                create: repairStep(node, cluster, component, kit.id),
                triggers: [repair.signature],
            }, { parent, dependsOn: [last] });
            repaired[component] = step;
            resources.push(step);
            last = step;
        }
        // Readers outside the component table whose declared files drifted (src/rollout/consumers.ts), last.
        const drifted = new Set(repair.extraConsumers ?? []);
        for (const extra of cluster.rollout.restart ? extras.filter((e) => drifted.has(e.component.name)) : []) {
            last = nodeCommand(`${name}-${node.name}-repair-${extra.component.name}`, node, {
                create: run("restart-consumer", [...extra.args]),
                triggers: [repair.signature],
            }, { parent, dependsOn: [last] });
            resources.push(last);
        }
    }
    // What a component serves now: the repair's check when it ran this time, else its restart's.
    for (const [component, step] of Object.entries(repaired) as [Component, NodeCommand][]) {
        const before = served[component] ?? pulumi.output("");
        served[component] = pulumi.all([step.stdout, before]).apply(([out, prev]) => servedFingerprint(out, component) || prev);
    }
    if (signing?.mode === "unpoint") resources.push(signingStep([...resources, ...kit.ready]));
    // No repair: missing manifests come back after the node's own steps (the kubelet starts them).
    const restoredAlone = repair ? undefined : restoreManifests(name, node, cluster, args.manifests?.[node.name], run, { parent, dependsOn: [...resources, ...kit.ready] });
    if (restoredAlone) resources.push(restoredAlone);
    // kube-pki's copy of the manifests, only after every step of this node succeeded.
    const saved = saveManifests(name, node, cluster, args.manifests?.[node.name], run, { parent, dependsOn: [...resources, ...kit.ready] });
    if (saved) resources.push(saved);
    return { install, resources, served: pulumi.output(served) };
}

/**
 * Recovery's end-to-end proof, on the first master once every etcd and apiserver is back
 * (src/scripts/verify-recovery.sh): an etcd quorum write with the apiserver's etcd client pair and
 * GET /healthz with the admin kubeconfig. It exists only while the control plane is judged down,
 * so a healthy run registers nothing new (its removal afterwards runs nothing on a node).
 */
function recoveryCheck(
    name: string, node: NodeSpec, args: RolloutArgs, barrier: PhaseBarrier<pulumi.Resource>, parent: pulumi.Resource,
): NodeCommand | undefined {
    const { cluster } = args;
    const kit = args.kits[node.name];
    const scriptArgs = [...rootArgs(node), "--timeout", String(cluster.rollout.componentTimeoutSeconds)];
    const etcd = cluster.etcd.mode === "stacked" ? servedCheck("etcd", node, cluster) : {};
    if (etcd.endpoint && etcd.client) {
        scriptArgs.push("--etcd", etcd.endpoint, "--etcd-cert", etcd.client.cert, "--etcd-key", etcd.client.key, "--etcd-ca", etcd.client.ca);
    }
    const kept = new Set(catalogFor(cluster).map((e) => e.kind === "kubeconfig" ? e.file : e.kind === "leaf" ? e.certFile : ""));
    if (kept.has("admin.conf")) {
        scriptArgs.push("--apiserver", componentEndpoint("kube-apiserver", node),
            "--kubeconfig", filePath(cluster.layout, "admin.conf", node), "--ca", filePath(cluster.layout, "ca.crt", node));
    }
    if (!scriptArgs.includes("--etcd") && !scriptArgs.includes("--apiserver")) return undefined;
    return nodeCommand(`${name}-recovery-check`, node, {
        create: kitCommand(kit.id, node.name, node.localRoot, "verify-recovery", scriptArgs),
        triggers: [...(args.recoveryReasons ?? ["control plane down"])],
    }, { parent, dependsOn: withBarrier(barrier, "kube-controller-manager", kit.ready) });
}

/** Recovery: the step also waits for every earlier phase on every master (src/rollout/recovery.ts). */
function withBarrier(barrier: PhaseBarrier<pulumi.Resource> | undefined, step: string, own: pulumi.Resource[]): pulumi.Input<pulumi.Resource[]> {
    return barrier ? barrier.before(step).then((earlier) => [...own, ...earlier]) : own;
}

/** Arguments of src/scripts/kubelet-client.sh: where to verify the certificate, how to restart the kubelet. */
export function kubeletClientArgs(node: NodeSpec, cluster: ClusterSpec): string[] {
    const { host, port } = cluster.controlPlaneEndpoint;
    return [
        ...(node.localRoot ? ["--root", node.localRoot] : []),
        ...kubeletStrategy(cluster),
        "--endpoint", `${host.includes(":") ? `[${host}]` : host}:${port}`,
        "--ca", filePath(cluster.layout, "ca.crt", node),
        "--timeout", String(cluster.rollout.componentTimeoutSeconds),
        // kube-pki:rollout.restart false (dev): the file and the link only.
        ...(cluster.rollout.restart ? [] : ["--no-restart"]),
    ];
}

/** kubelet-client.sh's --strategy (and --unit/--container): the kubelet's method from the layout. */
function kubeletStrategy(cluster: ClusterSpec): string[] {
    const legacy = cluster.layout.restart === "static-pod" ? "systemd" : cluster.layout.restart;
    const { method, options } = restartArgs(cluster.layout, "kubelet", legacy);
    return ["--strategy", method, ...options];
}

/**
 * The kubelet's restart in rotate mode: not when a rotating kubelet already trusts the wanted CA
 * and endpoint (kubelet.conf changed only in form: its identity comes from kubelet-client-current.pem),
 * nor when the kubelet client step restarts and verifies it anyway this run.
 */
function kubeletRestart(rotate: string, node: NodeSpec, args: RolloutArgs): pulumi.Input<string> {
    const { cluster } = args;
    if (cluster.kubelet.clientCertificate !== "rotate") return rotate;
    // A managed serving pair is loaded only at a restart and must be verified on :10250: never skipped.
    if (cluster.kubelet.servingCertificate === "managed") return rotate;
    const decision = args.kubeletClients?.[node.name];
    const server = kubeconfigServer({ server: "endpoint" } as Parameters<typeof kubeconfigServer>[0], cluster, node);
    return args.pki.caCertificates["ca"].apply((pem) => {
        // Checked first, so the text stays the same in a run that reissues and in the next one.
        if (kubeletTrustsAlready(decision, pemSha256(pem), server)) {
            return `echo "kubelet: rotates its client certificate and already trusts this CA and ${server}; kubelet.conf rewritten, not restarted"`;
        }
        return decision?.action === "reissue" && cluster.rollout.restart
            ? `echo "kubelet: restarted and verified by its kubelet client certificate step"` : rotate;
    });
}

/** What an install runs when only its settings changed: its files are its triggers, so none changed. */
/** signing-file.sh arguments: the files, and the manifests dir when not kubeadm's. */
function signingArgs(step: SigningFileStep, node: NodeSpec, cluster: ClusterSpec): string[] {
    return [...manifestArgs(node, cluster), "--ca-cert", step.caCert, "--ca-key", step.caKey, "--signing", step.signing, step.mode];
}

const SETTINGS_ONLY_INSTALL = `echo "install: settings changed, files unchanged; nothing pushed"`;

/**
 * What a restart command runs when only its settings changed (timeouts, SSH details, scripts): no
 * restart, only a bounded check of what the component serves, printing the same `served` line
 * as rotate.sh so the `served` output stays true. A mismatch is left to drift detection's repair
 * (the check fails soft: this run must not stop before the repair it scheduled).
 */
export function checkWithoutRestart(component: Component, node: NodeSpec, cluster: ClusterSpec, kitId: string): string {
    const verify = verifyArgs(component, node, cluster, SETTINGS_CHECK_SECONDS);
    const skip = `echo "${component}: settings changed, not restarted"`;
    // Nothing to check: it only prints, so it needs no kit and cannot fail.
    if (!verify) return skip;
    return kitLine(kitId, node.name, node.localRoot, `${skip}; ${kitCall("verify-served", verify)} || ` +
        `echo "${component} does not serve its file: not reported as served; drift detection repairs it"`);
}

const SETTINGS_CHECK_SECONDS = 10;

/**
 * After the repair's re-push: `rotate.sh --if-needed` restarts + verifies a drifted component only
 * when the re-push changed files on the node or it still serves something other than its file;
 * otherwise it prints its `served` line, so drift seen before this run's own install costs no restart.
 */
function repairStep(node: NodeSpec, cluster: ClusterSpec, component: Component, kitId: string): string {
    return kitCommand(kitId, node.name, node.localRoot, "rotate", [...rotateArgs(component, node, cluster), "--if-needed"]);
}

/** The fingerprint rotate.sh reports on its `served <component> sha256:<hex>` line. */
export function servedFingerprint(stdout: string, component: string): string {
    const line = stdout.split("\n").find((l) => l.startsWith(`served ${component} `));
    return line ? line.split(" ")[2] : "";
}
