/**
 * Bench (prints figures, asserts nothing): the whole Pulumi program `kubePki()` under the mock
 * runtime for 3 masters + N workers. Each size runs in a fresh child process so wall time and
 * peak RSS are not polluted by the previous size's heap. Per size the child runs the program twice:
 *
 * 1. under the echo mocks (no crypto, no I/O): resources, wall time, peak RSS (the program time);
 * 2. under real-size mocks (bench/state-size.ts: real keys, CSRs and certificates, so kubeconfigs
 *    and bundles have their real size), capturing every registration, then serialized as the
 *    checkpoint the engine would write (secrets as AES-256-GCM envelopes): the state bytes.
 *    Also the command texts (create/update/delete of every Command) and the largest one.
 *
 * "per worker" is the marginal state of one more worker: (state(b) − state(a)) / (b − a) between
 * consecutive sizes. Command stdout/stderr are empty here (the mocks run nothing).
 *
 *   npm run bench:scale                                (sizes 50 200 500, the working tree)
 *   node bench/program-scale.js --old 6ead50f          (also the program at that git revision)
 *   node bench/program-scale.js --new HEAD --old 6ead50f 50 200
 *   node bench/program-scale.js --no-state 50 1000     (program time only)
 *   node bench/program-scale.js --dump 50              (also writes bench/out/checkpoint-<program>-3+50.json)
 * A revision is extracted with `git archive <rev> src` into .baseline/<commit>/ (as test/day2 does)
 * and its src/program.ts is loaded; fixtures and mocks are this tree's.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ClusterSpec, NodeSpec } from "../src/spec";
import { haCluster, sshNode } from "../test/fixtures/cluster";
import { runProgram } from "../test/harness/mocks/run-program";

const ROOT = path.join(__dirname, "..");
const PROJECT = "kube-pki";
const STACK = "prod";

interface StateFigures {
    wallMs: number;
    bytes: number;
    byType: Record<string, { count: number; bytes: number }>;
    commandBytes: number;
    largestCommand: { name: string; bytes: number };
}

interface Sample {
    workers: number;
    resources: number;
    wallMs: number;
    /** User + system CPU time of the process during the run: less sensitive to other load than wall time. */
    cpuMs: number;
    peakRssMb: number;
    /** 1-minute load average when the run started (this machine is shared). */
    load: number;
    state?: StateFigures;
}

const noDrift = async () => ({ reasons: {}, repairs: {}, report: "" });

/** haCluster's masters + `workers` workers; addresses stay valid IPv4 past 254 workers. */
function clusterWith(workers: number): ClusterSpec {
    const base = haCluster("1.30.4", 0);
    const extra: NodeSpec[] = Array.from({ length: workers }, (_, i) =>
        sshNode(`worker-${i + 1}`, "worker", `10.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`));
    return { ...base, nodes: [...base.nodes, ...extra] };
}

type KubePki = (o: { spec: ClusterSpec; inspect: typeof noDrift }) => Promise<Record<string, unknown>>;

async function measureTime(kubePki: KubePki, workers: number): Promise<Sample> {
    let peak = process.memoryUsage().rss;
    // Sampled, so the peak is a lower bound within one 20 ms tick.
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const spec = clusterWith(workers);
    const load = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await runProgram(() => kubePki({ spec, inspect: noDrift }), { mocks: "echo", stack: STACK, project: PROJECT, timeoutMs: 600_000 });
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { workers, resources: result.resources.length, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: peak / 2 ** 20, load };
}

const COMMAND_FIELDS = ["create", "update", "delete"];

async function measureState(kubePki: KubePki, workers: number, programRoot: string, dump?: string): Promise<StateFigures> {
    // Loaded here: the harness's x509 code is only needed for this run.
    const { captureRegistrations, checkpointJson, realSizeMocks } = await import("./state-size");
    const capture = captureRegistrations();
    const spec = clusterWith(workers);
    const t0 = performance.now();
    let result;
    try {
        result = await runProgram(() => kubePki({ spec, inspect: noDrift }), { mocks: realSizeMocks(), stack: STACK, project: PROJECT, timeoutMs: 900_000 });
    } finally {
        capture.restore();
    }
    await capture.settled();
    const wallMs = performance.now() - t0;
    const regs = [...capture.registrations.values()];
    const { text, byType } = checkpointJson(regs, { project: PROJECT, stack: STACK, projectRoot: programRoot, stackOutputs: result.outputs });
    if (dump) fs.writeFileSync(dump, text);
    let commandBytes = 0;
    let largestCommand = { name: "", bytes: 0 };
    for (const r of result.resources) {
        if (!r.type.startsWith("command:")) continue;
        for (const f of COMMAND_FIELDS) {
            const text = r.inputs[f];
            if (typeof text !== "string") continue;
            const bytes = Buffer.byteLength(text);
            commandBytes += bytes;
            if (bytes > largestCommand.bytes) largestCommand = { name: `${r.name}.${f}`, bytes };
        }
    }
    return { wallMs, bytes: Buffer.byteLength(text), byType, commandBytes, largestCommand };
}

/** The program of a revision, extracted once into .baseline/<commit>/src (gitignored). */
function programAt(rev: string): { file: string; root: string; label: string } {
    const commit = execFileSync("git", ["rev-parse", "--verify", `${rev}^{commit}`], { cwd: ROOT, encoding: "utf8" }).trim();
    const root = path.join(ROOT, ".baseline", commit.slice(0, 12));
    const file = path.join(root, "src", "program.ts");
    if (!fs.existsSync(file)) {
        fs.mkdirSync(root, { recursive: true });
        execFileSync("sh", ["-c", `git archive ${commit} src | tar -x -C '${root}'`], { cwd: ROOT });
    }
    return { file, root, label: `${rev} (${commit.slice(0, 7)})` };
}

function runChild(workers: number, program: { file: string; root: string; label: string }, withState: boolean, dump: boolean): Sample {
    const args = [...process.execArgv, process.argv[1], "--one", String(workers), "--program", program.file, "--root", program.root];
    if (!withState) args.push("--no-state");
    if (dump) {
        fs.mkdirSync(path.join(ROOT, "bench", "out"), { recursive: true });
        args.push("--dump", path.join(ROOT, "bench", "out", `checkpoint-${program.label.split(" ")[0]}-3+${workers}.json`));
    }
    // The program logs its certificates table (one line per file): shown only when the child fails.
    const run = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 1_800_000, maxBuffer: 256 * 2 ** 20 });
    if (run.status !== 0) {
        process.stderr.write(run.stderr ?? "");
        throw new Error(`measuring 3+${workers} (${program.label}) failed: ${run.error?.message ?? `exit ${run.status ?? run.signal}`}`);
    }
    return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as Sample;
}

const kb = (n: number) => (n / 1024).toFixed(1);
const mb = (n: number) => (n / 2 ** 20).toFixed(2);

function printTable(head: string[], rows: string[][]): void {
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    for (const r of [head, ...rows]) console.log(r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd());
}

/** Marginal state of one more worker between two sizes. */
function perWorker(a: Sample, b: Sample): number | undefined {
    return a.state && b.state && b.workers > a.workers ? (b.state.bytes - a.state.bytes) / (b.workers - a.workers) : undefined;
}

function report(label: string, samples: Sample[]): void {
    console.log(`\n${label}`);
    const rows = samples.map((s, i) => {
        const prev = samples[i - 1];
        const growth = prev
            ? `nodes x${((s.workers + 3) / (prev.workers + 3)).toFixed(2)} res x${(s.resources / prev.resources).toFixed(2)} ` +
              `time x${(s.wallMs / prev.wallMs).toFixed(2)} rss x${(s.peakRssMb / prev.peakRssMb).toFixed(2)}` +
              (s.state && prev.state ? ` state x${(s.state.bytes / prev.state.bytes).toFixed(2)}` : "")
            : "";
        const pw = prev ? perWorker(prev, s) : undefined;
        return [`3+${s.workers}`, String(s.resources), (s.wallMs / 1000).toFixed(2), (s.cpuMs / 1000).toFixed(2), s.load.toFixed(1), s.peakRssMb.toFixed(0),
            s.state ? mb(s.state.bytes) : "-", pw === undefined ? "-" : kb(pw),
            s.state ? mb(s.state.commandBytes) : "-", s.state ? kb(s.state.largestCommand.bytes) : "-", growth];
    });
    printTable(["nodes", "resources", "program s", "cpu s", "load", "peak RSS MB", "state MB", "state/worker KB", "cmd text MB", "largest cmd KB", "growth vs previous size"], rows);
    const last = [...samples].reverse().find((s) => s.state);
    if (!last?.state) return;
    console.log(`largest command: ${last.state.largestCommand.name} (${last.state.largestCommand.bytes} B); ` +
        `real-size run of 3+${last.workers}: ${(last.state.wallMs / 1000).toFixed(1)} s`);
    console.log(`state of 3+${last.workers} by resource type:`);
    const types = Object.entries(last.state.byType).sort((a, b) => b[1].bytes - a[1].bytes);
    printTable(["type", "count", "MB", "KB each"], types.map(([t, v]) => [t, String(v.count), mb(v.bytes), kb(v.bytes / v.count)]));
}

function flag(args: string[], name: string): string | undefined {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const [, value] = args.splice(i, 2);
    if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
    return value;
}

async function child(args: string[]): Promise<void> {
    const workers = Number(flag(args, "one"));
    const file = flag(args, "program")!;
    const root = flag(args, "root")!;
    const { kubePki } = require(file) as { kubePki: KubePki };
    const sample = await measureTime(kubePki, workers);
    const dump = flag(args, "dump");
    if (!args.includes("--no-state")) sample.state = await measureState(kubePki, workers, root, dump);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args.includes("--one")) return child(args);
    const oldRev = flag(args, "old");
    const newRev = flag(args, "new");
    const withState = !args.includes("--no-state");
    const dump = args.includes("--dump");
    const sizes = (args.filter((a) => !a.startsWith("--")).length ? args.filter((a) => !a.startsWith("--")) : ["50", "200", "500"]).map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`worker counts must be non-negative integers: ${args.join(" ")}`);
    const programs = [newRev ? programAt(newRev) : { file: path.join(ROOT, "src", "program.ts"), root: ROOT, label: "working tree" }];
    if (oldRev) programs.push(programAt(oldRev));
    const results: Sample[][] = [];
    for (const program of programs) {
        const samples: Sample[] = [];
        for (const workers of sizes) {
            console.error(`${program.label}: measuring 3 masters + ${workers} workers…`);
            samples.push(runChild(workers, program, withState, dump));
        }
        results.push(samples);
    }
    console.log(`kubePki() under the mock runtime, Node ${process.version}, one child process per size and program`);
    console.log(`program s (wall), cpu s, peak RSS: echo mocks; load: 1-min load average at the start (${os.cpus().length} CPUs); ` +
        "state: checkpoint JSON with real-size keys/certs and encrypted secrets");
    programs.forEach((p, i) => report(p.label, results[i]));
    if (results.length === 2) compare(programs[0].label, results[0], programs[1].label, results[1]);
}

/** The issue's goals, new against old: state per worker ≤ ½, 3+500 program time ≤ 10 s, commands ≤ 2 KB. */
function compare(newLabel: string, now: Sample[], oldLabel: string, before: Sample[]): void {
    console.log(`\n${newLabel} against ${oldLabel}:`);
    const pair = (xs: Sample[]) => {
        const a = xs.find((s) => s.workers === 50) ?? xs[0];
        const b = xs.find((s) => s.workers === 200) ?? xs[xs.length - 1];
        return perWorker(a, b);
    };
    const [pn, po] = [pair(now), pair(before)];
    if (pn !== undefined && po !== undefined) {
        console.log(`  state per worker: ${kb(pn)} KB vs ${kb(po)} KB (${(pn / po).toFixed(2)}x; goal ≤ 0.50x)`);
    }
    const big = (xs: Sample[]) => xs.find((s) => s.workers === 500);
    const [bn, bo] = [big(now), big(before)];
    if (bn && bo) {
        console.log(`  program time 3+500: ${(bn.wallMs / 1000).toFixed(2)} s vs ${(bo.wallMs / 1000).toFixed(2)} s wall, ` +
            `${(bn.cpuMs / 1000).toFixed(2)} s vs ${(bo.cpuMs / 1000).toFixed(2)} s CPU (goal ≤ 10 s)`);
    }
    const ln = Math.max(...now.map((s) => s.state?.largestCommand.bytes ?? 0));
    const lo = Math.max(...before.map((s) => s.state?.largestCommand.bytes ?? 0));
    if (ln || lo) console.log(`  largest command: ${ln} B vs ${lo} B (goal ≤ 2048 B)`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
