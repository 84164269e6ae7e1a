/**
 * bench/recovery: one `up` of the real program (executing mocks) against simulated clusters that
 * are already down, timed from the start of `up` to the last component verified, with each phase
 * (first start → last finish of its node commands, from the mock engine's execution record).
 * Prints, asserts nothing. Goals on this machine (issue 12): (a) under 2 minutes, (b) under 1 minute.
 *   (a) 3 masters + 1 worker, every leaf expired 30 days ago: etcd without quorum, apiservers down.
 *   (b) /etc/kubernetes deleted on master-2 of a healthy 3 masters + 1 worker (after a first, untimed
 *       `up` that records kube-pki's manifest copies): the scenario of test/e2e/recovery-wiped.live.test.ts.
 *
 *   node bench/run.js bench/recovery.ts [--case a|b]     (default both; root, Debian packages as for the live tests)
 */
import * as os from "node:os";
import { COMPONENTS } from "../src/pki/components";
import { kubePki } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import { createExecutingMocks, MockStateStore, runProgram } from "../test/harness/mocks";
import type { ExecutionEvent } from "../test/harness/mocks/state-store";
import { SimCluster } from "../test/harness/sim";
import { specFor } from "../test/e2e/sim-spec";
import { waitStopped, wipe, WIPED_SIM, wipedSpec } from "../test/e2e/wiped-master";
import { chosenCases } from "./cases";

type Phases = ReadonlyArray<[string, (name: string) => boolean]>;
const KIT: Phases[number] = ["kit shipped", (n) => n.includes("-kit-")];

/** Phases of the recovery order, by the node command's name suffix (workers: every step of a worker). */
const EXPIRED_PHASES: Phases = [
    KIT,
    ["installs (every master)", (n) => /-master-\d+-install$/.test(n)],
    ["etcd (all masters together)", (n) => /-master-\d+-etcd$/.test(n)],
    ["kube-apiserver", (n) => /-master-\d+-kube-apiserver$/.test(n)],
    ["controller-manager + scheduler", (n) => /-master-\d+-kube-(controller-manager|scheduler)$/.test(n)],
    ["kubelets (masters)", (n) => /-master-\d+-kubelet$/.test(n)],
    ["workers", (n) => /-rollout-worker-\d+-/.test(n)],
];

/** A wiped master's repair: its install, the manifests from kube-pki's copy, then each component's restart + verify. */
const WIPED_PHASES: Phases = [
    KIT,
    ["repair install (files from state)", (n) => /-master-\d+-repair$/.test(n)],
    ["restore-manifests", (n) => n.endsWith("-restore-manifests")],
    ...COMPONENTS.map(({ name }): Phases[number] => [`${name} repair (restart+verify)`, (n) => n.endsWith(`-repair-${name}`)]),
    ["manifest-copy", (n) => n.endsWith("-manifest-copy")],
];

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function report(title: string, goal: string, phases: Phases, started: number, executions: readonly ExecutionEvent[]): void {
    const commands = executions.filter((e) => e.action !== "generate");
    const s = secs; // short, for the aligned lines below
    const last = Math.max(...commands.map((e) => e.finishedAt));
    console.log(`${title}: ${s(last - started)} from the start of up to the last component verified (goal ${goal})`);
    // Commands no phase names are listed too, so nothing the run did is hidden.
    const named = (n: string) => phases.some(([, match]) => match(n));
    for (const [phase, match] of [...phases, ["other", (n: string) => !named(n)] as Phases[number]]) {
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
        report("(a) every leaf expired, 3 masters + 1 worker", "< 2 min", EXPIRED_PHASES, started, store.lastRun.executions);
    } finally {
        await sim.stop();
    }
}

async function wipedMaster(): Promise<void> {
    const sim = await SimCluster.start(WIPED_SIM);
    try {
        const store = new MockStateStore();
        const spec: ClusterSpec = wipedSpec(sim);
        const up = () => runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "wiped", timeoutMs: 600_000 });
        const firstStarted = Date.now();
        await up();
        console.log(`(b) first up of the healthy cluster (untimed setup, records kube-pki's manifest copies): ${secs(Date.now() - firstStarted)}`);
        const m2 = sim.node("master-2");
        wipe(m2, "/etc/kubernetes");
        await waitStopped(sim, m2);
        const started = Date.now();
        await up();
        report("(b) /etc/kubernetes deleted on master-2, 3 masters + 1 worker", "< 1 min", WIPED_PHASES, started, store.lastRun.executions);
    } finally {
        await sim.stop();
    }
}

const CASES: Record<string, () => Promise<void>> = { a: expiredHa, b: wipedMaster };

async function main(): Promise<void> {
    for (const c of chosenCases(process.argv.slice(2), CASES)) await CASES[c]();
    const [l1, l5] = os.loadavg();
    console.log(`# ${os.cpus().length} cores; load average at the end ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min); finished ${new Date().toISOString()}`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
