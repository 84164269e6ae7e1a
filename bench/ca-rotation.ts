/**
 * bench/ca-rotation: a CA rotation of a seeded 3-master + 1-worker simulated cluster by the real
 * program (executing mocks), one `up` per phase (trust-both → reissue → drop-old) after a first
 * untimed `up` that adopts the seeded CAs. While it runs: /healthz of every apiserver every 100 ms,
 * and a quorum write through the real etcd every ~150 ms with client certificates the trust of the
 * moment accepts (test/e2e/ca-rotation-probes.ts). Prints, per phase, the wall time of the `up`, the
 * longest window with no apiserver answering and the failed quorum writes; asserts nothing.
 * Goal (issue 14): 0 ms with no apiserver answering, no failed quorum write.
 *   (a) the etcd CA   (b) the cluster CA
 *
 *   node bench/run.js bench/ca-rotation.ts [--case a|b]     (default both; root, Debian packages as for the live tests)
 * Writes what it prints to bench/out/ca-rotation-<case>.txt too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubePki } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import { createExecutingMocks, MockStateStore, runProgram } from "../test/harness/mocks";
import { SimCluster } from "../test/harness/sim";
import { knownCa } from "../test/e2e/ca-rotation-judges";
import { RotationProbes, type PhaseStats } from "../test/e2e/ca-rotation-probes";
import { baseSpec, CLUSTER_CA, ETCD_CA, etcdProbeClient, newCaFrom, PHASES, rotating, ROTATION_SIM, type RotatingCa } from "../test/e2e/ca-rotation-scenario";
import { chosenCases } from "./cases";

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function rotation(label: string, ca: RotatingCa, print: (line: string) => void): Promise<void> {
    const sim = await SimCluster.start(ROTATION_SIM);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-bench-ca-rotation-"));
    const probes = new RotationProbes(sim, { etcd: true, apiserver: true, apiTimeoutMs: 1000 });
    try {
        const store = new MockStateStore();
        const spec: ClusterSpec = baseSpec(sim);
        const up = (s: ClusterSpec) => runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "bench", timeoutMs: 600_000 });
        const oldEtcd = await knownCa("old", fs.readFileSync(sim.authorities.etcdCa.cert, "utf8"));
        const oldClient = await etcdProbeClient("probe-old", sim.authorities.etcdCa);
        probes.etcdClients = [{ ca: oldEtcd.file, ...oldClient, label: "old etcd-CA client" }];
        probes.start("first up");
        const t0 = Date.now();
        await up(spec);
        print(`${label}: first up of the healthy cluster (untimed setup, adopts the seeded CAs): ${secs(Date.now() - t0)}`);
        const walls: number[] = [];
        let afterReissue: (() => void) | undefined;
        for (const phase of PHASES) {
            probes.phase(phase);
            const started = Date.now();
            const result = await up(rotating(spec, ca));
            walls.push(Date.now() - started);
            if (ca === ETCD_CA && phase === "trust-both") {
                // Both CAs trusted everywhere from now on: probe with a client of each; after reissue, the new one only.
                const found = await newCaFrom(sim, ca, oldEtcd, result);
                const both = path.join(scratch, "old+new.crt");
                fs.writeFileSync(both, `${oldEtcd.pem}\n${found.ca.pem}\n`);
                const newClient = await etcdProbeClient("probe-new", { cert: found.ca.file, key: found.keyFile });
                fs.rmSync(found.keyFile, { force: true });
                probes.etcdClients = [{ ca: both, ...oldClient, label: "old etcd-CA client" }, { ca: both, ...newClient, label: "new etcd-CA client" }];
                afterReissue = () => { probes.etcdClients = [{ ca: found.ca.file, ...newClient, label: "new etcd-CA client" }]; };
            }
            if (phase === "reissue") afterReissue?.();
        }
        await probes.stop();
        for (const [i, p] of probes.phases.slice(1).entries()) print(phaseLine(p, walls[i]));
        const s = probes.summary();
        print(`  total ${secs(walls.reduce((a, b) => a + b, 0))} over ${PHASES.length} ups; longest window with no apiserver answering: ${s.longestAllDown} ms ` +
            `(${s.apiTicks} probes); failed quorum writes: ${s.quorumFailures.length} of ${s.quorumProbes} (goal: 0 ms, 0)`);
        for (const f of s.quorumFailures.slice(0, 5)) print(`    failed: ${f}`);
    } finally {
        await probes.stop().catch(() => undefined);
        await sim.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

function phaseLine(p: PhaseStats, wall: number): string {
    return `  ${p.phase.padEnd(11)} ${secs(wall).padStart(7)} wall; no apiserver answering: longest ${String(p.longestAllDown).padStart(4)} ms ` +
        `(${p.apiTicks} ticks x 3, ${p.singleMasterMisses} single-master misses); quorum writes failed: ${p.quorumFailures.length} of ${p.quorumProbes}` +
        `${p.longestQuorumGap ? `, longest gap ${p.longestQuorumGap} ms` : ""}`;
}

const CASES: Record<string, [string, RotatingCa]> = {
    a: ["(a) etcd CA rotation, 3 masters + 1 worker", ETCD_CA],
    b: ["(b) cluster CA rotation, 3 masters + 1 worker", CLUSTER_CA],
};

async function main(): Promise<void> {
    for (const c of chosenCases(process.argv.slice(2), CASES)) {
        const lines: string[] = [];
        const print = (l: string) => { console.log(l); lines.push(l); };
        const [label, ca] = CASES[c];
        await rotation(label, ca, print);
        const [l1, l5] = os.loadavg();
        const head = `# node bench/run.js bench/ca-rotation.ts --case ${c}, finished ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores; ` +
            `load average at the end ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min)`;
        console.log(head);
        const out = path.join(__dirname, "out", `ca-rotation-${c}.txt`);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, [head, ...lines, ""].join("\n"));
    }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
