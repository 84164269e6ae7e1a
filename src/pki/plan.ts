/**
 * The per-node plan: for every node, every file it must hold (key, path, mode, owner, catalogue
 * id), the material each one carries (which certificate, key or kubeconfig, shared by the
 * cluster or issued for the node) and what each certificate must look like. One pure
 * derivation: ClusterPki turns it into resources, drift and `kube-pki check` read it.
 * No Pulumi and no I/O here.
 */
import type { ClusterSpec, NodeSpec } from "../spec";
import {
    catalog, catalogFor, consumersOf, entryAppliesTo, kubeconfigServer, resolveKubeconfigSubject, resolveLeaf,
    type AllowedUse, type CaEntry, type CaId, type CatalogEntry, type KubeconfigEntry, type LeafEntry, type ResolvedSubject,
} from "./catalog";
import type { Component } from "./components";
import { filePath, type FileKey } from "./layout";
import type { LayoutSpec } from "../spec";
import type { NodeRole } from "../spec";
import { MIN_SUPPORTED_MINOR } from "./versions";

const CLIENT_USAGES: readonly AllowedUse[] = ["digital_signature", "key_encipherment", "client_auth"];

/** A certificate kube-pki issues: one per cluster (shared) or one per node. */
export interface PlannedCertificate {
    /** Unique in the cluster: the catalogue id, prefixed "<node>/" when issued per node. */
    readonly id: string;
    /** Catalogue id ("apiserver", "admin.conf", "ca"); "kubelet-client" for the kubelet's rotated client certificate. */
    readonly source: string;
    readonly scope: "shared" | "node";
    /** Parts of its resource name after the component's (stable: they are URNs). */
    readonly nameParts: readonly string[];
    readonly subject: ResolvedSubject;
    /** The CA that signs it (a CA signs itself). */
    readonly issuer: CaId;
    readonly usages: readonly AllowedUse[];
    /** Validity the spec gives it, in days. */
    readonly validityDays: number;
}

/** What one file holds. */
export type Material =
    | { readonly kind: "ca-cert" | "ca-key"; readonly ca: CaId }
    | { readonly kind: "sa-private-key" | "sa-public-key" }
    | { readonly kind: "leaf-cert" | "leaf-key"; readonly certificate: string }
    /** A kubeconfig with an embedded client certificate (`certificate`) and the cluster CA. */
    | { readonly kind: "kubeconfig"; readonly certificate: string; readonly server: string }
    /** kubelet.conf in kubeadm's post-finalize form: the CA and kubelet-client-current.pem by path. */
    | { readonly kind: "rotating-kubeconfig"; readonly server: string };

/** What the certificate in a file must look like (for install checks and drift). */
export interface PlannedExpectation {
    readonly subject: ResolvedSubject;
    readonly issuer: CaId;
    /** CN of the signing CA (the cert's issuer). */
    readonly issuerCommonName: string;
    readonly usages: readonly AllowedUse[];
    /** The private key that must match (absent for kubeconfigs: it is inside). */
    readonly keyPath?: string;
    /** The CA certificate on the node that must verify it. */
    readonly caPath: string;
}

export interface PlannedFile {
    /** Layout key ("apiserver.crt", "admin.conf"). */
    readonly key: FileKey;
    readonly path: string;
    /** 0600 for private keys and kubeconfigs (they hold one). */
    readonly mode: "0600" | "0644";
    /** user:group, or undefined: left as created (root:root). */
    readonly owner?: string;
    /** Catalogue id it comes from ("apiserver", "ca", "sa", "admin.conf"). */
    readonly source: string;
    /** kubeadm's name of the certificate it holds ("etcd-server", "ca", "admin.conf"); undefined for keys. */
    readonly name?: string;
    readonly material: Material;
    /** Components that read it: a change restarts exactly these (src/pki/components.ts). */
    readonly consumers: readonly Component[];
    /** Set on certificate files and kubeconfigs with an embedded client certificate. */
    readonly expected?: PlannedExpectation;
    /** Validity in days of the certificate it holds (certificates and kubeconfigs). */
    readonly validityDays?: number;
}

export interface NodePlan {
    readonly node: NodeSpec;
    readonly files: readonly PlannedFile[];
    /** rotate mode: the client certificate kube-pki issues when the kubelet's own is unusable. */
    readonly kubeletClient?: PlannedCertificate;
}

export interface ClusterPlan {
    /** In catalogue order, CAs first. */
    readonly entries: readonly CatalogEntry[];
    readonly cas: readonly CaEntry[];
    /** Every certificate issued from a CA (leaves and kubeconfig clients), by id. */
    readonly certificates: ReadonlyMap<string, PlannedCertificate>;
    /** By node name, in the spec's node order. */
    readonly nodes: Readonly<Record<string, NodePlan>>;
}

/** kubeadm's name of a file's certificate, from its catalogue entry. */
function certificateName(entry: CatalogEntry, part: "cert" | "key"): string | undefined {
    if (part === "key") return undefined;
    return entry.kind === "keypair" ? undefined : entry.id;
}

/** Leaves and kubeconfigs that name no node and serve no node address are shared by every node. */
function issuedPerNode(entry: LeafEntry | KubeconfigEntry): boolean {
    return entry.kind === "leaf"
        ? entry.sans !== "none" || entry.commonName === undefined
        : entry.server === "local" || entry.commonName === undefined;
}

/** The whole plan of a cluster. */
export function planCluster(cluster: ClusterSpec): ClusterPlan {
    const entries = catalogFor(cluster);
    const cas = entries.filter((e): e is CaEntry => e.kind === "ca");
    const caOf = (id: CaId) => cas.find((c) => c.id === id)!;
    const path = (key: FileKey) => filePath(cluster.layout, key);
    const leafDays = (id: string) => cluster.validity.leafDaysOverrides[id] ?? cluster.validity.leafDays;
    const certificates = new Map<string, PlannedCertificate>();

    const file = (key: FileKey, source: string, name: string | undefined, material: Material, extra: Partial<PlannedFile> = {}): PlannedFile => {
        const secret = material.kind === "ca-key" || material.kind === "leaf-key" || material.kind === "sa-private-key"
            || material.kind === "kubeconfig" || material.kind === "rotating-kubeconfig";
        return {
            key, path: path(key), mode: secret ? "0600" : "0644", source, ...(name ? { name } : {}), material,
            consumers: consumersOf(key, cluster.kubernetesVersion), ...extra,
        };
    };
    const issue = (entry: LeafEntry | KubeconfigEntry, node: NodeSpec): PlannedCertificate => {
        const perNode = issuedPerNode(entry);
        const id = perNode ? `${node.name}/${entry.id}` : entry.id;
        const known = certificates.get(id);
        if (known) return known;
        const cert: PlannedCertificate = {
            id, source: entry.id, scope: perNode ? "node" : "shared", nameParts: perNode ? [node.name, entry.id] : [entry.id],
            subject: entry.kind === "leaf" ? resolveLeaf(entry, cluster, node) : resolveKubeconfigSubject(entry, node),
            issuer: entry.signer, usages: entry.kind === "leaf" ? entry.usages : CLIENT_USAGES, validityDays: leafDays(entry.id),
        };
        certificates.set(id, cert);
        return cert;
    };

    const filesOf = (entry: CatalogEntry, node: NodeSpec): PlannedFile[] => {
        switch (entry.kind) {
            case "ca": {
                const expected: PlannedExpectation = {
                    subject: { commonName: entry.commonName, organizations: [], dnsNames: [], ipAddresses: [] },
                    issuer: entry.id, issuerCommonName: entry.commonName, usages: [], keyPath: path(entry.keyFile), caPath: path(entry.certFile),
                };
                const cert = file(entry.certFile, entry.id, entry.id, { kind: "ca-cert", ca: entry.id },
                    { expected, validityDays: cluster.validity.caYears * 365 });
                // Workers trust the cluster CA only; they never hold a CA key.
                if (node.role === "worker") return entry.id === "ca" ? [cert] : [];
                return [cert, file(entry.keyFile, entry.id, undefined, { kind: "ca-key", ca: entry.id })];
            }
            case "keypair":
                if (node.role === "worker") return [];
                return [file(entry.privateKeyFile, entry.id, undefined, { kind: "sa-private-key" }),
                    file(entry.publicKeyFile, entry.id, undefined, { kind: "sa-public-key" })];
            case "leaf": {
                if (!entryAppliesTo(entry, node.role)) return [];
                const cert = issue(entry, node);
                const signer = caOf(entry.signer);
                const expected: PlannedExpectation = {
                    subject: cert.subject, issuer: signer.id, issuerCommonName: signer.commonName, usages: entry.usages,
                    keyPath: path(entry.keyFile), caPath: path(signer.certFile),
                };
                return [
                    file(entry.certFile, entry.id, certificateName(entry, "cert"), { kind: "leaf-cert", certificate: cert.id },
                        { expected, validityDays: cert.validityDays }),
                    file(entry.keyFile, entry.id, undefined, { kind: "leaf-key", certificate: cert.id }),
                ];
            }
            case "kubeconfig": {
                if (!entryAppliesTo(entry, node.role)) return [];
                const server = kubeconfigServer(entry, cluster, node);
                // rotate mode: no client certificate of ours inside (src/pki/kubelet-client.ts judges the kubelet's own).
                if (entry.id === "kubelet.conf" && cluster.kubelet.clientCertificate === "rotate") {
                    return [file(entry.file, entry.id, entry.id, { kind: "rotating-kubeconfig", server })];
                }
                const cert = issue(entry, node);
                const ca = caOf("ca");
                const expected: PlannedExpectation = {
                    subject: cert.subject, issuer: "ca", issuerCommonName: ca.commonName, usages: CLIENT_USAGES, caPath: path(ca.certFile),
                };
                return [file(entry.file, entry.id, entry.id, { kind: "kubeconfig", certificate: cert.id, server },
                    { expected, validityDays: cert.validityDays })];
            }
        }
    };

    const kubeletClientOf = (node: NodeSpec): PlannedCertificate | undefined => {
        if (cluster.kubelet.clientCertificate !== "rotate") return undefined;
        return {
            id: `${node.name}/kubelet-client`, source: "kubelet-client", scope: "node", nameParts: [node.name, "kubelet-client"],
            subject: { commonName: `system:node:${node.name}`, organizations: ["system:nodes"], dnsNames: [], ipAddresses: [] },
            issuer: "ca", usages: CLIENT_USAGES, validityDays: leafDays("kubelet.conf"),
        };
    };

    const nodes: Record<string, NodePlan> = {};
    for (const node of cluster.nodes) {
        const kubeletClient = kubeletClientOf(node);
        nodes[node.name] = { node, files: entries.flatMap((e) => filesOf(e, node)), ...(kubeletClient ? { kubeletClient } : {}) };
    }
    return { entries, cas, certificates, nodes };
}

/** Every file of every node, by node name (the plan's per-node view). */
export function planNodeFiles(cluster: ClusterSpec): Record<string, readonly PlannedFile[]> {
    return Object.fromEntries(Object.entries(planCluster(cluster).nodes).map(([name, n]) => [name, n.files]));
}

/** What `check` knows about a path without a stack: the certificate's name and, for a CA, its id. */
export interface KnownFile {
    readonly key: FileKey;
    readonly name?: string;
    readonly ca?: CaId;
    /** For a CA: the path of its private key. */
    readonly caKeyPath?: string;
    /** Roles whose nodes hold it on every cluster the catalogue covers: `check --host` calls it missing there. */
    readonly requiredOn?: readonly NodeRole[];
    /** The etcd CA's or signed by it: held only where etcd is stacked (a node with no etcd file runs external etcd). */
    readonly etcd?: boolean;
}

/**
 * Names of every file the full catalogue (newest version, stacked etcd, every optional entry)
 * puts at a layout's paths, by path: what `check --host` reads without a stack.
 */
export function knownFiles(layout: LayoutSpec): Map<string, KnownFile> {
    const out = new Map<string, KnownFile>();
    const path = (key: FileKey) => filePath(layout, key);
    for (const e of catalog("1.30.0", "stacked", true, true)) {
        if (e.kind === "ca") {
            out.set(path(e.certFile), { key: e.certFile, name: e.id, ca: e.id, caKeyPath: path(e.keyFile) });
            out.set(path(e.keyFile), { key: e.keyFile });
        } else if (e.kind === "leaf") {
            out.set(path(e.certFile), { key: e.certFile, name: e.id });
            out.set(path(e.keyFile), { key: e.keyFile });
        } else if (e.kind === "kubeconfig") {
            out.set(path(e.file), { key: e.file, name: e.id });
        } else {
            out.set(path(e.privateKeyFile), { key: e.privateKeyFile });
            out.set(path(e.publicKeyFile), { key: e.publicKeyFile });
        }
    }
    // Required: what the oldest supported version holds with no optional entry, per role.
    for (const e of catalog(`1.${MIN_SUPPORTED_MINOR}.0`, "stacked")) {
        const roles = (["master", "worker"] as const).filter((r) => entryAppliesTo(e, r));
        const etcd = (e.kind === "ca" && e.id === "etcd-ca") || (e.kind === "leaf" && e.signer === "etcd-ca");
        const held: [FileKey, readonly NodeRole[]][] = e.kind === "ca"
            // Workers trust the cluster CA only; they never hold a CA key.
            ? [[e.certFile, e.id === "ca" ? ["master", "worker"] : roles], [e.keyFile, roles]]
            : e.kind === "leaf" ? [[e.certFile, roles], [e.keyFile, roles]]
                : e.kind === "kubeconfig" ? [[e.file, roles]] : [[e.privateKeyFile, roles], [e.publicKeyFile, roles]];
        for (const [key, requiredOn] of held) {
            const known = out.get(path(key));
            if (known && requiredOn.length) out.set(path(key), { ...known, requiredOn, ...(etcd ? { etcd } : {}) });
        }
    }
    return out;
}
