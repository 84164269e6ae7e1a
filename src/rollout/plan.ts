/**
 * Pure planning of a rollout: which nodes go together, which components restart on a node and
 * how each one is checked. No Pulumi here; src/rollout/rollout.ts turns the plan into resources.
 */
import { CA_CONFIG_KEY, catalogFor, type CaId } from "../pki/catalog";
import type { WantedFile } from "../pki/cluster-pki";
import { componentEndpoint, componentInfo, restartOrder, servesOurCertificate, type Component } from "../pki/components";
import { componentRestart, filePath, restartArgs, type FileKey } from "../pki/layout";
import type { ClusterSpec, NodeSpec } from "../spec";

/**
 * Stages run one after another: every master alone (the next master starts only after the
 * previous one is verified), then the workers in batches of `batchSize`.
 */
export function rolloutStages(nodes: readonly NodeSpec[], batchSize: number): NodeSpec[][] {
    const masters = nodes.filter((n) => n.role === "master").map((n) => [n]);
    const workers = nodes.filter((n) => n.role === "worker");
    const batches: NodeSpec[][] = [];
    for (let i = 0; i < workers.length; i += batchSize) batches.push(workers.slice(i, i + batchSize));
    return [...masters, ...batches];
}

/**
 * Is this file's content the cluster's own, read back from the node (an adopted CA or sa pair)?
 * Pushing it changes nothing a component has loaded, so it alone is no reason to restart. A CA
 * under rotation (kube-pki:authorities.rotate) is not, nor is the sa pair under rotation: its files
 * carry the phase's old/new bundle and key, and every reader must restart to load them.
 */
export function adoptedContent(source: string, cluster: Pick<ClusterSpec, "authorities">): boolean {
    const a = cluster.authorities;
    // Under rotation sa.key/sa.pub carry the phase's keys: the apiserver and controller-manager must load them.
    if (source === "sa") return a.serviceAccount === "adopt" && !a.serviceAccountRotation;
    if (!(source in CA_CONFIG_KEY)) return false;
    const own = a[CA_CONFIG_KEY[source as CaId]];
    // A same-as-ca CA's files are the cluster CA's, rotating with it.
    const key = own === "same-as-ca" ? "ca" : CA_CONFIG_KEY[source as CaId];
    if (a.rotate?.[key]) return false;
    return (own === "same-as-ca" ? a.ca : own) === "adopt";
}

/**
 * Components on this node that read at least one of its files whose content kube-pki makes, in
 * restart order (src/pki/components.ts: workers run only the kubelet). Without `cluster` every
 * file counts. A component reading only adopted files (a stack taking over the kubelet client
 * certificates: the apiserver reads the adopted ca.crt) is not restarted: nothing it reads changes.
 */
export function componentsToRestart(files: readonly WantedFile[], role: NodeSpec["role"], cluster?: Pick<ClusterSpec, "authorities">): Component[] {
    const changing = cluster ? files.filter((f) => !adoptedContent(f.source, cluster)) : files;
    return restartOrder(changing.flatMap((f) => f.consumers), role);
}

/** How the component's served certificate is checked after a restart. */
export interface ServedCheck {
    /** host:port to connect to from the node itself, or undefined when the component serves nothing we own. */
    endpoint?: string;
    /** The on-disk certificate it must serve. */
    certPath?: string;
    /** Client credentials for ports that require them (etcd). */
    client?: { cert: string; key: string; ca: string };
}

/**
 * From the component table: a component that serves a certificate of ours is checked at its
 * address against that file; one that self-signs (controller-manager and scheduler without
 * layout.componentServingCerts, the kubelet unless kube-pki:kubelet.servingCertificate is
 * managed) is proven by its restart alone.
 */
export function servedCheck(component: Component, node: NodeSpec, cluster: ClusterSpec): ServedCheck {
    // Restart method none: nothing restarts, so nothing is verified to serve the new file either.
    if (!servesOurCertificate(component, cluster) || componentRestart(cluster.layout, component).restart === "none") return {};
    const info = componentInfo(component);
    const planned = (cert: FileKey) => catalogFor(cluster).some((e) => e.kind === "leaf" && e.certFile === cert);
    // Its served certificate omitted (kube-pki:layout.omit): the file is not ours, so it is not checked.
    if (!planned(info.servedCert)) return {};
    // Its client certificate omitted (etcd's healthcheck client): the apiserver's etcd client, same CA,
    // proves it as well; with neither, the restart alone (an omitted file may not exist on the node).
    const client = !info.client || planned(info.client.cert) ? info.client
        : planned("apiserver-etcd-client.crt") ? { ...info.client, cert: "apiserver-etcd-client.crt" as const, key: "apiserver-etcd-client.key" as const } : undefined;
    if (info.client && !client) return {};
    const p = (key: FileKey) => filePath(cluster.layout, key, node);
    return {
        endpoint: componentEndpoint(component, node), certPath: p(info.servedCert),
        ...(client ? { client: { cert: p(client.cert), key: p(client.key), ca: p(client.ca) } } : {}),
    };
}

/** Arguments of src/scripts/rotate.sh for one component on one node. */
export function rotateArgs(component: Component, node: NodeSpec, cluster: ClusterSpec): string[] {
    const check = servedCheck(component, node, cluster);
    // The component's method from the layout (kube-pki:layout.components), options only when not the scripts' defaults.
    const restart = restartArgs(cluster.layout, component);
    const args = [
        ...(node.localRoot ? ["--root", node.localRoot] : []),
        component, restart.method, check.endpoint ?? "-", check.certPath ?? "-",
        "--timeout", String(cluster.rollout.componentTimeoutSeconds),
        ...restart.options,
    ];
    if (check.client) {
        args.push("--client-cert", check.client.cert, "--client-key", check.client.key, "--cacert", check.client.ca);
    }
    return args;
}

/** Arguments of src/scripts/verify-served.sh, or undefined when the component serves nothing of ours. */
export function verifyArgs(component: Component, node: NodeSpec, cluster: ClusterSpec, timeoutSeconds: number): string[] | undefined {
    const check = servedCheck(component, node, cluster);
    if (!check.endpoint || !check.certPath) return undefined;
    return [
        ...(node.localRoot ? ["--root", node.localRoot] : []),
        component, check.endpoint, check.certPath, "--timeout", String(timeoutSeconds),
        ...(check.client ? ["--client-cert", check.client.cert, "--client-key", check.client.key, "--cacert", check.client.ca] : []),
    ];
}
