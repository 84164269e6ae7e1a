/**
 * CA lifetimes at program time, before any resource is declared: a leaf that would outlive its CA
 * is refused (preview fails, nothing is issued or pushed), and a CA nearing its end is reported
 * long before it ends. The CA certificate is read from the nodes' inventories, because an adopted
 * CA's value in state is unknown in a first preview. Pure: no I/O, no Pulumi.
 */
import type { NodeInventory } from "./inventory";
import { CA_CONFIG_KEY, catalogFor, type CaEntry, type CaId } from "../pki/catalog";
import { filePath } from "../pki/layout";
import type { ClusterSpec } from "../spec";

const DAY_MS = 86_400_000;

/** A CA as found on a node, when it is the CA the stack signs with. */
export interface KnownCa {
    readonly id: CaId;
    readonly path: string;
    readonly node: string;
    readonly notAfter: Date;
}

/**
 * The CA certificate each CA id signs with, read from the masters. An adopted CA is the file on
 * the `adoptFrom` master (what adoption reads, or what kube-pki installed from it); a generated CA
 * counts only where kube-pki's install record shows it put that very file there (before its
 * first install, the file on disk is someone else's CA).
 */
export function knownCas(cluster: ClusterSpec, inventories: readonly NodeInventory[]): KnownCa[] {
    const entries = catalogFor(cluster)
        .filter((e): e is CaEntry => e.kind === "ca");
    const found: KnownCa[] = [];
    for (const entry of entries) {
        const path = filePath(cluster.layout, entry.certFile);
        const adopted = cluster.authorities[CA_CONFIG_KEY[entry.id]] === "adopt";
        const candidates = inventories.filter((inv) => inv.reachable && inv.role === "master" &&
            (!adopted || inv.node === cluster.authorities.adoptFrom));
        for (const inv of candidates) {
            const file = inv.files.find((f) => f.path === path);
            if (!file?.cert || !file.sha256) continue;
            const installed = inv.installed?.[path];
            const ours = installed === file.sha256 || (adopted && installed === undefined);
            if (!ours) continue;
            found.push({ id: entry.id, path, node: inv.node, notAfter: file.cert.notAfter });
            break;
        }
    }
    return found;
}

/** Longest leaf validity (days) among the certificates each CA signs. */
function longestLeafDays(cluster: ClusterSpec): Map<CaId, { days: number; leaf: string }> {
    const longest = new Map<CaId, { days: number; leaf: string }>();
    for (const entry of catalogFor(cluster)) {
        if (entry.kind !== "leaf" && entry.kind !== "kubeconfig") continue;
        const days = cluster.validity.leafDaysOverrides[entry.id] ?? cluster.validity.leafDays;
        const current = longest.get(entry.signer);
        if (!current || days > current.days) longest.set(entry.signer, { days, leaf: entry.id });
    }
    return longest;
}

/**
 * One message per CA whose end comes before a leaf issued now would end. Leaves are issued with
 * notBefore = now and notAfter = now + their validity (the tls provider cannot backdate).
 */
export function leafOutlivesCaProblems(cluster: ClusterSpec, cas: readonly KnownCa[], now: Date): string[] {
    const longest = longestLeafDays(cluster);
    const problems: string[] = [];
    for (const ca of cas) {
        const leaf = longest.get(ca.id);
        if (!leaf) continue;
        const leafEnd = new Date(now.getTime() + leaf.days * DAY_MS);
        if (leafEnd <= ca.notAfter) continue;
        const daysLeft = Math.floor((ca.notAfter.getTime() - now.getTime()) / DAY_MS);
        const key = cluster.validity.leafDaysOverrides[leaf.leaf] !== undefined
            ? `kube-pki:validity.leafDaysOverrides.${leaf.leaf}` : "kube-pki:validity.leafDays";
        problems.push(
            `CA "${ca.id}" (${ca.path} on ${ca.node}) ends on ${ca.notAfter.toISOString()}, in ${daysLeft} days; ` +
            `"${leaf.leaf}" issued now for ${leaf.days} days would end on ${leafEnd.toISOString()}, after its CA. ` +
            `A leaf never outlives its CA: lower ${key} to at most ${Math.max(daysLeft - 1, 0)}, ` +
            `or rotate the CA first (README: "Rotating a CA").`);
    }
    return problems;
}

/**
 * Warnings for CAs that end within a year or within two leaf lifetimes, whichever is longer:
 * the time an operator needs to plan a rotation. kube-pki never replaces a CA by itself.
 */
export function caEndingWarnings(cluster: ClusterSpec, cas: readonly KnownCa[], now: Date): string[] {
    const horizonDays = Math.max(365, 2 * cluster.validity.leafDays);
    return cas
        .filter((ca) => ca.notAfter.getTime() - now.getTime() < horizonDays * DAY_MS)
        .map((ca) => {
            const days = Math.floor((ca.notAfter.getTime() - now.getTime()) / DAY_MS);
            const when = days < 0 ? `ended ${-days} days ago` : `ends in ${days} days`;
            return `CA "${ca.id}" ${when} (${ca.notAfter.toISOString()}, ${ca.path} on ${ca.node}). kube-pki never ` +
                `replaces a CA implicitly: plan a rotation (README: "Rotating a CA") before leaves can no longer be issued.`;
        });
}
