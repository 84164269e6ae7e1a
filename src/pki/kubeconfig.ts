/**
 * kubeconfig rendering, with the `yaml` package, in kubeadm's shape (one cluster, one user,
 * one context, everything embedded as base64 data).
 */
import { stringify } from "yaml";

export interface KubeconfigParts {
    clusterName: string;
    server: string;
    caCertPem: string;
    user: string;
    clientCertPem: string;
    clientKeyPem: string;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

export function renderKubeconfig(parts: KubeconfigParts): string {
    const context = `${parts.user}@${parts.clusterName}`;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
            name: parts.clusterName,
            cluster: { "certificate-authority-data": b64(parts.caCertPem), server: parts.server },
        }],
        contexts: [{ name: context, context: { cluster: parts.clusterName, user: parts.user } }],
        "current-context": context,
        preferences: {},
        users: [{
            name: parts.user,
            user: { "client-certificate-data": b64(parts.clientCertPem), "client-key-data": b64(parts.clientKeyPem) },
        }],
    }, { lineWidth: 0 });
}

export interface RotatingKubeletParts {
    clusterName: string;
    server: string;
    caCertPem: string;
    nodeName: string;
    /** The kubelet's rotated certificate and key, one file (kubelet-client-current.pem). */
    clientPemPath: string;
}

/**
 * kubelet.conf as kubeadm leaves it after `kubelet-finalize` (cmd/kubeadm/app/cmd/phases/init/
 * kubeletfinalize.go): user system:node:<name> names the rotated PEM for both certificate and
 * key, so the file holds no key material and a rotating kubelet is never pointed away from it.
 */
export function renderRotatingKubeletConfig(parts: RotatingKubeletParts): string {
    const user = `system:node:${parts.nodeName}`;
    const context = `${user}@${parts.clusterName}`;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
            name: parts.clusterName,
            cluster: { "certificate-authority-data": b64(parts.caCertPem), server: parts.server },
        }],
        contexts: [{ name: context, context: { cluster: parts.clusterName, user } }],
        "current-context": context,
        preferences: {},
        users: [{ name: user, user: { "client-certificate": parts.clientPemPath, "client-key": parts.clientPemPath } }],
    }, { lineWidth: 0 });
}
