/**
 * @pulumi/kubernetes Providers made from kube-pki's own kubeconfigs. Each has a fixed
 * clusterIdentifier: without one the provider replaces itself (and so every object on it)
 * whenever its kubeconfig is unknown in preview or names another server — i.e. on every run that
 * reissues admin.conf (pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig; pinned in
 * test/harness/mocks/provider-contract.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** "kube-pki/<cluster>" for admin.conf, "kube-pki/<cluster>/super-admin" for super-admin.conf. */
export function clusterIdentifier(clusterName: string, identity: "admin" | "super-admin"): string {
    return identity === "admin" ? `kube-pki/${clusterName}` : `kube-pki/${clusterName}/super-admin`;
}

export function kubeconfigProvider(
    name: string, clusterName: string, identity: "admin" | "super-admin", kubeconfig: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): k8s.Provider {
    return new k8s.Provider(name, {
        // The provider's schema does not mark kubeconfig secret: it is secret because we make it so.
        kubeconfig: pulumi.secret(kubeconfig),
        clusterIdentifier: clusterIdentifier(clusterName, identity),
        // Patch resources are server-side apply (the v4 default; stated so it cannot drift).
        enableServerSideApply: true,
    }, opts);
}
