/**
 * Judges shared by the hand-built and RKE end-to-end tests: the apiserver stand-in's record of
 * client certificates, component (re)starts from the nodes' event logs, and openssl on files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SimCluster, SimNode } from "../harness/sim";
import { waitFor } from "../harness/sim";
import { SIM_BINARIES } from "../harness/sim/prereq";
import { run } from "../harness/sim/proc";

export interface ClientRecord { ts: string; node: string; certSha256: string; accepted: boolean; reason: string; code: number; userAgent: string; subject: string }

/** Every client certificate the apiserver stand-in of the first master judged since `since`. */
export function clientRecords(sim: SimCluster, since: number): ClientRecord[] {
    const file = path.join(sim.masters[0].dir, "apiserver-clients.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ClientRecord).filter((r) => Date.parse(r.ts) >= since);
}

/**
 * Waits until the apiserver judged each "<node> <agent>" in `want` since `since` (agent: the user
 * agent's product, e.g. kubelet, kube-proxy) and returns the last verdict of each.
 */
export async function verdictsFor(sim: SimCluster, since: number, want: string[], timeoutMs = 60_000): Promise<Record<string, ClientRecord>> {
    const last = () => {
        const out: Record<string, ClientRecord> = {};
        for (const r of clientRecords(sim, since)) out[`${r.node} ${r.userAgent.split("/")[0]}`] = r;
        return out;
    };
    await waitFor(`the apiserver judged ${want.join(", ")}`, () => want.every((k) => k in last()), timeoutMs, 250);
    return Object.fromEntries(want.map((k) => [k, last()[k]]));
}

/**
 * "<node>:<component>" of every restart asked of systemctl/docker since `t` (and the kubelet's),
 * in the order they happened; a crash-looping component coming back by itself is not one.
 */
export function restartsSince(sim: SimCluster, t: number): string[] {
    return sim.nodes.flatMap((n) => n.events())
        .filter((e) => Date.parse(e.ts) >= t && (e.event === "restart" || e.event === "kubelet-restart"))
        .sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))
        .map((e) => `${e.node}:${e.component}`);
}

/**
 * openssl verify of a node file against a CA (host path), and whether it is valid for `days` more.
 * A kubeconfig is judged by its embedded client certificate (copied to a file beside the node tree).
 */
export async function opensslJudge(node: SimNode, nodePath: string, caHostPath: string, days = 300): Promise<{ verify: string; validFor: boolean }> {
    let file = node.realHostPath(nodePath);
    const embedded = /client-certificate-data:\s*(\S+)/.exec(fs.readFileSync(file, "utf8"));
    if (embedded) {
        file = path.join(node.dir, `judge-${path.basename(nodePath)}.crt`);
        fs.writeFileSync(file, Buffer.from(embedded[1], "base64"));
    }
    const verify = await run(SIM_BINARIES.openssl, ["verify", "-CAfile", caHostPath, file], { check: false });
    const end = await run(SIM_BINARIES.openssl, ["x509", "-noout", "-checkend", String(days * 86400), "-in", file], { check: false });
    return { verify: (verify.stdout + verify.stderr).trim().replace(file, nodePath), validFor: end.code === 0 };
}

/**
 * SHA-256 of the first certificate in a node file, or of a kubeconfig's client certificate
 * (embedded, or the file it names); "absent" when the file is not there.
 */
export function certSha(node: SimNode, nodePath: string): string {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    if (!fs.existsSync(node.realHostPath(nodePath))) return "absent";
    let text = fs.readFileSync(node.realHostPath(nodePath), "utf8");
    const embedded = /client-certificate-data:\s*(\S+)/.exec(text);
    const named = /client-certificate:\s*(\S+)/.exec(text);
    if (embedded) text = Buffer.from(embedded[1], "base64").toString("utf8");
    else if (named) text = fs.readFileSync(node.realHostPath(named[1]), "utf8");
    return new crypto.X509Certificate(text).fingerprint256.replace(/:/g, "").toLowerCase();
}
