/**
 * Where each file of the PKI lives on a node. kubeadm's paths are the default; a custom layout
 * (cfssl, RKE, hand-built trees) starts from them and overrides single files by key.
 * Pure: no Pulumi, no I/O.
 */
import * as path from "node:path";
import type { ComponentRestartSpec, LayoutSpec, NodeSpec } from "../spec";

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

/**
 * Variables a layout path may use, filled per node: hand-built and RKE trees name per-node files
 * after the node (`kube-etcd-10-0-0-109.pem`).
 */
export const PATH_TEMPLATE_VARIABLES = ["node", "address", "address-dashed"] as const;
const TEMPLATE = /\{([^{}]*)\}/g;

/** The `{…}` names in a text (valid or not), in order. */
export function templateNames(text: string): string[] {
    return [...text.matchAll(TEMPLATE)].map((m) => m[1]);
}

/** Does this layout path name a per-node file? */
export function isTemplated(text: string): boolean {
    return templateNames(text).length > 0;
}

/** A layout path for one node: {node} its name, {address} its address, {address-dashed} with "-" for "." and ":". */
export function fillTemplate(text: string, node: Pick<NodeSpec, "name" | "advertiseAddress">): string {
    return text.replace(TEMPLATE, (whole, name: string) => {
        switch (name) {
            case "node": return node.name;
            case "address": return node.advertiseAddress;
            case "address-dashed": return node.advertiseAddress.replace(/[.:]/g, "-");
            default: throw new Error(`unknown template variable {${name}} in ${text}`);
        }
    });
}

/**
 * Absolute path of a file on the node. A per-node path (a template) needs the node; callers
 * without one (cluster-wide views) get the template text itself.
 */
export function filePath(layout: LayoutSpec, key: FileKey, node?: Pick<NodeSpec, "name" | "advertiseAddress">): string {
    const override = layout.paths[key];
    if (override) return node ? fillTemplate(override, node) : override;
    if ((KUBELET_SERVING_FILE_KEYS as readonly string[]).includes(key)) return path.posix.join(KUBELET_PKI_DIR, key);
    const isKubeconfig = (KUBECONFIG_FILE_KEYS as readonly string[]).includes(key);
    return isKubeconfig
        ? path.posix.join(layout.kubernetesDir, key)
        : path.posix.join(layout.kubernetesDir, "pki", key);
}

/**
 * The one-certificate file kube-controller-manager signs with during a cluster CA rotation (beside
 * ca.crt, which then holds two CAs: the controller-manager refuses that as a signing file).
 */
export function signingCertPath(layout: LayoutSpec, node?: Pick<NodeSpec, "name" | "advertiseAddress">): string {
    return path.posix.join(path.posix.dirname(filePath(layout, "ca.crt", node)), "kube-pki-ca-signing.crt");
}

/** Directory holding static pod manifests (kube-pki:layout.manifestsDir; default <kubernetesDir>/manifests). */
export function manifestsDir(layout: LayoutSpec): string {
    return layout.manifestsDir ?? path.posix.join(layout.kubernetesDir, "manifests");
}

/** Where restart.sh and rotate.sh look for manifests when given no --manifests. */
export const SCRIPT_MANIFESTS_DIR = "/etc/kubernetes/manifests";

/**
 * How one component is restarted on this layout: its kube-pki:layout.components entry, else the
 * layout's `restart` (the kubelet: systemd, as it is never a static pod or a CRI container).
 */
export function componentRestart(layout: LayoutSpec, component: string): ComponentRestartSpec {
    const own = layout.components?.[component];
    if (own) return own;
    if (component === "kubelet") return { restart: "systemd" };
    return { restart: layout.restart };
}

/**
 * rotate.sh/restart.sh arguments after the component's name: the method and what it needs
 * (unit, container, manifests directory). Only what differs from the scripts' defaults is passed,
 * so a kubeadm stack's commands keep their text. `defaultMethod` is what the caller passed before
 * methods were per component (the layout's `restart`, for the kubelet too: the scripts restart a
 * kubelet given static-pod or crictl with systemctl).
 */
export function restartArgs(layout: LayoutSpec, component: string, defaultMethod: string = layout.restart): { method: string; options: string[] } {
    const own = layout.components?.[component];
    if (!own) {
        const dir = manifestsDir(layout);
        const needsDir = layout.restart === "static-pod" && component !== "kubelet" && dir !== SCRIPT_MANIFESTS_DIR;
        return { method: defaultMethod, options: needsDir ? ["--manifests", dir] : [] };
    }
    const options: string[] = [];
    if (own.restart === "systemd" && own.unit && own.unit !== component) options.push("--unit", own.unit);
    if ((own.restart === "docker" || own.restart === "crictl") && own.container && own.container !== component) options.push("--container", own.container);
    if (own.restart === "static-pod" && manifestsDir(layout) !== SCRIPT_MANIFESTS_DIR) options.push("--manifests", manifestsDir(layout));
    return { method: own.restart, options };
}

/** Directories the drift inventory scans for stray certificates (per-node paths filled for `node`). */
export function pkiDirs(layout: LayoutSpec, node?: Pick<NodeSpec, "name" | "advertiseAddress">): string[] {
    const dirs = new Set<string>([path.posix.join(layout.kubernetesDir, "pki")]);
    for (const key of PKI_FILE_KEYS) {
        const p = filePath(layout, key, node);
        if (!isTemplated(p)) dirs.add(path.posix.dirname(p));
    }
    return [...dirs].sort();
}

/** A local-transport node keeps its tree under `localRoot`; an SSH node at "/". */
export function onNode(localRoot: string | undefined, absolutePath: string): string {
    return localRoot ? path.join(localRoot, absolutePath) : absolutePath;
}
