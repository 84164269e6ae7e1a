/**
 * bench/rotation: a full rotation of a seeded 3-master + 1-worker simulated cluster by the real
 * program (executing mocks), timed, while every 100 ms each apiserver is asked for /healthz.
 * Prints the wall time and the longest window in which no apiserver answered.
 *
 *   node bench/run.js bench/rotation.ts       (root, Debian packages as for the live tests)
 */
import * as https from "node:https";
import { kubePki } from "../src/program";
import { createExecutingMocks, MockStateStore, runProgram } from "../test/harness/mocks";
import { SimCluster } from "../test/harness/sim";
import { specFor } from "../test/e2e/sim-spec";

function healthy(ip: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = https.get({ host: ip, port: 6443, path: "/healthz", rejectUnauthorized: false, timeout: 90 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("timeout", () => { req.destroy(); resolve(false); });
        req.on("error", () => resolve(false));
    });
}

async function main(): Promise<void> {
    const sim = await SimCluster.start({ masters: 3, workers: 1, leafExpiresInDays: 10, keyType: "ecdsa-p256" });
    try {
        let probing = true;
        let probes = 0;
        let allDownSince: number | undefined;
        let longestAllDown = 0;
        let perMasterDown = 0;
        const prober = (async () => {
            while (probing) {
                const tick = Date.now();
                const answers = await Promise.all(sim.masters.map((m) => healthy(m.ip)));
                probes++;
                perMasterDown += answers.filter((a) => !a).length;
                if (answers.some(Boolean)) {
                    if (allDownSince !== undefined) longestAllDown = Math.max(longestAllDown, tick - allDownSince);
                    allDownSince = undefined;
                } else {
                    allDownSince ??= tick;
                }
                await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
            }
        })();
        const started = Date.now();
        await runProgram(() => kubePki({ spec: specFor(sim) }), { mocks: createExecutingMocks({ store: new MockStateStore() }), timeoutMs: 600_000 });
        const wall = Date.now() - started;
        probing = false;
        await prober;
        if (allDownSince !== undefined) longestAllDown = Math.max(longestAllDown, Date.now() - allDownSince);
        console.log(`rotation of 3 masters + 1 worker: ${(wall / 1000).toFixed(1)} s wall`);
        console.log(`apiserver probes: ${probes} ticks of 100 ms x 3 masters, ${perMasterDown} single-master misses`);
        console.log(`longest window with no apiserver answering: ${longestAllDown} ms`);
    } finally {
        await sim.stop();
    }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
