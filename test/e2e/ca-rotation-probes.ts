/**
 * Background probes for CA rotation runs (test/e2e/ca-rotation-*.live.test.ts, bench/ca-rotation.ts):
 * every ~150 ms an etcd quorum write through the real etcd (etcdctl, with the client identities
 * valid for the trust of the moment), and every 100 ms /healthz of every apiserver stand-in. Records
 * every failed quorum write and the windows in which no apiserver answered, per phase label.
 * No vitest here: the bench imports it.
 */
import * as https from "node:https";
import type { SimCluster } from "../harness/sim";
import { quorumWrite } from "./sim-spec";

/** Host paths of an etcd client identity; `ca` verifies the servers (may hold several CAs). */
export interface EtcdClient { ca: string; cert: string; key: string; label: string }

export interface PhaseStats {
    phase: string;
    startedAt: number;
    endedAt?: number;
    quorumProbes: number;
    quorumFailures: string[];
    /** Longest time from a failed quorum write to the next successful one (ms). */
    longestQuorumGap: number;
    apiTicks: number;
    singleMasterMisses: number;
    /** Longest window in which no apiserver answered /healthz (ms). */
    longestAllDown: number;
}

/** /healthz answered 200 within `timeoutMs` (TLS not verified: answering is what is judged here). */
export function apiserverAnswers(ip: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
        const req = https.get({ host: ip, port: 6443, path: "/healthz", rejectUnauthorized: false, timeout: timeoutMs, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("timeout", () => { req.destroy(); resolve(false); });
        req.on("error", () => resolve(false));
    });
}

export class RotationProbes {
    /** Identities every quorum probe writes with (each must reach a quorum); set per phase. */
    etcdClients: EtcdClient[] = [];
    readonly phases: PhaseStats[] = [];
    private running = false;
    private loops: Promise<void>[] = [];
    private allDownSince: number | undefined;
    private quorumFailingSince: number | undefined;

    constructor(private readonly sim: SimCluster, private readonly opts: { etcd: boolean; apiserver: boolean; apiTimeoutMs?: number }) {}

    get current(): PhaseStats {
        return this.phases[this.phases.length - 1];
    }

    /** Starts a new phase label (the stats of the one before are closed). */
    phase(name: string): void {
        const now = Date.now();
        if (this.phases.length) this.close(now);
        this.phases.push({ phase: name, startedAt: now, quorumProbes: 0, quorumFailures: [], longestQuorumGap: 0, apiTicks: 0, singleMasterMisses: 0, longestAllDown: 0 });
    }

    start(phase: string): void {
        this.phase(phase);
        this.running = true;
        if (this.opts.etcd) this.loops.push(this.etcdLoop());
        if (this.opts.apiserver) this.loops.push(this.apiLoop());
    }

    async stop(): Promise<void> {
        this.running = false;
        await Promise.all(this.loops);
        this.close(Date.now());
    }

    /** Every failure of every phase, and the longest windows over all phases. */
    summary(): { quorumProbes: number; quorumFailures: string[]; longestQuorumGap: number; apiTicks: number; longestAllDown: number } {
        return {
            quorumProbes: this.phases.reduce((n, p) => n + p.quorumProbes, 0),
            quorumFailures: this.phases.flatMap((p) => p.quorumFailures.map((f) => `[${p.phase}] ${f}`)),
            longestQuorumGap: Math.max(0, ...this.phases.map((p) => p.longestQuorumGap)),
            apiTicks: this.phases.reduce((n, p) => n + p.apiTicks, 0),
            longestAllDown: Math.max(0, ...this.phases.map((p) => p.longestAllDown)),
        };
    }

    private close(now: number): void {
        const p = this.current;
        if (!p || p.endedAt !== undefined) return;
        // An open window is counted up to now, then carried on into the next phase.
        if (this.allDownSince !== undefined) p.longestAllDown = Math.max(p.longestAllDown, now - this.allDownSince);
        if (this.quorumFailingSince !== undefined) p.longestQuorumGap = Math.max(p.longestQuorumGap, now - this.quorumFailingSince);
        p.endedAt = now;
    }

    private async etcdLoop(): Promise<void> {
        let n = 0;
        while (this.running) {
            const tick = Date.now();
            const clients = this.etcdClients;
            // Every identity valid now must reach a quorum; the tick fails when any does not.
            const failures = (await Promise.all(clients.map(async (c) => {
                const f = await quorumWrite(this.sim, c, `${++n}`);
                return f ? `${c.label}: ${f}` : undefined;
            }))).filter((f): f is string => f !== undefined);
            const p = this.current;
            p.quorumProbes++;
            if (failures.length) {
                p.quorumFailures.push(`${new Date(tick).toISOString()} ${failures.join(" || ")}`);
                this.quorumFailingSince ??= tick;
            } else if (this.quorumFailingSince !== undefined) {
                p.longestQuorumGap = Math.max(p.longestQuorumGap, Date.now() - this.quorumFailingSince);
                this.quorumFailingSince = undefined;
            }
            await sleep(Math.max(20, 150 - (Date.now() - tick)));
        }
    }

    private async apiLoop(): Promise<void> {
        const timeout = this.opts.apiTimeoutMs ?? 1000;
        while (this.running) {
            const tick = Date.now();
            const answers = await Promise.all(this.sim.masters.map((m) => apiserverAnswers(m.ip, timeout)));
            const p = this.current;
            p.apiTicks++;
            p.singleMasterMisses += answers.filter((a) => !a).length;
            if (answers.some(Boolean)) {
                if (this.allDownSince !== undefined) p.longestAllDown = Math.max(p.longestAllDown, tick - this.allDownSince);
                this.allDownSince = undefined;
            } else {
                this.allDownSince ??= tick;
            }
            await sleep(Math.max(0, 100 - (Date.now() - tick)));
        }
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
