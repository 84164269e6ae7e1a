/**
 * Runs a Pulumi program function against mocks, like one `pulumi up` (or `preview`):
 * installs the mocks and config first, waits until every registration has finished,
 * resolves the program's outputs (deeply, with secrecy) and returns a record of every resource.
 *
 * Module-cache caveat: config is set before `program` is called, so a program that reads
 * `new pulumi.Config()` inside the function sees it. A module that reads config at import
 * time must be imported inside `program` after `vi.resetModules()`.
 */
import * as pulumi from "@pulumi/pulumi";
import { createEchoMocks } from "./echo-mocks";
import { RecordingMonitor } from "./recording-monitor";
// Internal runtime modules (not in the .d.ts): the store holding the monitor, and the RPC drain.
const state: { getStore(): any } = require("@pulumi/pulumi/runtime/state");
const settings: { waitForRPCs(): Promise<void> } = require("@pulumi/pulumi/runtime/settings");
import type { ProgramOutput, ResourceRecord, RunAwareMocks, RunResult } from "./records";

export interface RunProgramOptions {
    project?: string;
    stack?: string;
    preview?: boolean;
    /** Keys like "kube-pki:nodes"; non-strings are JSON-encoded as Pulumi does for structured config. */
    config?: Record<string, unknown>;
    secretConfigKeys?: string[];
    mocks: "echo" | RunAwareMocks;
    /** Upper bound for the whole run (registrations + outputs). Default 120 s. */
    timeoutMs?: number;
}

type Program = () => Promise<Record<string, any> | void> | Record<string, any> | void;

/** Thrown when a resource failed or the program threw; `result` holds what was recorded. */
export class ProgramRunError extends Error {
    constructor(message: string, readonly result: RunResult, readonly cause?: unknown) {
        super(message);
        this.name = "ProgramRunError";
    }
}

// Only one run at a time: the Pulumi runtime keeps its state in a process-wide store.
let running: Promise<unknown> = Promise.resolve();

export function runProgram(program: Program, opts: RunProgramOptions): Promise<RunResult> {
    const next = running.then(() => runOnce(program, opts));
    running = next.catch(() => undefined);
    return next;
}

async function runOnce(program: Program, opts: RunProgramOptions): Promise<RunResult> {
    const preview = opts.preview ?? false;
    const project = opts.project ?? "kube-pki";
    const stack = opts.stack ?? "test";
    const mocks: RunAwareMocks = opts.mocks === "echo" ? createEchoMocks() : opts.mocks;
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);

    await pulumi.runtime.setMocks(mocks, project, stack, preview);
    const monitor = new RecordingMonitor(mocks, preview);
    // setMocks installed a stock MockMonitor; swap in the recording one (same store slot).
    state.getStore().settings.monitor = monitor;
    pulumi.runtime.setAllConfig(encodeConfig(opts.config ?? {}), opts.secretConfigKeys ?? []);
    mocks.beginRun?.({ preview });

    let programError: unknown;
    let outputs: Record<string, ProgramOutput> = {};
    // Errors of outputs nobody awaits surface as unhandled rejections; collect them for this run.
    const stray: unknown[] = [];
    const onRejection = (reason: unknown) => { stray.push(reason); };
    process.on("unhandledRejection", onRejection);
    try {
        try {
            const returned = (await program()) ?? {};
            await settle(monitor, deadline, () => stray.length > 0);
            // Outputs downstream of a failed resource never resolve; the run has failed anyway.
            if (monitor.failures.length === 0 && stray.length === 0) {
                outputs = await resolveOutputs(returned);
                await settle(monitor, deadline, () => stray.length > 0);
            }
        } catch (err) {
            programError = err;
            await settle(monitor, deadline, () => true).catch(() => undefined);
        }
        await new Promise((r) => setImmediate(r));
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    const strayLines = [...new Set(stray.map(errorText))];
    const failed = programError !== undefined || monitor.failures.length > 0 || strayLines.length > 0;
    try {
        await mocks.endRun?.({ preview, registeredUrns: monitor.records.filter((r) => !r.error).map((r) => r.urn), failed });
    } catch (err) {
        // Deletes at the end of the run (removed or replaced resources) failed: the run fails.
        strayLines.push(errorText(err));
    }

    const result = buildResult(monitor, outputs);
    if (failed || strayLines.length > 0) {
        const lines = monitor.failures.map((f) => `${f.urn}: ${f.message}`);
        if (programError !== undefined && !isRegistrationEcho(programError, monitor)) {
            lines.unshift(`program: ${errorText(programError)}`);
        }
        lines.push(...strayLines);
        throw new ProgramRunError(`program run failed:\n${lines.join("\n")}`, result, programError ?? stray[0]);
    }
    return result;
}

function encodeConfig(config: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
}

/** Waits until no registration is pending in the SDK or inside the mocks, twice in a row. */
async function settle(monitor: RecordingMonitor, deadline: number, failed: () => boolean = () => false): Promise<void> {
    let quietRounds = 0;
    while (quietRounds < 2) {
        if (Date.now() > deadline) throw new Error(`runProgram: resources still registering at the deadline (${monitor.inFlight} in flight)`);
        const before = monitor.activity;
        // After a failed registration the SDK never settles the RPCs of resources that depend on
        // it; the engine would end the update there. So once something failed, stop waiting for
        // the SDK and only wait until the mocks are idle.
        const sleep = () => new Promise<string>((r) => setTimeout(() => r("tick"), 250));
        if (monitor.failures.length > 0 || failed()) {
            await sleep();
        } else {
            const rpcs = settings.waitForRPCs().then(() => "done");
            while ((await Promise.race([rpcs, sleep()])) === "tick" && monitor.failures.length === 0 && !failed()) {
                if (Date.now() > deadline) throw new Error(`runProgram: resources still registering at the deadline (${monitor.inFlight} in flight)`);
            }
        }
        await new Promise((r) => setImmediate(r));
        quietRounds = monitor.inFlight === 0 && monitor.activity === before ? quietRounds + 1 : 0;
    }
}

async function resolveOutputs(returned: Record<string, any>): Promise<Record<string, ProgramOutput>> {
    const out: Record<string, ProgramOutput> = {};
    for (const [key, raw] of Object.entries(returned)) {
        // A module's exports may carry helpers next to its outputs (e.g. `() => require("../src/index")`).
        if (typeof raw === "function") continue;
        const o: any = pulumi.output(raw);
        const [value, known, secret] = await Promise.all([o.promise(true), o.isKnown, o.isSecret]);
        out[key] = { value: pulumi.isUnknown(value) ? undefined : value, known, secret };
    }
    return out;
}

function buildResult(monitor: RecordingMonitor, outputs: Record<string, ProgramOutput>): RunResult {
    const resources = [...monitor.records];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    return {
        resources, byUrn, outputs,
        order: resources.map((r) => r.urn),
        failures: [...monitor.failures],
        get(name: string, type?: string): ResourceRecord {
            const found = resources.find((r) => r.name === name && (type === undefined || r.type === type));
            if (!found) throw new Error(`no resource named ${name}${type ? ` of type ${type}` : ""}; have: ${resources.map((r) => r.name).join(", ")}`);
            return found;
        },
        ofType: (type: string) => resources.filter((r) => r.type === type),
    };
}

/** The SDK rethrows a failed registration as "failed to register new resource …"; that is already listed. */
function isRegistrationEcho(err: unknown, monitor: RecordingMonitor): boolean {
    return monitor.failures.length > 0 && /failed to register new resource/.test(errorText(err));
}

function errorText(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
