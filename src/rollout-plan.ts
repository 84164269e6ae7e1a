/**
 * Pure planning of a rollout: which nodes go together, which components restart on a node and
 * how each one is checked. No Pulumi here; src/rollout.ts turns the plan into resources.
 */
import { COMPONENT_ORDER, type Component } from "./pki/catalog";
import type { WantedFile } from "./pki/cluster-pki";
import { filePath } from "./pki/layout";
import type { ClusterSpec, NodeSpec } from "./spec";

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

/** Components on this node that read at least one of its files, in restart order. Workers run only the kubelet. */
export function componentsToRestart(files: readonly WantedFile[], role: NodeSpec["role"]): Component[] {
    const used = new Set(files.flatMap((f) => f.consumers));
    return COMPONENT_ORDER.filter((c) => used.has(c) && (role === "master" || c === "kubelet"));
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
 * etcd and apiserver serve certificates we issue; controller-manager and scheduler serve a
 * certificate of their own (kubeadm sets no --tls-cert-file), so a restart is proven by a
 * changed served certificate rather than a match with a file; the kubelet is checked by systemd, and
 * on :10250 when its serving certificate is ours (kube-pki:kubelet.servingCertificate: managed).
 */
export function servedCheck(component: Component, node: NodeSpec, cluster: ClusterSpec): ServedCheck {
    const p = (key: Parameters<typeof filePath>[1]) => filePath(cluster.layout, key);
    switch (component) {
        case "etcd":
            return {
                endpoint: "127.0.0.1:2379", certPath: p("etcd/server.crt"),
                client: { cert: p("etcd/healthcheck-client.crt"), key: p("etcd/healthcheck-client.key"), ca: p("etcd/ca.crt") },
            };
        case "kube-apiserver":
            return { endpoint: `${hostForUrl(node.advertiseAddress)}:6443`, certPath: p("apiserver.crt") };
        // Without serving certs of ours they self-sign: only the restart itself is verified.
        case "kube-controller-manager":
            return cluster.layout.componentServingCerts ? { endpoint: "127.0.0.1:10257", certPath: p("controller-manager.crt") } : {};
        case "kube-scheduler":
            return cluster.layout.componentServingCerts ? { endpoint: "127.0.0.1:10259", certPath: p("scheduler.crt") } : {};
        // Managed serving pair: the kubelet serves it on the node's address (it binds 0.0.0.0:10250).
        case "kubelet":
            return cluster.kubelet.servingCertificate === "managed"
                ? { endpoint: `${hostForUrl(node.advertiseAddress)}:10250`, certPath: p("kubelet.crt") }
                : {};
    }
}

function hostForUrl(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}

/** Arguments of src/scripts/rotate.sh for one component on one node. */
export function rotateArgs(component: Component, node: NodeSpec, cluster: ClusterSpec): string[] {
    const check = servedCheck(component, node, cluster);
    const args = [
        ...(node.localRoot ? ["--root", node.localRoot] : []),
        component, cluster.layout.restart, check.endpoint ?? "-", check.certPath ?? "-",
        "--timeout", String(cluster.rollout.componentTimeoutSeconds),
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
