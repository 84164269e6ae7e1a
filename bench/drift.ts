/**
 * Bench (prints figures, asserts nothing): drift inventory of a simulated cluster over real sshd.
 * `readInventories` (one SSH session per node running src/scripts/inventory.sh once) against the
 * naive way (one SSH connection + one openssl/sha256sum per file, as a shell loop of
 * `ssh node openssl x509 -in FILE …` would do). Both read the same files with the same
 * concurrency. Two kinds of node: kubeadm's (no install record: every key is matched with
 * the node, as `check` on a cluster kube-pki never installed) and kube-pki's (the record
 * install.sh leaves: keys matched only where the bytes differ from it; what preview and up read).
 * With `--profile` the time is split: SSH sessions alone, the script on the node, parsing in the
 * caller. With `--old <git rev>` the raw script run of that revision's inventory.sh is timed too
 * (same sessions, output not parsed).
 *
 *   node bench/run.js bench/drift.ts [--masters 4] [--workers 16] [--profile] [--old <rev>]
 *   (root, Debian packages as for the live tests)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assembleFiles, inventoryArgs, readInventories, shellQuote } from "../src/drift/inventory";
import { mapBounded } from "../src/drift/pool";
import { runOverSsh } from "../src/drift/ssh";
import { parseInventoryOutput } from "../src/drift/script-output";
import { filePath, INSTALLED_RECORD, KUBECONFIG_FILE_KEYS, KUBEADM_LAYOUT, KUBELET_CLIENT_CURRENT, LAST_INSTALL_NOTE, PKI_FILE_KEYS } from "../src/pki/layout";
import type { NodeSpec } from "../src/spec";
import { SimCluster, type SimNode } from "../test/harness/sim";

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

/** The record install.sh leaves after an `up`: sha256 and path of every file it put there. */
async function recordInstall(sim: SimNode, node: NodeSpec): Promise<void> {
    const files = filesOf(node).filter((f) => f !== KUBELET_CLIENT_CURRENT).join(" ");
    const r = await sim.exec(`mkdir -p ${path.posix.dirname(INSTALLED_RECORD)} && for f in ${files}; do ` +
        `[ -f "$f" ] && set -- $(sha256sum "$f") && printf '%s %s\\n' "$1" "$f"; done >${INSTALLED_RECORD} && echo none >${LAST_INSTALL_NOTE}`);
    if (r.code !== 0) throw new Error(`install record on ${node.name}: ${r.stderr}`);
}

/** CPU time all processes of this machine have used so far (user+nice+system+irq+softirq), in ms. */
function machineBusyMs(): number {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6]) * (1000 / 100); // USER_HZ is 100 on Linux
}

const ms = (v: number) => `${v.toFixed(0)} ms`;

/** Where the time of one readInventories goes: SSH sessions, the script on the node, parsing here. */
async function profile(nodes: NodeSpec[], checkServed: boolean): Promise<void> {
    const cpu0 = process.cpuUsage();
    const busy0 = machineBusyMs();
    const sessions = await timed(() => mapBounded(nodes, CONCURRENCY, (n) => runOverSsh(n.ssh!, "true", "", SSH)));
    const sessionsCpu = machineBusyMs() - busy0;
    const script = fs.readFileSync(path.join(__dirname, "..", "src", "scripts", "inventory.sh"), "utf8");
    // The node measures the script itself (date before and after, in the same session).
    const raw = await timed(() => mapBounded(nodes, CONCURRENCY, (n) => runOverSsh(n.ssh!,
        `t0=$(date +%s%N); /bin/sh -s -- ${inventoryArgs(n, KUBEADM_LAYOUT, checkServed).map(shellQuote).join(" ")}; ` +
        "echo elapsed $(( ($(date +%s%N) - t0) / 1000000 ))", script, SSH)));
    const onNode = raw.value.map((r) => Number(/^elapsed (\d+)$/m.exec(r.stdout)?.[1] ?? NaN));
    const parse = await timed(async () => {
        for (const r of raw.value) assembleFiles(parseInventoryOutput(r.stdout), KUBEADM_LAYOUT);
    });
    const cpu = process.cpuUsage(cpu0);
    const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const masters = onNode.filter((_, i) => nodes[i].role === "master");
    const workers = onNode.filter((_, i) => nodes[i].role === "worker");
    console.log(`    profile: SSH sessions alone (\`true\`) ${ms(sessions.ms)} (CPU of the whole machine meanwhile ${ms(sessionsCpu)}: ` +
        `on ${os.cpus().length} cores no inventory of these nodes can take less than ${ms(sessionsCpu / os.cpus().length)}); sessions + script ${ms(raw.ms)}; ` +
        `script on the node: master avg ${ms(avg(masters))} (max ${ms(Math.max(...masters))}), worker avg ${ms(avg(workers))}; ` +
        `parsing all ${nodes.length} outputs here ${ms(parse.ms)} (${(raw.value[0].stdout.length / 1024).toFixed(1)} KiB from a master); ` +
        `caller CPU ${ms((cpu.user + cpu.system) / 1000)}`);
}

async function main(): Promise<void> {
    const masters = Number(flag("masters", "4"));
    const workers = Number(flag("workers", "16"));
    const oldRev = flag("old");
    const t0 = Date.now();
    // Root's login shell is /bin/sh: root shares this host's home, whose ~/.bashrc runs pyenv init on
    // every bash login (seconds per SSH session); a real node's root shell does not.
    const sim = await SimCluster.start({ masters, workers, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" });
    console.log(`simulated cluster: ${masters} masters + ${workers} workers, up in ${Date.now() - t0} ms; ` +
        "root logs in with /bin/sh (this host's ~/.bashrc runs pyenv init on every bash login, a real node's root shell does not)");
    try {
        const nodes: NodeSpec[] = sim.nodes.map((n) => ({
            name: n.name, role: n.role, advertiseAddress: n.ip, transport: "ssh",
            ssh: { host: n.ip, port: 22, user: "root", privateKey: sim.clientPrivateKey, hostKey: n.hostPublicKey },
        }));
        const load = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
        console.log(`this machine: ${os.cpus().length} CPUs, load average ${load()} (other work shares them)`);
        // Warm-up: first connections pay sshd's key exchange set-up and page cache misses.
        await readInventories(nodes.slice(0, 2), KUBEADM_LAYOUT, { concurrency: 2 });

        const measure = async (label: string) => {
            const inv = await timed(() => readInventories(nodes, KUBEADM_LAYOUT, { concurrency: CONCURRENCY, checkServed: false }));
            const bad = inv.value.filter((i) => !i.reachable);
            if (bad.length) throw new Error(`unreachable: ${bad.map((b) => `${b.node}: ${b.error}`).join("; ")}`);
            const served = await timed(() => readInventories(nodes, KUBEADM_LAYOUT, { concurrency: CONCURRENCY, checkServed: true }));
            const keyMatched = inv.value.flatMap((i) => i.files).filter((f) => f.keyMatches !== undefined).length;
            console.log(`readInventories, ${label}: ${ms(inv.ms)}; with served certificates (4 TLS handshakes per master): ${ms(served.ms)} ` +
                `(${keyMatched} key matches reported)`);
            if (process.argv.includes("--profile")) {
                await profile(nodes, false);
                await profile(nodes, true);
            }
            return served.ms;
        };
        const kubeadm = await measure("kubeadm nodes (no install record: every key matched on the node)");
        for (let i = 0; i < nodes.length; i++) await recordInstall(sim.nodes[i], nodes[i]);
        const managed = await measure("kube-pki nodes (install record: only changed keys matched)");
        const nv = await timed(() => naive(nodes));
        console.log(`naive (1 ssh connection + openssl/sha256sum per file, ${nv.value} sessions, no key matches, nothing served): ${ms(nv.ms)}`);
        console.log(`ratio naive / readInventories with served certificates: kube-pki nodes ${(nv.ms / managed).toFixed(1)}x, ` +
            `kubeadm nodes ${(nv.ms / kubeadm).toFixed(1)}x (ceiling at equal session cost: ${nv.value} / ${nodes.length} sessions = ` +
            `${(nv.value / nodes.length).toFixed(1)}x); load average now ${load()}`);

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
