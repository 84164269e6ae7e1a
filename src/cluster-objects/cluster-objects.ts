/**
 * ClusterObjects: the cluster-side half of the PKI, as server-side apply Patch resources so the
 * objects kubeadm already made are adopted (same names, same values: the fields become shared, not
 * fought over or duplicated). Every one is `retainOnDelete`: deleting a Patch gives up its fields,
 * which would remove the ones only kube-pki held, so `destroy` or switching the feature off must
 * not reach the cluster. Declared only after the first master is verified, and only when an
 * apiserver answered at the start of the run (src/cluster-objects/reachability.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ClusterSpec } from "../spec";
import { kubeconfigServer, type KubeconfigEntry } from "../pki/catalog";
import { renderClusterInfoKubeconfig } from "./cluster-info";
import { bindingObjects, CLUSTER_INFO, CLUSTER_INFO_ROLE, type BindingObject } from "./objects";
import { kubeconfigProvider } from "./provider";

export interface ClusterObjectsArgs {
    readonly cluster: ClusterSpec;
    /** The cluster CA certificate (PEM; during a rotation the bundle of old and new): cluster-info follows it. */
    readonly caCertPem: pulumi.Input<string>;
    /** admin.conf (secret): the identity every object but kubeadm:cluster-admins is applied with. */
    readonly adminKubeconfig: pulumi.Input<string>;
    /** super-admin.conf (1.29+, secret): applies kubeadm:cluster-admins, the binding admin.conf itself needs. */
    readonly superAdminKubeconfig?: pulumi.Input<string>;
    /** The first master's last install/restart/verify resources: nothing is applied before they finish. */
    readonly after: readonly pulumi.Resource[];
}

export class ClusterObjects extends pulumi.ComponentResource {
    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: ClusterObjectsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:ClusterObjects", name, {}, opts);
        const { cluster } = args;
        const after = [...args.after];
        const admin = kubeconfigProvider(`${name}-admin`, cluster.name, "admin", args.adminKubeconfig, { parent: this, dependsOn: after });
        const bindings = bindingObjects(cluster.kubernetesVersion);
        const options = (provider: k8s.Provider, dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions =>
            ({ parent: this, provider, retainOnDelete: true, dependsOn });

        // admin.conf is authorised by kubeadm:cluster-admins from 1.29: that binding goes first, as super-admin.
        let adminReady: pulumi.Resource[] = after;
        const own = bindings.find((b) => b.asSuperAdmin);
        if (own) {
            if (!args.superAdminKubeconfig) throw new Error(`${own.name} needs super-admin.conf, which this cluster's PKI lacks`);
            const superAdmin = kubeconfigProvider(`${name}-super-admin`, cluster.name, "super-admin", args.superAdminKubeconfig, { parent: this, dependsOn: after });
            adminReady = [...after, bindingPatch(name, own, options(superAdmin, after))];
        }

        const server = kubeconfigServer({ server: "endpoint" } as KubeconfigEntry, cluster, cluster.nodes[0]);
        new k8s.core.v1.ConfigMapPatch(objectResourceName(name, "ConfigMap", CLUSTER_INFO.name), {
            metadata: {
                name: CLUSTER_INFO.name, namespace: CLUSTER_INFO.namespace,
                // kubeadm wrote the key with an Update: after a CA change our value must win that field.
                annotations: { "pulumi.com/patchForce": "true" },
            },
            data: { kubeconfig: pulumi.output(args.caCertPem).apply((ca) => renderClusterInfoKubeconfig(ca, server)) },
        }, options(admin, adminReady));
        new k8s.rbac.v1.RolePatch(objectResourceName(name, "Role", CLUSTER_INFO_ROLE.name), {
            metadata: { name: CLUSTER_INFO_ROLE.name, namespace: CLUSTER_INFO_ROLE.namespace },
            rules: CLUSTER_INFO_ROLE.rules,
        }, options(admin, adminReady));
        for (const binding of bindings.filter((b) => !b.asSuperAdmin)) bindingPatch(name, binding, options(admin, adminReady));
        this.registerOutputs({});
    }
}

/** Logical names: "<component>-<kind>-<object name>" (kinds differ for the Role and RoleBinding of one name). */
export function objectResourceName(component: string, kind: string, objectName: string): string {
    return `${component}-${kind.toLowerCase()}-${objectName}`;
}

function bindingPatch(component: string, b: BindingObject, opts: pulumi.CustomResourceOptions): pulumi.Resource {
    const metadata = { name: b.name, ...(b.namespace ? { namespace: b.namespace } : {}) };
    const name = objectResourceName(component, b.kind, b.name);
    return b.kind === "RoleBinding"
        ? new k8s.rbac.v1.RoleBindingPatch(name, { metadata, roleRef: b.roleRef, subjects: b.subjects }, opts)
        : new k8s.rbac.v1.ClusterRoleBindingPatch(name, { metadata, roleRef: b.roleRef, subjects: b.subjects }, opts);
}
