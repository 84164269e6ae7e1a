/**
 * The certificate catalogue: every CA, leaf, key pair and kubeconfig kubeadm creates, as
 * readonly data (after kubeadm's certlist.go / kubeconfig.go), plus pure resolvers that fill in
 * the parts that depend on the cluster and the node (SANs, node-named subjects).
 * No Pulumi and no I/O here: the components turn resolved entries into resources.
 */
import type { ClusterSpec, NodeRole, NodeSpec } from "../spec";
import type { FileKey, KubeconfigFileKey } from "./layout";
import { firstServiceIp, isIpAddress } from "./net";
import {
    apiserverReadsServiceAccountKey, clusterAdminsOrg, etcdClientOrg, hasSuperAdminKubeconfig, kubeletClientOrg,
} from "./versions";

import type { Component } from "./components";
// The component table lives in src/pki/components.ts; re-exported for existing importers.
export { COMPONENT_ORDER, type Component } from "./components";

/**
 * Values @pulumi/tls accepts in `allowedUses`. The provider wants snake_case, whatever its
 * .d.ts examples say; anything else is rejected at apply time.
 */
export const TLS_ALLOWED_USES = [
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "cert_signing", "crl_signing", "encipher_only", "decipher_only",
    "any_extended", "server_auth", "client_auth", "code_signing", "email_protection",
    "ipsec_end_system", "ipsec_tunnel", "ipsec_user", "timestamping", "ocsp_signing",
    "microsoft_server_gated_crypto", "netscape_server_gated_crypto",
] as const;
export type AllowedUse = (typeof TLS_ALLOWED_USES)[number];

/** kubeadm's CAs carry exactly these usages (certutil.NewSelfSignedCACert). */
export const CA_USAGES: readonly AllowedUse[] = ["cert_signing", "digital_signature", "key_encipherment"];
const SERVER_USAGES: readonly AllowedUse[] = ["digital_signature", "key_encipherment", "server_auth"];
const CLIENT_USAGES: readonly AllowedUse[] = ["digital_signature", "key_encipherment", "client_auth"];
const PEER_USAGES: readonly AllowedUse[] = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

export type CaId = "ca" | "front-proxy-ca" | "etcd-ca";

/** The `kube-pki:authorities` key that says whether each CA is adopted or generated. */
export const CA_CONFIG_KEY: Record<CaId, "ca" | "frontProxyCa" | "etcdCa"> = {
    "ca": "ca", "front-proxy-ca": "frontProxyCa", "etcd-ca": "etcdCa",
};
export type LeafId =
    | "apiserver" | "apiserver-kubelet-client" | "front-proxy-client" | "etcd-server"
    | "etcd-peer" | "etcd-healthcheck-client" | "apiserver-etcd-client"
    | "controller-manager-server" | "scheduler-server" | "kubelet-server";

/** The SAN recipe of a serving certificate. */
export type SanRecipe = "none" | "apiserver" | "etcd-server" | "etcd-peer" | "local-serving" | "kubelet";

export interface CaEntry {
    readonly kind: "ca";
    readonly id: CaId;
    readonly longName: string;
    readonly commonName: string;
    readonly certFile: FileKey;
    readonly keyFile: FileKey;
}

export interface LeafEntry {
    readonly kind: "leaf";
    readonly id: LeafId;
    readonly longName: string;
    readonly signer: CaId;
    /** A fixed CN, or `undefined` for certificates named after the node (etcd server/peer). */
    readonly commonName?: string;
    /** With no fixed CN: put before the node name ("system:node:" for the kubelet). */
    readonly commonNamePrefix?: string;
    readonly organizations: readonly string[];
    readonly usages: readonly AllowedUse[];
    readonly sans: SanRecipe;
    readonly certFile: FileKey;
    readonly keyFile: FileKey;
    /** Which nodes get this leaf (default: masters only). */
    readonly roles?: readonly NodeRole[];
}

export interface KubeconfigEntry {
    readonly kind: "kubeconfig";
    readonly id: KubeconfigFileKey;
    readonly longName: string;
    readonly signer: "ca";
    /** A fixed CN, or `undefined` for `system:node:<node name>` (kubelet.conf). */
    readonly commonName?: string;
    readonly organizations: readonly string[];
    /** Kubeconfig user name (kubeadm's naming). */
    readonly user: string;
    /** "endpoint": the control-plane endpoint (load balancer); "local": this master's own apiserver. */
    readonly server: "endpoint" | "local";
    /** Which nodes get this file. */
    readonly roles: readonly NodeRole[];
    readonly file: KubeconfigFileKey;
}

export interface KeyPairEntry {
    readonly kind: "keypair";
    readonly id: "sa";
    readonly longName: string;
    readonly privateKeyFile: FileKey;
    readonly publicKeyFile: FileKey;
}

export type CatalogEntry = CaEntry | LeafEntry | KubeconfigEntry | KeyPairEntry;

/** A version-dependent O (from src/pki/versions.ts, the one place these rules live) as a list. */
const orgs = (o: string | undefined): string[] => (o ? [o] : []);

const CAS: readonly CaEntry[] = [
    { kind: "ca", id: "ca", longName: "self-signed Kubernetes CA for all other Kubernetes-related certificates",
      commonName: "kubernetes", certFile: "ca.crt", keyFile: "ca.key" },
    { kind: "ca", id: "front-proxy-ca", longName: "self-signed CA for the front proxy",
      commonName: "front-proxy-ca", certFile: "front-proxy-ca.crt", keyFile: "front-proxy-ca.key" },
    { kind: "ca", id: "etcd-ca", longName: "self-signed CA for etcd",
      commonName: "etcd-ca", certFile: "etcd/ca.crt", keyFile: "etcd/ca.key" },
];

function leaves(version: string): LeafEntry[] {
    const etcdClientO = orgs(etcdClientOrg(version));
    return [
        { kind: "leaf", id: "apiserver", longName: "certificate for serving the Kubernetes API",
          signer: "ca", commonName: "kube-apiserver", organizations: [], usages: [...SERVER_USAGES],
          sans: "apiserver", certFile: "apiserver.crt", keyFile: "apiserver.key" },
        { kind: "leaf", id: "apiserver-kubelet-client", longName: "certificate for the API server to connect to kubelet",
          signer: "ca", commonName: "kube-apiserver-kubelet-client", organizations: orgs(kubeletClientOrg(version)),
          usages: [...CLIENT_USAGES], sans: "none",
          certFile: "apiserver-kubelet-client.crt", keyFile: "apiserver-kubelet-client.key" },
        { kind: "leaf", id: "front-proxy-client", longName: "certificate for the front proxy client",
          signer: "front-proxy-ca", commonName: "front-proxy-client", organizations: [], usages: [...CLIENT_USAGES],
          sans: "none", certFile: "front-proxy-client.crt", keyFile: "front-proxy-client.key" },
        { kind: "leaf", id: "etcd-server", longName: "certificate for serving etcd",
          signer: "etcd-ca", organizations: [], usages: [...PEER_USAGES], sans: "etcd-server",
          certFile: "etcd/server.crt", keyFile: "etcd/server.key" },
        { kind: "leaf", id: "etcd-peer", longName: "certificate for etcd nodes to communicate with each other",
          signer: "etcd-ca", organizations: [], usages: [...PEER_USAGES], sans: "etcd-peer",
          certFile: "etcd/peer.crt", keyFile: "etcd/peer.key" },
        { kind: "leaf", id: "etcd-healthcheck-client", longName: "certificate for liveness probes to healthcheck etcd",
          signer: "etcd-ca", commonName: "kube-etcd-healthcheck-client", organizations: etcdClientO,
          usages: [...CLIENT_USAGES], sans: "none",
          certFile: "etcd/healthcheck-client.crt", keyFile: "etcd/healthcheck-client.key" },
        { kind: "leaf", id: "apiserver-etcd-client", longName: "certificate the apiserver uses to access etcd",
          signer: "etcd-ca", commonName: "kube-apiserver-etcd-client", organizations: etcdClientO,
          usages: [...CLIENT_USAGES], sans: "none",
          certFile: "apiserver-etcd-client.crt", keyFile: "apiserver-etcd-client.key" },
    ];
}

/**
 * Not kubeadm's: serving certificates for controller-manager and scheduler, for clusters whose
 * manifests name them (layout.componentServingCerts). kubeadm leaves both to self-sign.
 */
const COMPONENT_SERVING: readonly LeafEntry[] = [
    { kind: "leaf", id: "controller-manager-server", longName: "certificate for serving the controller manager (:10257)",
      signer: "ca", commonName: "kube-controller-manager", organizations: [], usages: [...SERVER_USAGES],
      sans: "local-serving", certFile: "controller-manager.crt", keyFile: "controller-manager.key" },
    { kind: "leaf", id: "scheduler-server", longName: "certificate for serving the scheduler (:10259)",
      signer: "ca", commonName: "kube-scheduler", organizations: [], usages: [...SERVER_USAGES],
      sans: "local-serving", certFile: "scheduler.crt", keyFile: "scheduler.key" },
];

/**
 * Not kubeadm's: the kubelet's serving certificate (:10250), for clusters whose apiserver checks
 * it (--kubelet-certificate-authority) or whose metrics-server runs without --kubelet-insecure-tls
 * (kube-pki:kubelet.servingCertificate: managed). Subject as the kubelet's own CSR asks for it
 * (k8s.io/kubernetes pkg/kubelet/certificate/kubelet.go: CN system:node:<name>, O system:nodes,
 * server auth), SANs the node's name and address; at the kubelet's default tlsCertFile path.
 */
const KUBELET_SERVING: LeafEntry = {
    kind: "leaf", id: "kubelet-server", longName: "certificate for serving the kubelet API (:10250)",
    signer: "ca", commonNamePrefix: "system:node:", organizations: ["system:nodes"], usages: [...SERVER_USAGES],
    sans: "kubelet", certFile: "kubelet.crt", keyFile: "kubelet.key", roles: ["master", "worker"],
};

const SERVICE_ACCOUNT: KeyPairEntry = {
    kind: "keypair", id: "sa", longName: "service account token signing key pair",
    privateKeyFile: "sa.key", publicKeyFile: "sa.pub",
};

function kubeconfigs(version: string): KubeconfigEntry[] {
    const entries: KubeconfigEntry[] = [
        { kind: "kubeconfig", id: "admin.conf", file: "admin.conf", longName: "kubeconfig for the admin to use",
          signer: "ca", commonName: "kubernetes-admin", organizations: [clusterAdminsOrg(version)],
          user: "kubernetes-admin", server: "endpoint", roles: ["master"] },
        { kind: "kubeconfig", id: "super-admin.conf", file: "super-admin.conf",
          longName: "kubeconfig for the super-admin (break-glass, bypasses RBAC)",
          signer: "ca", commonName: "kubernetes-super-admin", organizations: ["system:masters"],
          user: "kubernetes-super-admin", server: "endpoint", roles: ["master"] },
        { kind: "kubeconfig", id: "controller-manager.conf", file: "controller-manager.conf",
          longName: "kubeconfig for the controller manager to use", signer: "ca",
          commonName: "system:kube-controller-manager", organizations: [],
          user: "system:kube-controller-manager", server: "local", roles: ["master"] },
        { kind: "kubeconfig", id: "scheduler.conf", file: "scheduler.conf",
          longName: "kubeconfig for the scheduler manager to use", signer: "ca",
          commonName: "system:kube-scheduler", organizations: [],
          user: "system:kube-scheduler", server: "local", roles: ["master"] },
        { kind: "kubeconfig", id: "kubelet.conf", file: "kubelet.conf",
          longName: "kubeconfig for the kubelet to use", signer: "ca", organizations: ["system:nodes"],
          user: "kubelet", server: "endpoint", roles: ["master", "worker"] },
    ];
    // super-admin.conf exists from kubeadm 1.29 on, when admin.conf stopped being system:masters.
    return hasSuperAdminKubeconfig(version) ? entries : entries.filter((e) => e.id !== "super-admin.conf");
}

/**
 * The whole catalogue for a Kubernetes version, CAs first (a leaf's signer always precedes it).
 * With external etcd, the etcd CA and every certificate it signs are not ours to manage.
 */
export function catalog(
    version: string, etcdMode: "stacked" | "external", componentServingCerts = false, kubeletServing = false,
): CatalogEntry[] {
    const stacked = etcdMode === "stacked";
    const cas = CAS.filter((ca) => stacked || ca.id !== "etcd-ca");
    const leafs = leaves(version).filter((leaf) => stacked || leaf.signer !== "etcd-ca");
    const serving = [...(componentServingCerts ? COMPONENT_SERVING : []), ...(kubeletServing ? [KUBELET_SERVING] : [])];
    return [...cas, ...leafs, ...serving, SERVICE_ACCOUNT, ...kubeconfigs(version)];
}

/** The catalogue a cluster spec asks for (one place that reads the options that add and omit entries). */
export function catalogFor(cluster: ClusterSpec): CatalogEntry[] {
    const omitted = new Set(cluster.layout.omit ?? []);
    return catalog(cluster.kubernetesVersion, cluster.etcd.mode, cluster.layout.componentServingCerts,
        cluster.kubelet.servingCertificate === "managed").filter((e) => !omitted.has(e.id));
}

/** Every id of the full (stacked-etcd, newest) catalogue: valid keys of validity overrides. */
export const catalogIds: readonly string[] = catalog("1.30.0", "stacked", true, true)
    .filter((e) => e.kind === "leaf" || e.kind === "kubeconfig")
    .map((e) => e.id);

/** Every entry id of the full catalogue (CAs, leaves, sa, kubeconfigs): what kube-pki:layout.omit may name. */
export function catalogEntryIds(): string[] {
    return catalog("1.30.0", "stacked", true, true).map((e) => e.id);
}

/** Ids of the full catalogue's leaf certificates: what kube-pki:layout.sameCertificate may name. */
export function catalogLeafIds(): string[] {
    return catalog("1.30.0", "stacked", true, true).filter((e) => e.kind === "leaf").map((e) => e.id);
}

/**
 * Which components read each file (newest kubeadm): a changed file restarts exactly these.
 * apiserver also reads sa.key (--service-account-signing-key-file) from 1.20 only: consumersOf
 * takes the version (src/pki/versions.ts apiserverReadsServiceAccountKey).
 */
export const FILE_CONSUMERS: Readonly<Partial<Record<FileKey, readonly Component[]>>> = {
    "etcd/ca.crt": ["etcd", "kube-apiserver"],
    "etcd/server.crt": ["etcd"], "etcd/server.key": ["etcd"],
    "etcd/peer.crt": ["etcd"], "etcd/peer.key": ["etcd"],
    "ca.crt": ["kube-apiserver", "kube-controller-manager", "kubelet"],
    "ca.key": ["kube-controller-manager"],
    "apiserver.crt": ["kube-apiserver"], "apiserver.key": ["kube-apiserver"],
    "apiserver-kubelet-client.crt": ["kube-apiserver"], "apiserver-kubelet-client.key": ["kube-apiserver"],
    "apiserver-etcd-client.crt": ["kube-apiserver"], "apiserver-etcd-client.key": ["kube-apiserver"],
    "front-proxy-ca.crt": ["kube-apiserver", "kube-controller-manager"],
    "front-proxy-client.crt": ["kube-apiserver"], "front-proxy-client.key": ["kube-apiserver"],
    "sa.pub": ["kube-apiserver"],
    "sa.key": ["kube-apiserver", "kube-controller-manager"],
    "controller-manager.conf": ["kube-controller-manager"],
    "scheduler.conf": ["kube-scheduler"],
    "kubelet.conf": ["kubelet"],
    "controller-manager.crt": ["kube-controller-manager"], "controller-manager.key": ["kube-controller-manager"],
    "scheduler.crt": ["kube-scheduler"], "scheduler.key": ["kube-scheduler"],
    "kubelet.crt": ["kubelet"], "kubelet.key": ["kubelet"],
};

/** Who reads `file` on a cluster of `version` (without one: the newest kubeadm's readers). */
export function consumersOf(file: FileKey, version?: string): readonly Component[] {
    const readers = FILE_CONSUMERS[file] ?? [];
    if (file === "sa.key" && version !== undefined && !apiserverReadsServiceAccountKey(version)) {
        return readers.filter((c) => c !== "kube-apiserver");
    }
    return readers;
}

/** Subject and SANs of one certificate for one node. */
export interface ResolvedSubject {
    commonName: string;
    organizations: string[];
    dnsNames: string[];
    ipAddresses: string[];
}

/** Split extra SANs from config into DNS names and IPs, as kubeadm's certSANs handling does. */
function splitSans(sans: readonly string[]): { dns: string[]; ips: string[] } {
    return {
        dns: sans.filter((s) => !isIpAddress(s)),
        ips: sans.filter((s) => isIpAddress(s)),
    };
}

const unique = (values: string[]): string[] => [...new Set(values)];

/** kubeadm's GetAPIServerAltNames. */
export function apiServerSans(cluster: ClusterSpec, node: NodeSpec): { dnsNames: string[]; ipAddresses: string[] } {
    const endpointHost = cluster.controlPlaneEndpoint.host;
    const extra = splitSans([endpointHost, ...cluster.apiServerCertSans]);
    return {
        dnsNames: unique([
            node.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            `kubernetes.default.svc.${cluster.dnsDomain}`, ...extra.dns,
        ]),
        ipAddresses: unique([firstServiceIp(cluster.serviceCidr), node.advertiseAddress, ...extra.ips]),
    };
}

/** kubeadm's GetEtcdAltNames / GetEtcdPeerAltNames. */
export function etcdSans(node: NodeSpec, extraSans: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
    const extra = splitSans(extraSans);
    return {
        dnsNames: unique([node.name, "localhost", ...extra.dns]),
        ipAddresses: unique([node.advertiseAddress, "127.0.0.1", "::1", ...extra.ips]),
    };
}

/** CN, O and SANs of a leaf certificate issued for `node`. */
export function resolveLeaf(entry: LeafEntry, cluster: ClusterSpec, node: NodeSpec): ResolvedSubject {
    const names = (() => {
        switch (entry.sans) {
            case "apiserver": return apiServerSans(cluster, node);
            case "etcd-server": return etcdSans(node, cluster.etcd.serverCertSans);
            case "etcd-peer": return etcdSans(node, cluster.etcd.peerCertSans);
            case "local-serving": return etcdSans(node, []);
            // What the apiserver dials (the node's address) and the name it knows the node by.
            case "kubelet": return { dnsNames: [node.name], ipAddresses: [node.advertiseAddress] };
            case "none": return { dnsNames: [], ipAddresses: [] };
        }
    })();
    return {
        commonName: entry.commonName ?? `${entry.commonNamePrefix ?? ""}${node.name}`,
        organizations: [...entry.organizations],
        ...names,
    };
}

/** CN and O of a kubeconfig's client certificate for `node`. */
export function resolveKubeconfigSubject(entry: KubeconfigEntry, node: NodeSpec): ResolvedSubject {
    return {
        commonName: entry.commonName ?? `system:node:${node.name}`,
        organizations: [...entry.organizations],
        dnsNames: [],
        ipAddresses: [],
    };
}

/** The apiserver URL a kubeconfig points at. */
export function kubeconfigServer(entry: KubeconfigEntry, cluster: ClusterSpec, node: NodeSpec): string {
    const { host, port } = cluster.controlPlaneEndpoint;
    const target = entry.server === "local" ? `${bracketIpv6(node.advertiseAddress)}:6443` : `${bracketIpv6(host)}:${port}`;
    return `https://${target}`;
}

function bracketIpv6(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}

/** Does this node get this entry? Workers only get ca.crt, kubelet.conf and the kubelet's serving pair. */
export function entryAppliesTo(entry: CatalogEntry, role: NodeRole): boolean {
    if (entry.kind === "kubeconfig") return entry.roles.includes(role);
    if (entry.kind === "leaf" && entry.roles) return entry.roles.includes(role);
    return role === "master";
}
