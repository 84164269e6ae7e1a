/**
 * KUBE_PKI_SIM_KEEP=<dir>: a stopped cluster leaves a copy of each node's kubeadm tree, kubelet
 * PKI and event log for a post-mortem. Each cluster gets its own folder (<dir>/<run id>/<node>),
 * so clusters of several test files that reuse node names never copy onto each other (an
 * absolute symlink such as kubelet-client-current.pem cannot be copied over an earlier one).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface KeptNode {
    name: string;
    /** Node path → host path (SimNode.hostPath). */
    hostPath(p: string): string;
    /** The node's run folder (holds events.jsonl). */
    dir: string;
}

/** Node paths kept for each node. */
export const KEPT_PATHS = ["/etc/kubernetes", "/var/lib/kubelet/pki"];

/** Copies the nodes' state into a new folder <keepRoot>/<runId>[-n]; returns that folder. */
export function keepClusterCopy(keepRoot: string, runId: string, nodes: KeptNode[]): string {
    fs.mkdirSync(keepRoot, { recursive: true, mode: 0o700 });
    let dest = path.join(keepRoot, runId);
    for (let n = 2; fs.existsSync(dest); n++) dest = path.join(keepRoot, `${runId}-${n}`);
    fs.mkdirSync(dest, { mode: 0o700 });
    for (const node of nodes) {
        for (const p of KEPT_PATHS) {
            const src = node.hostPath(p);
            if (fs.existsSync(src)) fs.cpSync(src, path.join(dest, node.name, p), { recursive: true, verbatimSymlinks: true });
        }
        const ev = path.join(node.dir, "events.jsonl");
        if (fs.existsSync(ev)) fs.cpSync(ev, path.join(dest, node.name, "events.jsonl"));
    }
    return dest;
}
