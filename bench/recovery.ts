/**
 * bench/recovery: one `up` of the real program (executing mocks) against simulated clusters that
 * are already down, timed from the start of `up` to the last component verified, with each phase
 * (first start → last finish of its node commands, from the mock engine's execution record).
 * Prints, asserts nothing. Goal on this machine: (a) under 2 minutes.
 *   (a) 3 masters + 1 worker, every leaf expired 30 days ago: etcd without quorum, apiservers down.
 *
 *   node bench/run.js bench/recovery.ts       (root, Debian packages as for the live tests)
 */
import { kubePki } from "../src/program";
import { createExecutingMocks, MockStateStore, runProgram } from "../test/harness/mocks";
import type { ExecutionEvent } from "../test/harness/mocks/state-store";
import { SimCluster } from "../test/harness/sim";
import { specFor } from "../test/e2e/sim-spec";

/** Phases of the recovery order, by the node command's name suffix (workers: every step of a worker). */
const PHASES: ReadonlyArray<[string, (name: string) => boolean]> = [
    ["kit shipped", (n) => n.includes("-kit-")],
    ["installs (every master)", (n) => /-master-\d+-install$/.test(n)],
    ["etcd (all masters together)", (n) => /-master-\d+-etcd$/.test(n)],
    ["kube-apiserver", (n) => /-master-\d+-kube-apiserver$/.test(n)],
    ["controller-manager + scheduler", (n) => /-master-\d+-kube-(controller-manager|scheduler)$/.test(n)],
    ["kubelets (masters)", (n) => /-master-\d+-kubelet$/.test(n)],
    ["workers", (n) => /-rollout-worker-\d+-/.test(n)],
];

function report(title: string, started: number, executions: readonly ExecutionEvent[]): void {
    const commands = executions.filter((e) => e.action !== "generate");
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const last = Math.max(...commands.map((e) => e.finishedAt));
    console.log(`${title}: ${s(last - started)} from the start of up to the last component verified`);
    for (const [phase, match] of PHASES) {
        const ran = commands.filter((e) => match(e.urn.split("::").pop()!));
        if (ran.length === 0) continue;
        const from = Math.min(...ran.map((e) => e.startedAt)) - started;
        const to = Math.max(...ran.map((e) => e.finishedAt)) - started;
        console.log(`  ${phase.padEnd(32)} ${s(from).padStart(7)} → ${s(to).padStart(7)}  (${s(to - from)}, ${ran.length} command(s)${ran.every((e) => e.ok) ? "" : ", FAILED"})`);
        // Each command of the phase: which one held it up.
        console.log(`    ${ran.map((e) => `${e.urn.split("::").pop()!.replace(/^.*-(rollout|kit)-/, "")} ${s(e.finishedAt - e.startedAt)}`).join(", ")}`);
    }
}

async function expiredHa(): Promise<void> {
    const sim = await SimCluster.start({ masters: 3, workers: 1, leafExpiresInDays: -30, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh", waitForControlPlane: false });
    try {
        const store = new MockStateStore();
        const started = Date.now();
        await runProgram(() => kubePki({ spec: specFor(sim) }), { mocks: createExecutingMocks({ store }), timeoutMs: 600_000 });
        report("(a) every leaf expired, 3 masters + 1 worker", started, store.lastRun.executions);
    } finally {
        await sim.stop();
    }
}

async function main(): Promise<void> {
    await expiredHa();
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
