/**
 * The per-node plan: for every node, every file it must hold (key, path, mode, owner, catalogue
 * id), the material each one carries (which certificate, key or kubeconfig, shared by the
 * cluster or issued for the node) and what each certificate must look like. One pure
 * derivation: ClusterPki turns it into resources, drift and `kube-pki check` read it.
 * No Pulumi and no I/O here.
 */
import type { ClusterSpec, NodeSpec } from "../spec";
import {
    CA_CONFIG_KEY, catalog, catalogFor, consumersOf, entryAppliesTo, kubeconfigServer, resolveKubeconfigSubject, resolveLeaf,
    type AllowedUse, type CaEntry, type CaId, type CatalogEntry, type KubeconfigEntry, type LeafEntry, type ResolvedSubject,
} from "./catalog";
import { COMPONENT_ORDER, type Component, type ExtraComponent } from "./components";
import { extraComponentsOf, stackFilesOf, stackOutputsOf, type StackFileKey, type StackKubeconfigOutput, type StackPlanContext } from "./stack-certificates";
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

/** A file's key in the plan: a layout key, or a kube-pki:certificates entry's. */
export type PlanFileKey = FileKey | StackFileKey;

/** What one file holds. */
export type Material =
    | { readonly kind: "ca-cert" | "ca-key"; readonly ca: CaId }
    | { readonly kind: "sa-private-key" | "sa-public-key" }
    | { readonly kind: "leaf-cert" | "leaf-key"; readonly certificate: string }
    /** A kubeconfig with an embedded client certificate (`certificate`) and the cluster CA. */
    | { readonly kind: "kubeconfig"; readonly certificate: string; readonly server: string; readonly user?: string }
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
    /**
     * The signing CA is adopted: its own subject is whatever the cluster gave it (`kube-ca`,
     * `O=k8s`), so it is judged by its signature, not by kubeadm's CN (for the CA's own file: not at all).
     */
    readonly adoptedIssuer?: true;
}

export interface PlannedFile {
    /** Layout key ("apiserver.crt", "admin.conf"), or a stack entry's id (src/pki/stack-certificates.ts). */
    readonly key: PlanFileKey;
    /** Other layout keys at the same path carrying the same material (one file, several roles). */
    readonly alsoKeys?: readonly PlanFileKey[];
    readonly path: string;
    /** 0600 for private keys and kubeconfigs (they hold one). */
    readonly mode: "0600" | "0644";
    /** user:group (kube-pki:layout.owners, kube-pki:certificates[].owner), or undefined: left as created (root:root). */
    readonly owner?: string;
    /** Catalogue id it comes from ("apiserver", "ca", "sa", "admin.conf"). */
    readonly source: string;
    /** kubeadm's name of the certificate it holds ("etcd-server", "ca", "admin.conf"); undefined for keys. */
    readonly name?: string;
    readonly material: Material;
    /** Components that read it: a change restarts exactly these (src/pki/components.ts). */
    readonly consumers: readonly Component[];
    /** Readers outside the component table (kube-pki:certificates consumers such as kube-proxy), restarted after them. */
    readonly extraConsumers?: readonly string[];
    /** Declared in kube-pki:certificates (not the catalogue). */
    readonly stack?: true;
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
    /** kube-pki:certificates kubeconfigs kept only as secret stack outputs. */
    readonly outputs: readonly StackKubeconfigOutput[];
    /** kube-pki:certificates consumers outside the component table, with their restart methods. */
    readonly extraComponents: readonly ExtraComponent[];
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

/** CAs that are the cluster CA itself (kube-pki:authorities.*: same-as-ca), by id. */
export function caAliases(cluster: Pick<ClusterSpec, "authorities">): Map<CaId, CaId> {
    const out = new Map<CaId, CaId>();
    if (cluster.authorities.etcdCa === "same-as-ca") out.set("etcd-ca", "ca");
    if (cluster.authorities.frontProxyCa === "same-as-ca") out.set("front-proxy-ca", "ca");
    return out;
}

/** Files at one path on one node that carry different materials: no file can hold both. */
export interface PathConflict {
    readonly node: string;
    readonly path: string;
    readonly keys: readonly PlanFileKey[];
}

interface Planned extends ClusterPlan {
    readonly conflicts: readonly PathConflict[];
}

/** The whole plan of a cluster. Throws when a path is claimed by two materials (the config check reports those first). */
export function planCluster(cluster: ClusterSpec): ClusterPlan {
    const planned = planWithConflicts(cluster);
    if (planned.conflicts.length > 0) {
        const c = planned.conflicts[0];
        throw new Error(`${c.path} on ${c.node} is claimed by ${c.keys.join(" and ")}, which hold different contents`);
    }
    const { conflicts: _, ...plan } = planned;
    return plan;
}

/** Paths claimed by two different materials, per node (empty for a sound layout). */
export function pathConflicts(cluster: ClusterSpec): readonly PathConflict[] {
    return planWithConflicts(cluster).conflicts;
}

function planWithConflicts(cluster: ClusterSpec): Planned {
    const entries = catalogFor(cluster);
    const aliases = caAliases(cluster);
    const signerOf = (id: CaId): CaId => aliases.get(id) ?? id;
    const cas = entries.filter((e): e is CaEntry => e.kind === "ca" && !aliases.has(e.id));
    const caOf = (id: CaId) => cas.find((c) => c.id === signerOf(id))!;
    // A rotation to an adopted CA counts too: the operator's new CA has whatever subject they gave
    // it, so its leaves are judged by signature, not by kubeadm's CN.
    const adopted = (id: CaId) => cluster.authorities[CA_CONFIG_KEY[signerOf(id)]] === "adopt"
        || cluster.authorities.rotate?.[CA_CONFIG_KEY[signerOf(id)]]?.source === "adopt";
    const sameCertificate = cluster.layout.sameCertificate ?? {};
    let node: NodeSpec = cluster.nodes[0];
    const path = (key: FileKey) => filePath(cluster.layout, key, node);
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
        // A role served by another entry's certificate (layout.sameCertificate): that one, with both roles' usages.
        const servedBy = entry.kind === "leaf" ? sameCertificate[entry.id] : undefined;
        const host = servedBy ? entries.find((e): e is LeafEntry => e.kind === "leaf" && e.id === servedBy) : undefined;
        if (host) return issue(host, node);
        const perNode = issuedPerNode(entry);
        const id = perNode ? `${node.name}/${entry.id}` : entry.id;
        const known = certificates.get(id);
        if (known) return known;
        const cert: PlannedCertificate = {
            id, source: entry.id, scope: perNode ? "node" : "shared", nameParts: perNode ? [node.name, entry.id] : [entry.id],
            subject: entry.kind === "leaf" ? resolveLeaf(entry, cluster, node) : resolveKubeconfigSubject(entry, node),
            issuer: signerOf(entry.signer), usages: entry.kind === "leaf" ? usagesWithRoles(entry) : CLIENT_USAGES, validityDays: leafDays(entry.id),
        };
        certificates.set(id, cert);
        return cert;
    };

    /** The usages of a certificate with those of the roles it also serves (layout.sameCertificate). */
    const usagesWithRoles = (entry: LeafEntry): AllowedUse[] => {
        const roles = entries.filter((e): e is LeafEntry => e.kind === "leaf" && sameCertificate[e.id] === entry.id);
        return [...new Set([...entry.usages, ...roles.flatMap((r) => r.usages)])];
    };

    const filesOf = (entry: CatalogEntry, node: NodeSpec): PlannedFile[] => {
        switch (entry.kind) {
            case "ca": {
                // same-as-ca: the cluster CA's certificate at this CA's path; its key stays the cluster CA's own file.
                const ca = caOf(entry.id);
                const expected: PlannedExpectation = {
                    subject: { commonName: ca.commonName, organizations: [], dnsNames: [], ipAddresses: [] },
                    issuer: ca.id, issuerCommonName: ca.commonName, usages: [], keyPath: path(ca.keyFile), caPath: path(ca.certFile),
                    ...(adopted(ca.id) ? { adoptedIssuer: true as const } : {}),
                };
                const cert = file(entry.certFile, entry.id, entry.id, { kind: "ca-cert", ca: ca.id },
                    { expected, validityDays: cluster.validity.caYears * 365 });
                // Workers trust the cluster CA only; they never hold a CA key.
                if (node.role === "worker") return entry.id === "ca" ? [cert] : [];
                if (aliases.has(entry.id)) return [cert];
                return [cert, file(entry.keyFile, entry.id, undefined, { kind: "ca-key", ca: entry.id })];
            }
            case "keypair":
                if (node.role === "worker") return [];
                return [file(entry.privateKeyFile, entry.id, undefined, { kind: "sa-private-key" }),
                    file(entry.publicKeyFile, entry.id, undefined, { kind: "sa-public-key" })];
            case "leaf": {
                if (!entryAppliesTo(entry, node.role)) return [];
                const cert = issue(entry, node);
                const signer = caOf(cert.issuer);
                const expected: PlannedExpectation = {
                    subject: cert.subject, issuer: signer.id, issuerCommonName: signer.commonName, usages: cert.usages,
                    keyPath: path(entry.keyFile), caPath: path(signer.certFile), ...(adopted(signer.id) ? { adoptedIssuer: true as const } : {}),
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
                    ...(adopted("ca") ? { adoptedIssuer: true as const } : {}),
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

    const stack: StackPlanContext = { cluster, caOf, caCertPath: (ca) => path(ca.certFile), adopted, certificates };
    const nodes: Record<string, NodePlan> = {};
    const conflicts: PathConflict[] = [];
    // kube-pki:layout.owners by file key, or by kube-pki:certificates id (the entry's own owner first).
    const owners = cluster.layout.owners ?? {};
    const stackOwners = new Map((cluster.certificates ?? []).map((e) => [e.id, e.owner ?? owners[e.id]]));
    const withOwner = (f: PlannedFile): PlannedFile => {
        const owner = f.stack ? stackOwners.get(f.source) : owners[f.key];
        return owner ? { ...f, owner } : f;
    };
    for (const n of cluster.nodes) {
        node = n;
        const kubeletClient = kubeletClientOf(n);
        const planned = [...entries.flatMap((e) => filesOf(e, n)), ...stackFilesOf(stack, n)].map(withOwner);
        const { files, conflicts: clashes } = onePerPath(planned, n.name);
        conflicts.push(...clashes);
        nodes[n.name] = { node: n, files, ...(kubeletClient ? { kubeletClient } : {}) };
    }
    return { entries, cas, certificates, nodes, outputs: stackOutputsOf(stack), extraComponents: extraComponentsOf(cluster), conflicts };
}

/**
 * One file per path: files at the same path that carry the same material are one file serving
 * several roles (its readers are all of theirs); different materials at one path are conflicts.
 */
function onePerPath(files: readonly PlannedFile[], node: string): { files: PlannedFile[]; conflicts: PathConflict[] } {
    const byPath = new Map<string, PlannedFile[]>();
    for (const f of files) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f]);
    const out: PlannedFile[] = [];
    const conflicts: PathConflict[] = [];
    for (const f of files) {
        const group = byPath.get(f.path)!;
        if (group[0] !== f) continue;
        if (group.length === 1) {
            out.push(f);
            continue;
        }
        const material = JSON.stringify(f.material);
        if (group.some((g) => JSON.stringify(g.material) !== material)) {
            conflicts.push({ node, path: f.path, keys: group.map((g) => g.key) });
            continue;
        }
        const consumers = [...new Set(group.flatMap((g) => g.consumers))];
        // An owner given for any of its roles is the file's (parse.ts refuses two different ones).
        const owner = group.find((g) => g.owner)?.owner;
        out.push({ ...f, alsoKeys: group.slice(1).map((g) => g.key), consumers: COMPONENT_ORDER.filter((c) => consumers.includes(c)), ...(owner ? { owner } : {}) });
    }
    return { files: out, conflicts };
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
export function knownFiles(layout: LayoutSpec, node?: Pick<NodeSpec, "name" | "advertiseAddress"> & { role?: NodeRole }): Map<string, KnownFile> {
    const out = new Map<string, KnownFile>();
    const path = (key: FileKey) => filePath(layout, key, node);
    // A path several roles share (cfssl's one ca.pem) is named by the first: the cluster CA before the others.
    const set = (p: string, known: KnownFile) => { if (!out.has(p)) out.set(p, known); };
    const omitted = new Set(layout.omit ?? []);
    const role = node?.role;
    for (const e of catalog("1.30.0", "stacked", true, true)) {
        if (omitted.has(e.id)) continue;
        // With a role: only what a node of that role holds (RKE's kube-node.pem on a worker is no etcd client); a worker trusts the cluster CA.
        if (role && !entryAppliesTo(e, role) && !(e.kind === "ca" && e.id === "ca")) continue;
        if (role === "worker" && e.kind === "ca") {
            set(path(e.certFile), { key: e.certFile, name: e.id, ca: e.id, caKeyPath: path(e.keyFile) });
            continue;
        }
        if (e.kind === "ca") {
            set(path(e.certFile), { key: e.certFile, name: e.id, ca: e.id, caKeyPath: path(e.keyFile) });
            set(path(e.keyFile), { key: e.keyFile });
        } else if (e.kind === "leaf") {
            set(path(e.certFile), { key: e.certFile, name: e.id });
            set(path(e.keyFile), { key: e.keyFile });
        } else if (e.kind === "kubeconfig") {
            set(path(e.file), { key: e.file, name: e.id });
        } else {
            set(path(e.privateKeyFile), { key: e.privateKeyFile });
            set(path(e.publicKeyFile), { key: e.publicKeyFile });
        }
    }
    // Required: what the oldest supported version holds with no optional entry, per role.
    for (const e of catalog(`1.${MIN_SUPPORTED_MINOR}.0`, "stacked").filter((x) => !omitted.has(x.id))) {
        const roles = (["master", "worker"] as const).filter((r) => entryAppliesTo(e, r));
        const etcd = (e.kind === "ca" && e.id === "etcd-ca") || (e.kind === "leaf" && e.signer === "etcd-ca");
        const held: [FileKey, readonly NodeRole[]][] = e.kind === "ca"
            // Workers trust the cluster CA only; they never hold a CA key.
            ? [[e.certFile, e.id === "ca" ? ["master", "worker"] : roles], [e.keyFile, roles]]
            : e.kind === "leaf" ? [[e.certFile, roles], [e.keyFile, roles]]
                : e.kind === "kubeconfig" ? [[e.file, roles]] : [[e.privateKeyFile, roles], [e.publicKeyFile, roles]];
        for (const [key, requiredOn] of held) {
            const known = out.get(path(key));
            // A shared path (cfssl's one ca.pem is also etcd/ca.crt) keeps the requirement of the entry that names it.
            if (known && known.key === key && requiredOn.length) out.set(path(key), { ...known, requiredOn, ...(etcd ? { etcd } : {}) });
        }
    }
    return out;
}
