/**
 * What the hand-built and RKE seeders share: kubeconfigs that name their files (or embed them),
 * unit / container descriptions the fake kubelet runs, the kubelet's self-signed serving pair,
 * and the result every layout seeder returns. Certificates come from openssl-issue.ts only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { SeedAuthorities } from "./kubeadm-seed";
import { CertPaths, issueCert, SeedKeyType } from "./openssl-issue";

export type SimLayout = "kubeadm" | "handbuilt" | "rke";

export interface LayoutSeedNode {
    name: string;
    role: "master" | "worker";
    ip: string;
    /** Host folder bind-mounted over the node's "/" paths. */
    hostRoot: string;
    /** <node dir>/sim: units/ and docker/ descriptions go here. */
    simDir: string;
}

export interface LayoutSeedOptions {
    dir: string;
    nodes: LayoutSeedNode[];
    kubernetesVersion: string;
    clusterName: string;
    controlPlaneEndpoint: string;
    keyType: SeedKeyType;
}

/** What a layout seeder hands back to SimCluster and the tests. */
export interface LayoutSeed {
    /** Host copies: ca (one CA for everything: etcdCa and frontProxyCa are the same files), sa key and public key. */
    authorities: SeedAuthorities;
    /** Node paths of an etcd client identity the layout has (for cluster.etcdctl). */
    etcdClient: { ca: string; cert: string; key: string };
    /** Host path of an admin kubeconfig (certificates embedded, server the first master) for kubectl. */
    adminKubeconfig: string;
}

/** Host path of node path `p` under a seed node's root. */
export function at(n: LayoutSeedNode, p: string): string {
    return path.join(n.hostRoot, p);
}

/** Copies a host file into the node tree with a mode. */
export function place(n: LayoutSeedNode, src: string, nodePath: string, mode: number): void {
    const dst = at(n, nodePath);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
    fs.chmodSync(dst, mode);
}

/** Issues into the node tree: cert 0644, key 0600 at the given node paths. */
export async function issueOnNode(n: LayoutSeedNode, certPath: string, keyPath: string, req: Omit<Parameters<typeof issueCert>[0], "out">): Promise<CertPaths> {
    const out = { cert: at(n, certPath), key: at(n, keyPath) };
    await issueCert({ ...req, out });
    fs.chmodSync(out.cert, 0o644);
    return out;
}

/** A kubeconfig whose CA and client pair are file paths on the node (or embedded PEM text). */
export function writeKubeconfigFile(file: string, o: { clusterName: string; server: string; user: string;
    ca: { file: string } | { pem: string }; client: { cert: string; key: string } | { certPem: string; keyPem: string } }): void {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const cluster = "file" in o.ca ? { "certificate-authority": o.ca.file, server: o.server } : { "certificate-authority-data": b64(o.ca.pem), server: o.server };
    const user = "cert" in o.client ? { "client-certificate": o.client.cert, "client-key": o.client.key }
        : { "client-certificate-data": b64(o.client.certPem), "client-key-data": b64(o.client.keyPem) };
    const doc = {
        apiVersion: "v1", kind: "Config",
        clusters: [{ cluster, name: o.clusterName }],
        contexts: [{ context: { cluster: o.clusterName, user: o.user }, name: "default" }],
        "current-context": "default", preferences: {},
        users: [{ name: o.user, user }],
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify(doc), { mode: 0o600 });
    fs.chmodSync(file, 0o600);
}

/** <simDir>/<units|docker>/<name>.json: the command the fake kubelet runs for a unit / container. */
export function writeDescription(n: LayoutSeedNode, kind: "units" | "docker", name: string, d: { command: string[]; image?: string; description?: string }): void {
    const dir = path.join(n.simDir, kind);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(d, null, 2) + "\n", { mode: 0o600 });
}

/** The kubelet's self-signed serving pair in its cert dir (what a kubelet without tlsCertFile writes). */
export function kubeletServingPair(n: LayoutSeedNode, keyType: SeedKeyType): Promise<CertPaths> {
    fs.mkdirSync(at(n, "var/lib/kubelet/pki"), { recursive: true, mode: 0o700 });
    return issueOnNode(n, "var/lib/kubelet/pki/kubelet.crt", "var/lib/kubelet/pki/kubelet.key", {
        cn: `${n.name}@${Math.floor(Date.now() / 1000)}`, eku: ["serverAuth"], dns: [n.name], ips: [n.ip],
        issuedDaysAgo: 30, validDays: 365, keyType,
    });
}

/** "10.213.0.2" -> "10-213-0-2" (RKE's per-node etcd file names). */
export function dashed(ip: string): string {
    return ip.replace(/[.:]/g, "-");
}

/** The apiserver's in-cluster DNS names. */
export const APISERVER_DNS = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];
