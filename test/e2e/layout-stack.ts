/**
 * Stack configs for the hand-built and RKE sim clusters: a shipped example stack (or a config
 * written in the test) with its nodes, endpoint and SSH login swapped for the simulated ones,
 * parsed through the same path as `pulumi up`; plus `kube-pki check` against it as a stack file.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify, parse } from "yaml";
import { parseClusterSpec, type RawConfig } from "../../src/config";
import type { ClusterSpec } from "../../src/spec";
import type { SimCluster } from "../harness/sim";

const STACKS = path.join(__dirname, "..", "..", "stacks");
const BIN = path.join(__dirname, "..", "..", "bin", "kube-pki.js");

/** The kube-pki:* values of a shipped stack file, without the namespace; throws naming the file when it is missing. */
export function exampleStack(stack: string): RawConfig {
    const file = path.join(STACKS, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`${file} is not there yet (the issue 11 example stack this test runs)`);
    const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^kube-pki:/, ""), v]));
}

/** The example's node names, masters first, as many as the sim needs (1 master + 1 worker by default). */
export function exampleNodes(raw: RawConfig, masters = 1, workers = 1): Array<{ name: string; role: "master" | "worker" }> {
    const nodes = (raw.nodes as Array<{ name: string; role: "master" | "worker" }>) ?? [];
    const pick = (role: "master" | "worker", count: number) => nodes.filter((n) => n.role === role).slice(0, count).map((n) => ({ name: n.name, role }));
    return [...pick("master", masters), ...pick("worker", workers)];
}

/**
 * `raw` pointed at `sim`: its nodes (same names), endpoint, version, SSH login and host-key pins;
 * node lists in kube-pki:certificates keep only the sim's nodes; cluster objects off (the
 * apiserver is a stand-in) and a 60 s component timeout.
 */
export function onSim(sim: SimCluster, raw: RawConfig): RawConfig {
    const names = new Set(sim.nodes.map((n) => n.name));
    const cluster = { ...(raw.cluster as object), kubernetesVersion: sim.kubernetesVersion, controlPlaneEndpoint: sim.controlPlaneEndpoint };
    const certificates = (raw.certificates as Array<Record<string, unknown>> | undefined)?.map((c) =>
        (Array.isArray(c.nodes) ? { ...c, nodes: (c.nodes as string[]).filter((n) => names.has(n)) } : c));
    const authorities = raw.authorities ? { ...(raw.authorities as object), adoptFrom: sim.masters[0].name } : undefined;
    return {
        ...raw,
        cluster,
        ssh: { user: "root", privateKeyPath: sim.clientPrivateKeyPath },
        nodes: sim.nodes.map((n) => ({ name: n.name, role: n.role, address: n.ip, ssh: { hostKey: n.hostPublicKey } })),
        ...(authorities ? { authorities } : {}),
        ...(certificates ? { certificates } : {}),
        rollout: { ...(raw.rollout as object), componentTimeoutSeconds: 60, workerBatchSize: 2 },
        clusterObjects: { enabled: false },
    };
}

export function specOf(raw: RawConfig): ClusterSpec {
    return parseClusterSpec(raw);
}

/** `kube-pki check --stack <name>` over `raw` written as a stack file in `dir`: exit code and JSON. */
export function checkStack(sim: SimCluster, raw: RawConfig, name: string, dir: string): Promise<{ code: number; doc: any; stderr: string }> {
    fs.mkdirSync(dir, { recursive: true });
    const config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`kube-pki:${k}`, v]));
    fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), stringify({ config }));
    return new Promise((resolve) => {
        execFile(process.execPath, [BIN, "check", "--stack", name, "--stacks-dir", dir, "--ssh-key", sim.clientPrivateKeyPath, "-o", "json"],
            { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
                let doc: any;
                try { doc = JSON.parse(stdout); } catch { doc = { unparsed: stdout }; }
                resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, doc, stderr });
            });
    });
}

/** Rows of a check document that are not ok, as "node row: status (detail)". */
export function checkProblems(doc: any): string[] {
    const out: string[] = [];
    for (const [node, n] of Object.entries<any>(doc.nodes ?? {})) {
        if (n.reachable === false) out.push(`${node}: unreachable (${n.error})`);
        for (const [row, c] of [...Object.entries<any>(n.certificates ?? {}), ...Object.entries<any>(n.certificateAuthorities ?? {})]) {
            if (c.status !== "ok") out.push(`${node} ${row}: ${c.status}${c.detail ? ` (${c.detail})` : ""}`);
        }
    }
    return out;
}
