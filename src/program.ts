/**
 * The kube-pki Pulumi program: config → ClusterPki → drift findings → Rollout → stack outputs.
 * `src/main.ts` is the entry Pulumi runs; tests call `kubePki()` under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadClusterSpec } from "./config";
import { inspectCluster, type ClusterFindings } from "./findings";
import { ClusterPki } from "./pki/cluster-pki";
import { Rollout } from "./rollout";
import type { ClusterSpec } from "./spec";

export interface KubePkiOptions {
    /** The cluster to manage; read from the stack config when omitted. */
    readonly spec?: ClusterSpec;
    /** Overrides how nodes are inspected at program time (tests). */
    readonly inspect?: (cluster: ClusterSpec) => Promise<ClusterFindings>;
}

/** One row of the `certificates` stack output. */
export interface CertificateRow {
    /** notAfter of the certificate the stack declares (unknown in preview until issued). */
    expires: string;
    /** Why the file is (re)issued or re-pushed, or "ok". */
    reason: string;
}

export async function kubePki(options: KubePkiOptions = {}) {
    const cluster = options.spec ?? loadClusterSpec();
    // Nodes are inspected (read-only, clock guard first) before any resource is declared.
    const findings = await (options.inspect ?? inspectCluster)(cluster);
    const pki = new ClusterPki(cluster.name, { cluster });
    const rollout = new Rollout(`${cluster.name}-rollout`, { cluster, pki, repairs: findings.repairs });

    const certificates: Record<string, Record<string, pulumi.Output<CertificateRow>>> = {};
    for (const [nodeName, nodePki] of Object.entries(pki.nodes)) {
        certificates[nodeName] = {};
        for (const file of nodePki.files) {
            if (!file.notAfter) continue;
            const reason = findings.reasons[nodeName]?.[file.key] ?? "not inspected";
            certificates[nodeName][file.key] = file.notAfter.apply((expires) => ({ expires, reason }));
        }
    }
    return {
        certificates,
        drift: findings.report,
        served: rollout.served,
        caCertificates: pki.caCertificates,
        adminKubeconfig: pulumi.secret(pki.adminKubeconfig),
    };
}
