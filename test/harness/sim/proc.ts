/**
 * Process helpers for the simulator: run a command with a time bound, and find/kill every
 * process living in a mount namespace we created (that is how a node is torn down without
 * touching anything else on the machine).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";

export interface RunResult {
    stdout: string;
    stderr: string;
    code: number;
}

export interface RunOptions {
    /** Bytes written to the child's stdin (then closed). Use this for secrets, never argv. */
    input?: string | Buffer;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Hard bound; the child's process group is killed when it is exceeded. */
    timeoutMs?: number;
    /** Throw when the exit code is not 0 (default true). */
    check?: boolean;
}

/** Runs `cmd args…` (no shell), bounded in time, and collects its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            stdio: ["pipe", "pipe", "pipe"],
            detached: true, // own process group, so a timeout can kill the whole tree
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            killGroup(child.pid, "SIGKILL");
        }, timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(new Error(`${cmd}: ${e.message}`));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const res: RunResult = {
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
                code: code ?? (signal ? 128 : 1),
            };
            if (timedOut) {
                reject(new Error(`${cmd} ${args.join(" ")}: timed out after ${timeoutMs} ms`));
            } else if ((opts.check ?? true) && res.code !== 0) {
                reject(new Error(`${cmd} ${args.join(" ")}: exit ${res.code}: ${res.stderr.trim()}`));
            } else {
                resolve(res);
            }
        });
        child.stdin.on("error", () => undefined); // the child may exit before reading stdin
        child.stdin.end(opts.input ?? "");
    });
}

/** Sends a signal to a process group we created; a missing group is not an error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
    if (!pid) return;
    try {
        process.kill(-pid, signal);
    } catch {
        /* already gone */
    }
}

/** The mount-namespace identity ("mnt:[4026532…]") of a process, or undefined when it is gone. */
export function mountNamespaceOf(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
        return undefined;
    }
}

/** PIDs of every process whose mount namespace is `ns` (all of them were started by a node). */
export function pidsInMountNamespace(ns: string): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        if (pid === process.pid) continue;
        if (mountNamespaceOf(pid) === ns) pids.push(pid);
    }
    return pids;
}

/** Kills every process in mount namespace `ns` and waits (bounded) until none is left. */
export async function killMountNamespace(ns: string, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    for (const pid of pidsInMountNamespace(ns)) signal(pid, "SIGTERM");
    while (Date.now() < deadline && pidsInMountNamespace(ns).length > 0) await sleep(50);
    const hardDeadline = Date.now() + 5_000;
    let left = pidsInMountNamespace(ns);
    while (left.length > 0 && Date.now() < hardDeadline) {
        for (const pid of left) signal(pid, "SIGKILL");
        await sleep(50);
        left = pidsInMountNamespace(ns);
    }
    if (left.length > 0) throw new Error(`processes still alive in ${ns}: ${left.join(",")}`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(pid, sig);
    } catch {
        /* gone */
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    timeoutMs: number,
    intervalMs = 100,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v) return v;
        } catch (e) {
            lastError = e;
        }
        if (Date.now() > deadline) {
            const why = lastError instanceof Error ? `: ${lastError.message}` : "";
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
        }
        await sleep(intervalMs);
    }
}
