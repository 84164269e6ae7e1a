/**
 * A ClusterSpec that points the program at a running SimCluster (the stack config an operator
 * would write for it), plus small probes used by the end-to-end tests.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { SimCluster, SimNode } from "../harness/sim";
import type { ClusterSpec } from "../../src/spec";

const run = promisify(execFile);

export function specFor(sim: SimCluster, overrides: Partial<ClusterSpec> = {}): ClusterSpec {
    const [host, port] = sim.controlPlaneEndpoint.split(":");
    return {
        name: sim.clusterName,
        kubernetesVersion: sim.kubernetesVersion,
        controlPlaneEndpoint: { host, port: Number(port) },
        serviceCidr: "10.96.0.0/12",
        dnsDomain: "cluster.local",
        apiServerCertSans: [],
        etcd: { mode: "stacked", serverCertSans: [], peerCertSans: [] },
        nodes: sim.nodes.map((n) => ({
            name: n.name, role: n.role, advertiseAddress: n.ip, transport: "ssh" as const,
            ssh: { host: n.ip, port: 22, user: "root", privateKey: sim.clientPrivateKey, hostKey: n.hostPublicKey },
        })),
        keyAlgorithm: "ECDSA-P256",
        validity: { caYears: 10, leafDays: 365, renewBeforeDays: 30, leafDaysOverrides: {} },
        layout: { kind: "kubeadm", kubernetesDir: "/etc/kubernetes", paths: {}, restart: "static-pod", componentServingCerts: true },
        authorities: { ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: sim.masters[0].name, keyAlgorithm: "RSA-2048" },
        rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 60, clockSkewToleranceSeconds: 30, keepBackups: 3 },
        drift: { enabled: true, unreachable: "warn", checkServed: true, concurrency: 8 },
        // The sim's apiserver is a TLS stand-in, not an API: no cluster objects there.
        clusterObjects: { enabled: false },
        kubelet: { servingCertificate: "self-signed", clientCertificate: "embedded" },
        ...overrides,
    };
}

/** SHA-256 of every file under the node's /etc/kubernetes (manifests and backups excluded). */
export function treeDigest(node: SimNode): Record<string, string> {
    const root = node.hostPath("/etc/kubernetes");
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) { if (entry.name !== "manifests" && !entry.name.startsWith("kube-pki")) walk(full); continue; }
            if (entry.isFile()) out[path.relative(root, full)] = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
        }
    };
    walk(root);
    return out;
}

/** SHA-256 fingerprint (lowercase hex) of a PEM certificate file on the host. */
export function fileFingerprint(hostPath: string): string {
    return new (require("node:crypto").X509Certificate)(fs.readFileSync(hostPath)).fingerprint256.replace(/:/g, "").toLowerCase();
}

/** The fingerprint a component serves, read from inside the node (openssl s_client). */
export async function servedFingerprint(node: SimNode, endpoint: string, client?: { cert: string; key: string }): Promise<string> {
    const auth = client ? `-cert ${client.cert} -key ${client.key}` : "";
    const r = await node.exec(
        `/usr/bin/openssl s_client -connect ${endpoint} ${auth} </dev/null 2>/dev/null | /usr/bin/openssl x509 -noout -fingerprint -sha256`,
        { timeoutMs: 15_000 });
    return r.stdout.trim().split("=")[1]?.replace(/:/g, "").toLowerCase() ?? "";
}

/** etcdctl from the host against every member with the given client cert (host paths). */
export async function etcdctl(sim: SimCluster, certs: { ca: string; cert: string; key: string }, args: string[]) {
    const endpoints = sim.masters.map((m) => `https://${m.ip}:2379`).join(",");
    return run("/usr/bin/etcdctl", ["--endpoints", endpoints, "--cacert", certs.ca, "--cert", certs.cert, "--key", certs.key,
        "--dial-timeout", "2s", "--command-timeout", "3s", ...args], { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 10_000 });
}

/**
 * One quorum probe: a write offered to every member at once. etcd accepts a write only with a
 * quorum, so any member accepting it proves the cluster had one (a member that is restarting
 * just refuses its copy).
 */
export async function quorumWrite(sim: SimCluster, certs: { ca: string; cert: string; key: string }, value: string): Promise<string | undefined> {
    const attempts = sim.masters.map((m) => run("/usr/bin/etcdctl", ["--endpoints", `https://${m.ip}:2379`, "--cacert", certs.ca,
        "--cert", certs.cert, "--key", certs.key, "--dial-timeout", "2s", "--command-timeout", "4s", "put", "kube-pki-probe", value],
    { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 10_000 }).then(() => undefined, (e) => `${m.name}: ${String(e.stderr ?? e).slice(0, 160)}`));
    const results = await Promise.all(attempts);
    return results.some((r) => r === undefined) ? undefined : results.join(" | ");
}
