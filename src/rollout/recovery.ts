/**
 * Is the control plane already down in a way the one-master-at-a-time rollout cannot fix? Then
 * the rollout uses the recovery order (src/rollout/rollout.ts): installs on every master, every
 * etcd restarted together, then every apiserver, controller-manager and scheduler, kubelet.
 * Judged at program time from the inventories only. Pure: no Pulumi.
 */
import { catalogFor } from "../pki/catalog";
import { filePath, type FileKey } from "../pki/layout";
import type { InventoryFile, NodeInventory } from "../drift/inventory";
import type { ClusterSpec } from "../spec";

export interface RecoveryDecision {
    /** true: use the recovery order. */
    readonly down: boolean;
    /** Why, with counts ("0 of 3 masters hold a valid etcd peer and server certificate"); empty when not down. */
    readonly reasons: readonly string[];
}

const ETCD_FILES: readonly FileKey[] = ["etcd/peer.crt", "etcd/server.crt"];

/** A certificate on disk that is valid at `now` (present, parsed, inside notBefore..notAfter). */
function validAt(file: InventoryFile | undefined, now: Date): boolean {
    const cert = file?.exists ? file.cert : undefined;
    return !!cert && cert.notBefore.getTime() <= now.getTime() && now.getTime() <= cert.notAfter.getTime();
}

/**
 * Down when no etcd quorum is possible with the certificates on disk (masters that may hold a
 * valid peer and server certificate, counting unreadable ones as possibly valid, are fewer than a
 * majority), or when every master was read and none serves a valid apiserver certificate. Without
 * inventories (nothing read) nothing is known, so today's order stays.
 */
export function detectControlPlaneDown(
    cluster: ClusterSpec, inventories: readonly NodeInventory[] | undefined, now: Date,
): RecoveryDecision {
    // A local-directory node (dev) runs no components: an empty tree there is a first run, not an outage.
    const masters = cluster.nodes.filter((n) => n.role === "master" && !n.localRoot);
    if (!inventories || inventories.length === 0 || masters.length === 0) return { down: false, reasons: [] };
    const read = new Map(inventories.filter((inv) => inv.reachable).map((inv) => [inv.node, inv]));
    const reasons: string[] = [];

    // Stacked etcd whose peer and server certificates are kube-pki's (not omitted by the layout).
    const leaves = new Set(catalogFor(cluster).filter((e) => e.kind === "leaf").map((e) => e.certFile));
    if (cluster.etcd.mode === "stacked" && ETCD_FILES.every((k) => leaves.has(k))) {
        const majority = Math.floor(masters.length / 2) + 1;
        let valid = 0;
        let unknown = 0;
        for (const m of masters) {
            const inv = read.get(m.name);
            if (!inv) { unknown++; continue; }
            const byPath = (k: FileKey) => inv.files.find((f) => f.path === filePath(cluster.layout, k, m));
            // A reading that does not list the files (not asked for them) says nothing: possibly valid.
            if (ETCD_FILES.some((k) => byPath(k) === undefined)) { unknown++; continue; }
            if (ETCD_FILES.every((k) => validAt(byPath(k), now))) valid++;
        }
        if (valid + unknown < majority) {
            reasons.push(`${valid} of ${masters.length} masters hold a valid etcd peer and server certificate` +
                `${unknown ? ` (${unknown} not read)` : ""}; etcd needs ${majority} for a quorum`);
        }
    }

    // Every master read, each with an apiserver reading, and none of them a currently valid certificate.
    const apiserver = masters.map((m) => read.get(m.name)?.served.find((s) => s.component === "kube-apiserver"));
    if (apiserver.every((s) => s !== undefined)) {
        const serving = apiserver.filter((s) => s!.cert && s!.cert.notBefore.getTime() <= now.getTime() && now.getTime() <= s!.cert.notAfter.getTime());
        if (serving.length === 0) {
            const expired = apiserver.filter((s) => s!.cert).length;
            reasons.push(`no apiserver serves a valid certificate (${masters.length - expired} of ${masters.length} unreachable, ${expired} expired)`);
        }
    }
    return { down: reasons.length > 0, reasons };
}

/** The preview's line for a control plane that is down. */
export function recoveryMessage(decision: RecoveryDecision): string {
    return `control plane down: recovery order (${decision.reasons.join("; ")}): every master is installed first, ` +
        "then etcd is restarted on all masters together, then the apiservers, controller-managers and schedulers, " +
        "then the kubelets, then the workers; drift repairs wait for a run on a healthy control plane";
}

/**
 * The recovery order on the masters, by phase: a step waits for every step of every earlier
 * phase on every master, and for nothing else of another master (installs do not wait for each
 * other, nor etcd restarts). Steps outside the table (consumers, kubelet client, repairs) keep
 * following their own node's last step.
 */
export const RECOVERY_PHASES: readonly (readonly string[])[] = [
    ["install"], ["etcd"], ["kube-apiserver"], ["kube-controller-manager", "kube-scheduler"], ["kubelet"],
];

export function recoveryPhase(step: string): number {
    const i = RECOVERY_PHASES.findIndex((p) => p.includes(step));
    if (i < 0) throw new Error(`"${step}" has no recovery phase`);
    return i;
}

/**
 * Collects each master's steps by phase while the masters are declared; `before(step)` resolves,
 * once `close()` says every master is declared, to the steps of the earlier phases (a dependsOn
 * may be a promise, so a master's etcd can wait for an install declared after it).
 */
export class PhaseBarrier<T> {
    private readonly byPhase: T[][] = RECOVERY_PHASES.map(() => []);
    private resolve!: (phases: T[][]) => void;
    private readonly all = new Promise<T[][]>((r) => { this.resolve = r; });

    add(step: string, item: T): void {
        this.byPhase[recoveryPhase(step)].push(item);
    }

    before(step: string): Promise<T[]> {
        const p = recoveryPhase(step);
        return this.all.then((phases) => phases.slice(0, p).flat());
    }

    close(): void {
        this.resolve(this.byPhase);
    }
}
