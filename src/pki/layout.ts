/**
 * Where each file of the PKI lives on a node. kubeadm's paths are the default; a custom layout
 * (cfssl, RKE, hand-built trees) starts from them and overrides single files by key.
 * Pure: no Pulumi, no I/O.
 */
import * as path from "node:path";
import type { LayoutSpec } from "../spec";

/** Files under `<kubernetesDir>/pki`, by the key used everywhere (config, bundle, drift report). */
export const PKI_FILE_KEYS = [
    "ca.crt", "ca.key",
    "front-proxy-ca.crt", "front-proxy-ca.key",
    "etcd/ca.crt", "etcd/ca.key",
    "apiserver.crt", "apiserver.key",
    "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key",
    "front-proxy-client.crt", "front-proxy-client.key",
    "etcd/server.crt", "etcd/server.key",
    "etcd/peer.crt", "etcd/peer.key",
    "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key",
    "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
    "sa.key", "sa.pub",
    "controller-manager.crt", "controller-manager.key",
    "scheduler.crt", "scheduler.key",
] as const;

/** Kubeconfig files directly under `<kubernetesDir>`. */
export const KUBECONFIG_FILE_KEYS = [
    "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf",
] as const;

/**
 * The kubelet's serving pair under /var/lib/kubelet/pki (its default --cert-dir): the files it
 * self-signs at start when its config names no tlsCertFile; written by kube-pki only with
 * `kube-pki:kubelet.servingCertificate: managed`.
 */
export const KUBELET_SERVING_FILE_KEYS = ["kubelet.crt", "kubelet.key"] as const;
const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";

export type PkiFileKey = (typeof PKI_FILE_KEYS)[number];
export type KubeconfigFileKey = (typeof KUBECONFIG_FILE_KEYS)[number];
export type KubeletServingFileKey = (typeof KUBELET_SERVING_FILE_KEYS)[number];
export type FileKey = PkiFileKey | KubeconfigFileKey | KubeletServingFileKey;

/** Every key a custom layout may override. */
export const layoutFileKeys: readonly FileKey[] = [...PKI_FILE_KEYS, ...KUBECONFIG_FILE_KEYS, ...KUBELET_SERVING_FILE_KEYS];

/** The kubeadm layout with its defaults, for callers that have no spec yet. */
export const KUBEADM_LAYOUT: LayoutSpec = {
    kind: "kubeadm",
    kubernetesDir: "/etc/kubernetes",
    paths: {},
    restart: "static-pod",
    componentServingCerts: false,
};

/** Where install.sh keeps backups and its records (install.sh --backup-dir default). */
export const BACKUP_DIR = "/var/lib/kube-pki/backups";
/** install.sh's record of what it installed last: "sha256 path" per line. */
export const INSTALLED_RECORD = `${BACKUP_DIR}/installed`;
/** rotate.sh's count of rollbacks on this node (the program re-runs a node when it grows). */
export const ROLLBACK_COUNTER = `${BACKUP_DIR}/rollbacks`;
/** install.sh's note of its last backup ("none" when it changed nothing). */
export const LAST_INSTALL_NOTE = `${BACKUP_DIR}/last-install`;

/** The kubelet's own rotated client certificate (read by drift, never written by us). */
export const KUBELET_CLIENT_CURRENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";

/** Absolute path of a file on the node. */
export function filePath(layout: LayoutSpec, key: FileKey): string {
    const override = layout.paths[key];
    if (override) return override;
    if ((KUBELET_SERVING_FILE_KEYS as readonly string[]).includes(key)) return path.posix.join(KUBELET_PKI_DIR, key);
    const isKubeconfig = (KUBECONFIG_FILE_KEYS as readonly string[]).includes(key);
    return isKubeconfig
        ? path.posix.join(layout.kubernetesDir, key)
        : path.posix.join(layout.kubernetesDir, "pki", key);
}

/** Directory holding static pod manifests (kubeadm: /etc/kubernetes/manifests). */
export function manifestsDir(layout: LayoutSpec): string {
    return path.posix.join(layout.kubernetesDir, "manifests");
}

/** Directories the drift inventory scans for stray certificates. */
export function pkiDirs(layout: LayoutSpec): string[] {
    const dirs = new Set<string>([path.posix.join(layout.kubernetesDir, "pki")]);
    for (const key of PKI_FILE_KEYS) dirs.add(path.posix.dirname(filePath(layout, key)));
    return [...dirs].sort();
}

/** A local-transport node keeps its tree under `localRoot`; an SSH node at "/". */
export function onNode(localRoot: string | undefined, absolutePath: string): string {
    return localRoot ? path.join(localRoot, absolutePath) : absolutePath;
}
