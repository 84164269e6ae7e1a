/**
 * Bench (prints figures, asserts nothing): drift inventory of a simulated cluster over real sshd.
 * `readInventories` (one SSH session per node running src/scripts/inventory.sh once) against the
 * naive way (one SSH connection + one openssl/sha256sum per file, as a shell loop of
 * `ssh node openssl x509 -in FILE …` would do). Both read the same files with the same
 * concurrency. With `--old <git rev>` the raw script run of that revision's inventory.sh is
 * timed too (same sessions, output not parsed).
 *
 *   node bench/run.js bench/drift.ts [--masters 4] [--workers 16] [--old <rev>]
 *   (root, Debian packages as for the live tests)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { inventoryArgs, readInventories, shellQuote } from "../src/drift/inventory";
import { mapBounded } from "../src/drift/pool";
import { runOverSsh } from "../src/drift/ssh";
import { filePath, KUBECONFIG_FILE_KEYS, KUBEADM_LAYOUT, KUBELET_CLIENT_CURRENT, PKI_FILE_KEYS } from "../src/pki/layout";
import type { NodeSpec } from "../src/spec";
import { SimCluster } from "../test/harness/sim";

const CONCURRENCY = 8;
const SSH = { connectTimeoutMs: 10_000, timeoutMs: 60_000 };

function flag(name: string, fallback?: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Files the inventory reads on a node of this role (masters: the whole layout; workers: theirs). */
function filesOf(node: NodeSpec): string[] {
    const keys = node.role === "master" ? [...PKI_FILE_KEYS, ...KUBECONFIG_FILE_KEYS] : ["ca.crt", "kubelet.conf"] as const;
    return [...keys.map((k) => filePath(KUBEADM_LAYOUT, k)), KUBELET_CLIENT_CURRENT];
}

/** One fresh SSH connection per file; certificates through openssl, everything else hashed. */
async function naive(nodes: NodeSpec[]): Promise<number> {
    let sessions = 0;
    await mapBounded(nodes, CONCURRENCY, async (node) => {
        for (const file of filesOf(node)) {
            const q = shellQuote(file);
            const cmd = /\.(crt|pem)$/.test(file)
                ? `test -e ${q} && /usr/bin/openssl x509 -in ${q} -noout -subject -issuer -dates -fingerprint -sha256`
                : `test -e ${q} && /usr/bin/sha256sum ${q}`;
            await runOverSsh(node.ssh!, cmd, "", SSH);
            sessions++;
        }
    });
    return sessions;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const t = process.hrtime.bigint();
    const value = await fn();
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

async function main(): Promise<void> {
    const masters = Number(flag("masters", "4"));
    const workers = Number(flag("workers", "16"));
    const oldRev = flag("old");
    const t0 = Date.now();
    const sim = await SimCluster.start({ masters, workers, keyType: "ecdsa-p256" });
    console.log(`simulated cluster: ${masters} masters + ${workers} workers, up in ${Date.now() - t0} ms`);
    try {
        const nodes: NodeSpec[] = sim.nodes.map((n) => ({
            name: n.name, role: n.role, advertiseAddress: n.ip, transport: "ssh",
            ssh: { host: n.ip, port: 22, user: "root", privateKey: sim.clientPrivateKey, hostKey: n.hostPublicKey },
        }));
        // Warm-up: first connections pay sshd's key exchange set-up and page cache misses.
        await readInventories(nodes.slice(0, 2), KUBEADM_LAYOUT, { concurrency: 2 });

        const inv = await timed(() => readInventories(nodes, KUBEADM_LAYOUT, { concurrency: CONCURRENCY, checkServed: false }));
        const bad = inv.value.filter((i) => !i.reachable);
        if (bad.length) throw new Error(`unreachable: ${bad.map((b) => `${b.node}: ${b.error}`).join("; ")}`);
        const served = await timed(() => readInventories(nodes, KUBEADM_LAYOUT, { concurrency: CONCURRENCY, checkServed: true }));
        const nv = await timed(() => naive(nodes));

        console.log(`readInventories (1 session/node, key matches + kubeconfigs): ${inv.ms.toFixed(0)} ms`);
        console.log(`  … with served certificates (4 TLS handshakes per master): ${served.ms.toFixed(0)} ms`);
        console.log(`naive (1 ssh connection + openssl/sha256sum per file, ${nv.value} sessions, no key matches): ${nv.ms.toFixed(0)} ms`);
        console.log(`ratio naive/readInventories: ${(nv.ms / inv.ms).toFixed(1)}x`);

        if (oldRev) {
            const script = execFileSync("git", ["show", `${oldRev}:src/scripts/inventory.sh`], { cwd: path.join(__dirname, ".."), encoding: "utf8" });
            const run = (text: string) => mapBounded(nodes, CONCURRENCY, (node) =>
                runOverSsh(node.ssh!, ["/bin/sh", "-s", "--", ...inventoryArgs(node, KUBEADM_LAYOUT, false).map(shellQuote)].join(" "), text, SSH));
            const cur = await timed(() => run(fs.readFileSync(path.join(__dirname, "..", "src", "scripts", "inventory.sh"), "utf8")));
            const old = await timed(() => run(script));
            console.log(`raw script runs, this inventory.sh: ${cur.ms.toFixed(0)} ms; inventory.sh of ${oldRev}: ${old.ms.toFixed(0)} ms ` +
                `(${(old.ms / cur.ms).toFixed(1)}x)`);
        }
    } finally {
        await sim.stop();
    }
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
