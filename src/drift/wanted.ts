/**
 * What the stack wants on each node, for `kube-pki check --stack` (no Pulumi, no secrets): every
 * file of the catalogue that applies to the node's role, with the subject, SANs and signing CA a
 * certificate must have. The program builds the same list from its Output-based WantedFile
 * (src/pki/cluster-pki.ts); this one stops where content would need the issued PEMs, so it
 * carries no content hashes: the report judges missing files, subjects and issuers from it.
 */
import { catalogFor, entryAppliesTo, resolveKubeconfigSubject, resolveLeaf, type CaId, type CatalogEntry } from "../pki/catalog";
import { filePath, type FileKey } from "../pki/layout";
import type { ClusterSpec, NodeSpec } from "../spec";
import type { ExpectedCertSummary, WantedFileSummary } from "./report";

/** Wanted files per node name, in catalogue order. */
export function wantedFromSpec(cluster: ClusterSpec): Record<string, WantedFileSummary[]> {
    const entries = catalogFor(cluster);
    const cas = new Map(entries.flatMap((e) => (e.kind === "ca" ? [[e.id, e] as const] : [])));
    const path = (key: FileKey) => filePath(cluster.layout, key);
    const signedBy = (id: CaId) => ({ issuerCommonName: cas.get(id)!.commonName, caPath: path(cas.get(id)!.certFile) });

    const filesOf = (entry: CatalogEntry, node: NodeSpec): WantedFileSummary[] => {
        switch (entry.kind) {
            case "ca": {
                const expected: ExpectedCertSummary = {
                    subject: { commonName: entry.commonName, organizations: [], dnsNames: [], ipAddresses: [] },
                    issuerCommonName: entry.commonName, caPath: path(entry.certFile),
                };
                const cert = { key: entry.certFile, path: path(entry.certFile), expected };
                // Workers trust the cluster CA only; they never hold a CA key.
                if (node.role === "worker") return entry.id === "ca" ? [cert] : [];
                return [cert, { key: entry.keyFile, path: path(entry.keyFile) }];
            }
            case "keypair":
                if (node.role === "worker") return [];
                return [{ key: entry.privateKeyFile, path: path(entry.privateKeyFile) }, { key: entry.publicKeyFile, path: path(entry.publicKeyFile) }];
            case "leaf":
                if (!entryAppliesTo(entry, node.role)) return [];
                return [
                    { key: entry.certFile, path: path(entry.certFile), expected: { subject: resolveLeaf(entry, cluster, node), ...signedBy(entry.signer) } },
                    { key: entry.keyFile, path: path(entry.keyFile) },
                ];
            case "kubeconfig":
                if (!entryAppliesTo(entry, node.role)) return [];
                // rotate mode: kubelet.conf names the kubelet's own certificate (judged by src/pki/kubelet-client.ts).
                if (entry.id === "kubelet.conf" && cluster.kubelet.clientCertificate === "rotate") return [{ key: entry.file, path: path(entry.file) }];
                return [{ key: entry.file, path: path(entry.file), expected: { subject: resolveKubeconfigSubject(entry, node), ...signedBy("ca") } }];
        }
    };

    return Object.fromEntries(cluster.nodes.map((node) => [node.name, entries.flatMap((entry) => filesOf(entry, node))]));
}
