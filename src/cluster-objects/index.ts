/**
 * Whether this run declares the cluster objects, and with what: off by config, off on clusters older
 * than server-side apply (with a warning), left for the next run when no apiserver answered at its
 * start (with a warning in preview and up), else ClusterObjects.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPki } from "../pki/cluster-pki";
import { CLUSTER_OBJECTS_MIN_VERSION, clusterObjectsSupported } from "../pki/versions";
import type { ClusterSpec } from "../spec";
import { ClusterObjects } from "./cluster-objects";

export { apiserverServes } from "./reachability";
export { ClusterObjects } from "./cluster-objects";

/** The warning of a run that leaves the objects for later (exported for tests). */
export function clusterDownWarning(serving: boolean | undefined): string {
    const why = serving === false ? "no master's apiserver answered on :6443" : "no master's apiserver could be checked";
    return `kube-pki:clusterObjects: ${why} at the start of this run, so cluster-info and kubeadm's RBAC bindings are ` +
        "left for the next run (nothing is removed from the cluster: they are retainOnDelete); the certificate work goes on";
}

/** The warning of a cluster too old for the objects (exported for tests). */
export function clusterTooOldWarning(version: string): string {
    const min = CLUSTER_OBJECTS_MIN_VERSION.replace(/\.0$/, "");
    return `kube-pki:clusterObjects: Kubernetes ${version} is older than ${min}, so cluster-info and kubeadm's RBAC ` +
        `bindings are not managed (off whatever kube-pki:clusterObjects.enabled says): @pulumi/kubernetes applies them ` +
        `with server-side apply, on by default from ${min}; set kube-pki:clusterObjects.enabled to false to silence this ` +
        "warning; the certificate work goes on";
}

export interface DeclareArgs {
    cluster: ClusterSpec;
    pki: ClusterPki;
    /** From the program-time inventories (ClusterFindings.apiserverServing). */
    apiserverServing: boolean | undefined;
    /** The first master's rollout resources (Rollout.firstMaster). */
    after: readonly pulumi.Resource[];
}

export function declareClusterObjects(args: DeclareArgs): ClusterObjects | undefined {
    const { cluster, pki } = args;
    if (!cluster.clusterObjects.enabled) return undefined;
    if (!clusterObjectsSupported(cluster.kubernetesVersion)) {
        pulumi.log.warn(clusterTooOldWarning(cluster.kubernetesVersion));
        return undefined;
    }
    if (args.apiserverServing !== true) {
        pulumi.log.warn(clusterDownWarning(args.apiserverServing));
        return undefined;
    }
    const firstMaster = cluster.nodes.find((n) => n.role === "master")!;
    const superAdmin = pki.nodes[firstMaster.name].files.find((f) => f.key === "super-admin.conf");
    return new ClusterObjects(`${cluster.name}-cluster-objects`, {
        cluster,
        // The cluster CA's trust bundle: old + new while the CA rotates (same as the certificate otherwise).
        caCertPem: pki.caBundles["ca"],
        adminKubeconfig: pki.adminKubeconfig,
        superAdminKubeconfig: superAdmin?.content,
        after: args.after,
    });
}
