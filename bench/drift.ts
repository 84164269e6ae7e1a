/**
 * Bench (prints figures, asserts nothing): read N nodes with the inventory (one shell run per
 * node) vs the naive way (one process per file: `openssl x509` / `sha256sum`). Nodes are
 * local-transport trees, so both sides pay process start-up but no SSH handshake; over SSH the
 * naive side would also pay one session per file. Run: node bench/run.js [nodes]
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readInventories } from "../src/drift/inventory";
import { mapBounded } from "../src/drift/pool";
import { filePath, KUBECONFIG_FILE_KEYS, KUBEADM_LAYOUT, PKI_FILE_KEYS } from "../src/pki/layout";
import type { NodeSpec } from "../src/spec";
import { seedNode } from "../test/drift/kubeadm-tree";

const pexec = promisify(execFile);

async function main(): Promise<void> {
    const count = Number(process.argv[2] ?? 20);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-bench-"));
    const seed = path.join(dir, "seed");
    seedNode(seed, { name: "seed", ip: "10.0.0.1", role: "master" });
    const nodes: NodeSpec[] = [];
    for (let i = 0; i < count; i++) {
        const root = path.join(dir, `node-${i}`);
        fs.cpSync(seed, root, { recursive: true, verbatimSymlinks: true });
        nodes.push({ name: `node-${i}`, role: "master", advertiseAddress: "10.0.0.1", transport: "local", localRoot: root });
    }
    const t0 = Date.now();
    await readInventories(nodes, KUBEADM_LAYOUT, { concurrency: 4 });
    const inventoryMs = Date.now() - t0;

    const t1 = Date.now();
    await mapBounded(nodes, 4, async (node) => {
        for (const key of [...PKI_FILE_KEYS, ...KUBECONFIG_FILE_KEYS]) {
            const file = path.join(node.localRoot!, filePath(KUBEADM_LAYOUT, key));
            if (!fs.existsSync(file)) continue;
            await pexec("/usr/bin/sha256sum", [file]);
            if (key.endsWith(".crt")) await pexec("/usr/bin/openssl", ["x509", "-in", file, "-noout", "-enddate", "-subject", "-issuer", "-fingerprint", "-sha256"]);
        }
    });
    const naiveMs = Date.now() - t1;
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`nodes: ${count}`);
    console.log(`inventory (one sh run per node, incl. key-match + kubeconfig checks): ${inventoryMs} ms`);
    console.log(`naive (one process per file, no key-match/kubeconfig checks):       ${naiveMs} ms`);
    console.log(`ratio naive/inventory: ${(naiveMs / inventoryMs).toFixed(2)}`);
}

void main();
