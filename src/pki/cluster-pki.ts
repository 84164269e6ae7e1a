/**
 * ClusterPki: every CA, key pair, leaf and kubeconfig of one cluster, and for each node the list
 * of files it must hold (path, mode, content, who reads it). Shared material (CAs, sa, admin
 * kubeconfigs) is issued once; per-node material (apiserver/etcd serving certs with that master's
 * SANs, controller-manager/scheduler/kubelet kubeconfigs) once per node.
 */
import * as pulumi from "@pulumi/pulumi";
import type { NodeKit } from "../node/kit-ship";
import type { ClusterSpec, NodeSpec } from "../spec";
import { CertificateAuthority } from "./authority";
import {
    CA_CONFIG_KEY, catalogFor, consumersOf, entryAppliesTo, kubeconfigServer, resolveKubeconfigSubject, resolveLeaf,
    type AllowedUse, type CaEntry, type CaId, type CatalogEntry, type Component, type KubeconfigEntry,
    type LeafEntry, type ResolvedSubject,
} from "./catalog";
import { daysToHours } from "./keys";
import { renderKubeconfig, renderRotatingKubeletConfig } from "./kubeconfig";
import type { KubeletClientDecision } from "./kubelet-client";
import { filePath, KUBELET_CLIENT_CURRENT, type FileKey } from "./layout";
import { LeafCertificate, type Signer } from "./leaf";
import { ServiceAccountKeys } from "./service-account";

/** What a certificate file is expected to look like, for verification on the node and drift. */
export interface ExpectedCert {
    readonly subject: ResolvedSubject;
    /** CN of the signing CA (the cert's issuer). */
    readonly issuerCommonName: string;
    readonly usages: readonly AllowedUse[];
    /** Path of the private key that must match, and of the CA that must verify it. */
    readonly keyPath?: string;
    readonly caPath: string;
}

/** One file a node must hold. */
export interface WantedFile {
    /** Layout key ("apiserver.crt", "admin.conf"). */
    readonly key: FileKey;
    /** Absolute path on the node. */
    readonly path: string;
    readonly mode: "0600" | "0644";
    /** File content; secret for keys and kubeconfigs. */
    readonly content: pulumi.Output<string>;
    /** Components that read it: a change restarts exactly these. */
    readonly consumers: readonly Component[];
    /** Catalogue id the file comes from ("apiserver", "ca", "sa", "admin.conf"). */
    readonly source: string;
    /** Set on certificate files and kubeconfigs (the embedded client cert). */
    readonly expected?: ExpectedCert;
    /** notAfter of the certificate in this file (certs and kubeconfigs). */
    readonly notAfter?: pulumi.Output<string>;
}

/** A kubelet client certificate kube-pki installs beside the kubelet's own (rotate mode). */
export interface KubeletClientPki {
    /** Certificate then key, as the kubelet keeps them in one .pem (secret). */
    readonly pem: pulumi.Output<string>;
    readonly certPem: pulumi.Output<string>;
    readonly notAfter: pulumi.Output<string>;
}

export interface NodePki {
    readonly node: NodeSpec;
    readonly files: readonly WantedFile[];
    /** Set while kube-pki declares this node's kubelet client certificate (rotate mode). */
    readonly kubeletClient?: KubeletClientPki;
}

export interface ClusterPkiArgs {
    /** The validated cluster description (see src/config.ts). */
    readonly cluster: ClusterSpec;
    /** Per node: the kit the adopt readings call (src/node/kit-ship.ts). */
    readonly kits?: Readonly<Record<string, NodeKit>>;
    /** rotate mode: per node, whether kube-pki declares its kubelet client certificate (src/pki/kubelet-client.ts). */
    readonly kubeletClients?: Readonly<Record<string, KubeletClientDecision>>;
}

export class ClusterPki extends pulumi.ComponentResource {
    /** Per node name: the files it must hold. */
    public readonly nodes: Record<string, NodePki>;
    /** admin.conf (secret). */
    public readonly adminKubeconfig: pulumi.Output<string>;
    /** Per CA id: the CA certificate. */
    public readonly caCertificates: Record<string, pulumi.Output<string>>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:ClusterPki", name, {}, opts);
        const built = createClusterPki(name, this, args.cluster, args.kits, args.kubeletClients);
        this.nodes = built.nodes;
        this.adminKubeconfig = built.adminKubeconfig;
        this.caCertificates = built.caCertificates;
        this.registerOutputs({ adminKubeconfig: this.adminKubeconfig, caCertificates: this.caCertificates });
    }
}

/** Names of child resources: one pure function so names stay stable (they are URNs). */
export function childName(component: string, ...parts: string[]): string {
    return [component, ...parts].join("-");
}

interface Built {
    nodes: Record<string, NodePki>;
    adminKubeconfig: pulumi.Output<string>;
    caCertificates: Record<string, pulumi.Output<string>>;
}

/** @internal */
export function createClusterPki(
    name: string, parent: pulumi.ComponentResource, cluster: ClusterSpec, kits?: Readonly<Record<string, NodeKit>>,
    kubeletClients?: Readonly<Record<string, KubeletClientDecision>>,
): Built {
    const entries = catalogFor(cluster);
    const masters = cluster.nodes.filter((n) => n.role === "master");
    const adoptFrom = masters.find((n) => n.name === cluster.authorities.adoptFrom);
    const adoptKit = adoptFrom && kits?.[adoptFrom.name];
    const path = (key: FileKey) => filePath(cluster.layout, key);
    const earlyRenewalHours = daysToHours(cluster.validity.renewBeforeDays);
    const leafHours = (id: string) => daysToHours(cluster.validity.leafDaysOverrides[id] ?? cluster.validity.leafDays);

    const cas = new Map<CaId, CertificateAuthority & { entry: CaEntry }>();
    for (const entry of entries.filter((e): e is CaEntry => e.kind === "ca")) {
        const ca = new CertificateAuthority(childName(name, entry.id), {
            id: entry.id,
            commonName: entry.commonName,
            source: cluster.authorities[CA_CONFIG_KEY[entry.id]],
            keyAlgorithm: cluster.authorities.keyAlgorithm,
            validityYears: cluster.validity.caYears,
            adoptFrom,
            adoptKit,
            certPath: path(entry.certFile),
            keyPath: path(entry.keyFile),
        }, { parent });
        cas.set(entry.id, Object.assign(ca, { entry }));
    }
    const signer = (id: CaId): Signer => {
        const ca = cas.get(id)!;
        return { certPem: ca.certPem, privateKeyPem: ca.privateKeyPem, validityEndTime: ca.validityEndTime, id };
    };

    const sa = new ServiceAccountKeys(childName(name, "sa"), {
        source: cluster.authorities.serviceAccount,
        keyAlgorithm: cluster.authorities.keyAlgorithm,
        adoptFrom,
        adoptKit,
        privateKeyPath: path("sa.key"),
        publicKeyPath: path("sa.pub"),
    }, { parent });

    const file = (key: FileKey, content: pulumi.Output<string>, source: string, extra: Partial<WantedFile> = {}): WantedFile => {
        const secret = key.endsWith(".key") || key.endsWith(".conf");
        return {
            key, path: path(key), mode: secret ? "0600" : "0644",
            content: secret ? pulumi.secret(content) : content,
            consumers: consumersOf(key, cluster.kubernetesVersion), source, ...extra,
        };
    };

    // Leaves and kubeconfigs that name no node are issued once and shared by every master.
    const shared = new Map<string, LeafCertificate>();
    const leafFor = (entry: LeafEntry | KubeconfigEntry, node: NodeSpec): LeafCertificate => {
        const subject = entry.kind === "leaf" ? resolveLeaf(entry, cluster, node) : resolveKubeconfigSubject(entry, node);
        const perNode = entry.kind === "leaf"
            ? entry.sans !== "none" || entry.commonName === undefined
            : entry.server === "local" || entry.commonName === undefined;
        const key = perNode ? `${node.name}/${entry.id}` : entry.id;
        const existing = shared.get(key);
        if (existing) return existing;
        const leaf = new LeafCertificate(perNode ? childName(name, node.name, entry.id) : childName(name, entry.id), {
            subject,
            usages: entry.kind === "leaf" ? entry.usages : ["digital_signature", "key_encipherment", "client_auth"],
            keyAlgorithm: cluster.keyAlgorithm,
            validityHours: leafHours(entry.id),
            earlyRenewalHours,
            signer: signer(entry.signer),
        }, { parent: cas.get(entry.signer)! });
        shared.set(key, leaf);
        return leaf;
    };

    const filesOf = (entry: CatalogEntry, node: NodeSpec): WantedFile[] => {
        switch (entry.kind) {
            case "ca": {
                const ca = cas.get(entry.id)!;
                const caFile = file(entry.certFile, ca.certPem, entry.id, {
                    notAfter: ca.validityEndTime,
                    expected: {
                        subject: { commonName: entry.commonName, organizations: [], dnsNames: [], ipAddresses: [] },
                        issuerCommonName: entry.commonName, usages: [], keyPath: path(entry.keyFile), caPath: path(entry.certFile),
                    },
                });
                if (node.role === "worker") return entry.id === "ca" ? [caFile] : [];
                return [caFile, file(entry.keyFile, ca.privateKeyPem, entry.id)];
            }
            case "keypair":
                if (node.role === "worker") return [];
                return [file(entry.privateKeyFile, sa.privateKeyPem, entry.id), file(entry.publicKeyFile, sa.publicKeyPem, entry.id)];
            case "leaf": {
                if (!entryAppliesTo(entry, node.role)) return [];
                const leaf = leafFor(entry, node);
                const expected: ExpectedCert = {
                    subject: resolveLeaf(entry, cluster, node),
                    issuerCommonName: cas.get(entry.signer)!.entry.commonName,
                    usages: entry.usages, keyPath: path(entry.keyFile), caPath: path(cas.get(entry.signer)!.entry.certFile),
                };
                return [
                    file(entry.certFile, leaf.certPem, entry.id, { expected, notAfter: leaf.validityEndTime }),
                    file(entry.keyFile, leaf.privateKeyPem, entry.id),
                ];
            }
            case "kubeconfig": {
                if (!entryAppliesTo(entry, node.role)) return [];
                const ca = cas.get("ca")!;
                if (entry.id === "kubelet.conf" && cluster.kubelet.clientCertificate === "rotate") {
                    // No client certificate of ours inside: the kubelet's rotated one is referenced.
                    const content = ca.certPem.apply((caPem) => renderRotatingKubeletConfig({
                        clusterName: cluster.name, server: kubeconfigServer(entry, cluster, node), caCertPem: caPem,
                        nodeName: node.name, clientPemPath: KUBELET_CLIENT_CURRENT,
                    }));
                    return [file(entry.file, content, entry.id)];
                }
                const leaf = leafFor(entry, node);
                const content = pulumi.all([ca.certPem, leaf.certPem, leaf.privateKeyPem]).apply(([caPem, certPem, keyPem]) =>
                    renderKubeconfig({
                        clusterName: cluster.name, server: kubeconfigServer(entry, cluster, node), caCertPem: caPem,
                        user: entry.user, clientCertPem: certPem, clientKeyPem: keyPem,
                    }));
                const expected: ExpectedCert = {
                    subject: resolveKubeconfigSubject(entry, node), issuerCommonName: ca.entry.commonName,
                    usages: ["digital_signature", "key_encipherment", "client_auth"], caPath: path("ca.crt"),
                };
                return [file(entry.file, content, entry.id, { expected, notAfter: leaf.validityEndTime })];
            }
        }
    };

    // rotate mode: a client certificate only for nodes whose own is unusable (or still ours).
    const kubeletClientOf = (node: NodeSpec): KubeletClientPki | undefined => {
        if (cluster.kubelet.clientCertificate !== "rotate" || !kubeletClients?.[node.name]?.declare) return undefined;
        const leaf = new LeafCertificate(childName(name, node.name, "kubelet-client"), {
            subject: { commonName: `system:node:${node.name}`, organizations: ["system:nodes"], dnsNames: [], ipAddresses: [] },
            usages: ["digital_signature", "key_encipherment", "client_auth"],
            keyAlgorithm: cluster.keyAlgorithm,
            validityHours: leafHours("kubelet.conf"),
            earlyRenewalHours,
            signer: signer("ca"),
        }, { parent: cas.get("ca")! });
        const pem = pulumi.secret(pulumi.all([leaf.certPem, leaf.privateKeyPem]).apply(([c, k]) => `${c.trimEnd()}\n${k.trimEnd()}\n`));
        return { pem, certPem: leaf.certPem, notAfter: leaf.validityEndTime };
    };

    const nodes: Record<string, NodePki> = {};
    for (const node of cluster.nodes) {
        const kubeletClient = kubeletClientOf(node);
        nodes[node.name] = { node, files: entries.flatMap((entry) => filesOf(entry, node)), ...(kubeletClient ? { kubeletClient } : {}) };
    }
    const adminOwner = masters[0];
    const admin = nodes[adminOwner.name].files.find((f) => f.key === "admin.conf")!;
    const caCertificates = Object.fromEntries([...cas].map(([id, ca]) => [id, ca.certPem]));
    return { nodes, adminKubeconfig: pulumi.secret(admin.content), caCertificates };
}
