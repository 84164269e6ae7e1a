/**
 * Consumers of stack-declared certificates outside the component table (kube-proxy, flanneld):
 * which of them restart on a node and with what arguments of src/scripts/restart-consumer.sh.
 * They restart after the catalogue components of the node (their files are on disk and the
 * apiserver they talk to is verified by then), in declaration order. Pure: no Pulumi.
 */
import type { WantedFile } from "../pki/cluster-pki";
import type { ExtraComponent } from "../pki/components";
import type { ClusterSpec, NodeSpec } from "../spec";

export interface ConsumerRestart {
    readonly component: ExtraComponent;
    /** The node's files it reads (their fingerprints trigger its restart). */
    readonly files: readonly WantedFile[];
    /** Arguments of restart-consumer.sh. */
    readonly args: readonly string[];
}

/** The extra components that read one of this node's files, in declaration order. */
export function consumerRestarts(
    extras: readonly ExtraComponent[], files: readonly WantedFile[], node: NodeSpec, cluster: ClusterSpec,
): ConsumerRestart[] {
    return extras.flatMap((component) => {
        const read = files.filter((f) => f.extraConsumers?.includes(component.name));
        if (read.length === 0) return [];
        const r = component.restart;
        const target = r.restart === "systemd" ? r.unit ?? component.name
            : r.restart === "docker" || r.restart === "crictl" ? r.container ?? component.name : "-";
        // Its served certificate: the first certificate file of its own it reads (not a kubeconfig).
        const served = component.port !== undefined ? read.find((f) => f.expected && !f.kubeconfig && f.expected.keyPath) : undefined;
        const args = [
            ...(node.localRoot ? ["--root", node.localRoot] : []),
            component.name, r.restart, target, "--timeout", String(cluster.rollout.componentTimeoutSeconds),
            ...(served ? ["--endpoint", `127.0.0.1:${component.port}`, "--cert", served.path] : []),
        ];
        return [{ component, files: read, args }];
    });
}
