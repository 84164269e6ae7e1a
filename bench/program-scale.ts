/**
 * Bench (prints figures, asserts nothing): the whole Pulumi program `kubePki()` under the echo
 * mocks (no crypto, no I/O) for 3 masters + N workers. Each size runs in a fresh child process
 * so wall time and peak RSS are not polluted by the previous size's heap.
 *
 *   npm run bench:scale                      (sizes 50 200 500)
 *   node bench/program-scale.js 50 1000      (custom worker counts)
 */
import { execFileSync } from "node:child_process";
import { kubePki } from "../src/program";
import type { ClusterSpec, NodeSpec } from "../src/spec";
import { haCluster, sshNode } from "../test/fixtures/cluster";
import { runProgram } from "../test/harness/mocks/run-program";

interface Sample {
    workers: number;
    resources: number;
    wallMs: number;
    peakRssMb: number;
}

const noDrift = async () => ({ reasons: {}, repairs: {}, report: "" });

/** haCluster's masters + `workers` workers; addresses stay valid IPv4 past 254 workers. */
function clusterWith(workers: number): ClusterSpec {
    const base = haCluster("1.30.4", 0);
    const extra: NodeSpec[] = Array.from({ length: workers }, (_, i) =>
        sshNode(`worker-${i + 1}`, "worker", `10.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`));
    return { ...base, nodes: [...base.nodes, ...extra] };
}

async function measureOne(workers: number): Promise<Sample> {
    let peak = process.memoryUsage().rss;
    // Sampled, so the peak is a lower bound within one 20 ms tick.
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const spec = clusterWith(workers);
    const t0 = performance.now();
    const result = await runProgram(() => kubePki({ spec, inspect: noDrift }), { mocks: "echo", stack: "prod", timeoutMs: 600_000 });
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { workers, resources: result.resources.length, wallMs, peakRssMb: peak / 2 ** 20 };
}

function runChild(workers: number): Sample {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], "--one", String(workers)],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000, maxBuffer: 64 * 2 ** 20 });
    const line = out.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as Sample;
}

function printTable(samples: Sample[]): void {
    const rows = samples.map((s, i) => {
        const prev = samples[i - 1];
        const growth = prev
            ? `nodes x${((s.workers + 3) / (prev.workers + 3)).toFixed(2)}  res x${(s.resources / prev.resources).toFixed(2)}  ` +
              `time x${(s.wallMs / prev.wallMs).toFixed(2)}  rss x${(s.peakRssMb / prev.peakRssMb).toFixed(2)}`
            : "";
        return [`3+${s.workers}`, String(s.resources), (s.wallMs / 1000).toFixed(2), s.peakRssMb.toFixed(0),
            (s.wallMs / s.resources).toFixed(2), growth];
    });
    const head = ["nodes", "resources", "wall s", "peak RSS MB", "ms/resource", "growth vs previous size"];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    for (const r of [head, ...rows]) console.log(r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd());
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args[0] === "--one") {
        process.stdout.write(`${JSON.stringify(await measureOne(Number(args[1])))}\n`);
        return;
    }
    const sizes = (args.length ? args : ["50", "200", "500"]).map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`worker counts must be non-negative integers: ${args.join(" ")}`);
    const samples: Sample[] = [];
    for (const workers of sizes) {
        console.error(`measuring 3 masters + ${workers} workers…`);
        samples.push(runChild(workers));
    }
    console.log(`kubePki() under echo mocks, Node ${process.version}, one child process per size`);
    printTable(samples);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
