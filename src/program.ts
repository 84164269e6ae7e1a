/**
 * The kube-pki Pulumi program: config → ClusterPki → drift findings → Rollout → stack outputs.
 * `src/main.ts` is the entry Pulumi runs; tests call `kubePki()` under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadClusterSpec } from "./config";
import { KUBELET_CLIENT_ROW, planFileActions, renderFileActions, type FileAction } from "./drift/actions";
import { inspectCluster, rotationDecisions, rotationMessage, saRotationDecision, type ClusterFindings } from "./findings";
import { decideRotation, type RotationDecision, type RotationInputs } from "./pki/ca-rotation";
import { decideSaRotation, type SaRotationDecision, type SaRotationInputs } from "./pki/sa-rotation";
import { ClusterPki } from "./pki/cluster-pki";
import { decideKubeletClients } from "./pki/kubelet-client";
import type { Kit } from "./node/kit";
import { adoptReader } from "./node/adopt";
import { NodeKits } from "./node/kit-ship";
import { Rollout } from "./rollout/rollout";
import { detectControlPlaneDown, recoveryMessage } from "./rollout/recovery";
import { withShortStacks } from "./short-stacks";
import { declareClusterObjects } from "./cluster-objects";
import type { ClusterSpec } from "./spec";

export interface KubePkiOptions {
    /** The cluster to manage; read from the stack config when omitted. */
    readonly spec?: ClusterSpec;
    /** Overrides how nodes are inspected at program time (tests). */
    readonly inspect?: (cluster: ClusterSpec) => Promise<ClusterFindings>;
    /** The node kit (tests: another kube-pki version's scripts); default this package's. */
    readonly kit?: Kit;
    /** Overrides the CA rotation phase decision (tests); default src/pki/ca-rotation.ts decideRotation. */
    readonly decideRotation?: (inputs: RotationInputs) => RotationDecision;
    /** Overrides the service-account key rotation's phase decision (tests); default src/pki/sa-rotation.ts decideSaRotation. */
    readonly decideSaRotation?: (inputs: SaRotationInputs) => SaRotationDecision;
}

/** One row of the `certificates` stack output (src/drift/actions.ts decides it at program time). */
export interface CertificateRow {
    /** What the run does to the file: keep, reissue, re-push, restart only. */
    action: FileAction;
    /** Why, with the values ("expires in 25 d, inside renew-before 30 d", "validity 365 d → 730 d"). */
    reason: string;
    /**
     * notAfter (ISO 8601). Preview: the disk's for kept files, now + validity for reissued ones, ""
     * when not known before the push. After `up`: the issued certificate's, from state.
     */
    expires: string;
}

export async function kubePki(options: KubePkiOptions = {}) {
    const cluster = options.spec ?? loadClusterSpec();
    // Nodes are inspected (read-only, clock guard first) before any resource is declared.
    // The nodes are checked for the kit this run ships (options.kit when a test passes another version's).
    const findings = await (options.inspect ?? ((c: ClusterSpec) => inspectCluster(c, undefined, options.kit?.id)))(cluster);
    // Without the SDK's per-promise stack traces: half the program's time at scale (src/short-stacks.ts).
    return withShortStacks(() => declareStack(cluster, findings, options));
}

/** Every resource and the stack outputs, from the config and what the nodes hold (synchronous). */
function declareStack(cluster: ClusterSpec, findings: ClusterFindings, options: KubePkiOptions) {
    // CA rotations: this run's phase of each, from what every node holds (before any resource exists).
    const rotations = rotationDecisions(cluster, findings.inventories, options.decideRotation ?? decideRotation);
    for (const decision of Object.values(rotations)) {
        const { level, text } = rotationMessage(decision);
        pulumi.log[level](text);
    }
    const rotating = Object.keys(rotations).length > 0;
    // The service-account key pair's rotation, the same way (src/pki/sa-rotation.ts).
    const saRotation = saRotationDecision(cluster, findings.inventories, options.decideSaRotation ?? decideSaRotation);
    if (saRotation) {
        const { level, text } = rotationMessage(saRotation);
        pulumi.log[level](text);
    }
    // The node scripts reach each node once, as a kit every node command calls.
    const kits = new NodeKits(`${cluster.name}-kit`, { cluster, reship: findings.kitReships, kit: options.kit });
    // rotate mode: which kubelets get a client certificate from kube-pki (only unusable or overdue ones).
    // The cluster CA's rotation decides which CA their certificates must come from.
    const caRotation = rotations.ca && { decision: rotations.ca, ...newCaCertOf(cluster) };
    const kubeletClients = decideKubeletClients(cluster, findings.inventories, new Date(), caRotation);
    const pki = new ClusterPki(cluster.name, { cluster, readAdopted: adoptReader(kits.nodes), kubeletClients, ...(rotating ? { rotations } : {}), ...(saRotation ? { saRotation } : {}) });
    // A control plane already down (no etcd quorum possible, no apiserver serving) cannot be verified one master at a time.
    const down = detectControlPlaneDown(cluster, findings.inventories, new Date());
    if (down.down) pulumi.log.warn(recoveryMessage(down));
    const rollout = new Rollout(`${cluster.name}-rollout`, {
        // Recovery reinstalls and restarts every node: no drift repair after it (they wait for a healthy run).
        cluster, pki, kits: kits.nodes, repairs: down.down ? {} : findings.repairs, rollbacks: findings.rollbacks, kubeletClients, recovery: down.down, recoveryReasons: down.reasons,
        manifests: findings.manifests,
    });

    // cluster-info and kubeadm's RBAC bindings, once the first master is verified (src/cluster-objects/).
    declareClusterObjects({ cluster, pki, apiserverServing: findings.apiserverServing, after: rollout.firstMaster });

    // Decided from the inventories, so preview knows every value; `up` takes notAfter from state.
    const plan = planFileActions(cluster, findings.inventories, {
        now: new Date(), repairedNodes: new Set(Object.keys(findings.repairs)), notInspected: "no inventory read",
        ...(caRotation ? { kubeletRotation: caRotation } : {}),
    });
    pulumi.log.info(`kube-pki certificates\n${renderFileActions(plan)}`);
    const certificates: Record<string, Record<string, pulumi.Input<CertificateRow>>> = {};
    for (const [nodeName, nodePki] of Object.entries(pki.nodes)) {
        certificates[nodeName] = {};
        for (const file of nodePki.files) {
            const row = plan[nodeName]?.[file.key];
            if (!file.notAfter || !row) continue;
            certificates[nodeName][file.key] = pulumi.runtime.isDryRun() ? row : file.notAfter.apply((expires) => ({ ...row, expires }));
        }
        const kubeletRow = plan[nodeName]?.[KUBELET_CLIENT_ROW];
        const client = nodePki.kubeletClient;
        if (kubeletRow) {
            certificates[nodeName][KUBELET_CLIENT_ROW] = client && !pulumi.runtime.isDryRun() && kubeletRow.action === "reissue"
                ? client.notAfter.apply((expires) => ({ ...kubeletRow, expires })) : kubeletRow;
        }
    }
    return {
        certificates,
        drift: findings.report,
        served: rollout.served,
        caCertificates: pki.caCertificates,
        // Only while a CA rotates: what its trust anchors hold (old + new), and each rotation's phase.
        ...(rotating ? { caBundles: pki.caBundles, caRotations: rotationOutputs(rotations) } : {}),
        // Only while the sa pair rotates: the phase this run declared.
        ...(saRotation ? { serviceAccountRotation: rotationOutputs({ sa: saRotation }).sa } : {}),
        adminKubeconfig: pulumi.secret(pki.adminKubeconfig),
        // kube-pki:certificates entries with output: true (a cluster user's kubeconfig), secret, on no node.
        ...(Object.keys(pki.userKubeconfigs).length > 0 ? { kubeconfigs: pulumi.secret(pki.userKubeconfigs) } : {}),
    };
}

/** The adopted new cluster CA's certificate (read by the config), by which its certificates are recognised. */
function newCaCertOf(cluster: ClusterSpec): { newCaCertPem?: string } {
    const pem = cluster.authorities.rotate?.ca?.certPem;
    return pem ? { newCaCertPem: pem } : {};
}

/** The `caRotations` stack output: per rotating CA, the phase this run declared. */
function rotationOutputs(rotations: Partial<Record<string, Pick<RotationDecision, "id" | "phase" | "complete" | "summary" | "held">>>) {
    return Object.fromEntries(Object.entries(rotations).map(([ca, d]) => [ca, {
        id: d!.id, phase: d!.phase, complete: d!.complete, summary: d!.summary, ...(d!.held ? { held: d!.held } : {}),
    }]));
}
