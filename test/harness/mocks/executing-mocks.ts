/**
 * Mocks that really do the work: tls resources generate real keys/certs, commands really run
 * (locally or over SSH). With a MockStateStore, repeated runProgram calls behave like repeated
 * `pulumi up`s: unchanged inputs → stored outputs, nothing executed; changed inputs → tls
 * replacement, command replacement (triggers) or update; certificates due for renewal are
 * reissued; failed resources are not stored. Previews execute nothing: new or changed resources
 * return only their inputs, so their outputs are unknown (the SDK marks missing outputs unknown
 * during previews).
 */
import type { MockCallArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedResourceArgs, RunAwareMocks } from "./records";
import { MockStateStore, emptyReport, type Operation, type RunReport, type StoredResource } from "./state-store";
import { containsUnknown, deepEqualPlain, toPlain } from "./wire-values";
import { generatePrivateKey } from "./tls-keys";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert, isReadyForRenewal } from "./tls-certs";
import { runLocalCommand } from "./local-exec";
import { runRemoteCommand } from "./ssh-exec";
import type { CommandOutcome } from "./command-result";

export interface ExecutingMocksOptions {
    store: MockStateStore;
    /** Clock for notBefore/notAfter and renewal decisions. */
    now?: () => Date;
    /** Bound for one command (dial + run). Default 120 s. */
    sshTimeoutMs?: number;
}

export interface ExecutingMocks extends RunAwareMocks {
    readonly store: MockStateStore;
}

const T = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
    remote: "command:remote:Command",
    local: "command:local:Command",
} as const;

const CERT_TYPES = new Set<string>([T.selfSigned, T.locallySigned]);
const TLS_TYPES = new Set<string>([T.privateKey, T.selfSigned, T.certRequest, T.locallySigned]);
const COMMAND_TYPES = new Set<string>([T.remote, T.local]);

export function createExecutingMocks(opts: ExecutingMocksOptions): ExecutingMocks {
    const store = opts.store;
    const now = opts.now ?? (() => new Date());
    const timeoutMs = opts.sshTimeoutMs ?? 120_000;
    let report: RunReport = emptyReport(false);
    /** Old states of replaced commands, whose `delete` runs after the replacement was created. */
    let replacedCommands: { urn: string; old: StoredResource }[] = [];

    function note(urn: string, op: Operation): void {
        report.operations[urn] = op;
        const list = { create: report.created, update: report.updated, replace: report.replaced, same: report.unchanged, delete: report.deleted, failed: report.failed }[op];
        list.push(urn);
    }

    async function timed<T>(urn: string, action: "create" | "update" | "delete" | "generate", work: () => Promise<T>): Promise<T> {
        const startedAt = Date.now();
        try {
            const result = await work();
            report.executions.push({ urn, action, startedAt, finishedAt: Date.now(), ok: true });
            return result;
        } catch (err) {
            report.executions.push({ urn, action, startedAt, finishedAt: Date.now(), ok: false });
            throw err;
        }
    }

    function plan(args: RecordedResourceArgs, prior: StoredResource | undefined, inputs: Record<string, any>): Operation {
        if (!prior || prior.type !== args.type) return prior ? "replace" : "create";
        const unknown = containsUnknown(args.inputs);
        if (!unknown && deepEqualPlain(prior.inputs, inputs)) {
            const due = CERT_TYPES.has(args.type) &&
                isReadyForRenewal(String(toPlain(prior.state.validityEndTime) ?? ""), prior.inputs.earlyRenewalHours, now());
            return due ? "replace" : "same";
        }
        if (TLS_TYPES.has(args.type)) return "replace";
        if (COMMAND_TYPES.has(args.type)) {
            const triggersChanged = containsUnknown(args.inputs.triggers) || !deepEqualPlain(prior.inputs.triggers ?? null, inputs.triggers ?? null);
            return triggersChanged ? "replace" : "update";
        }
        return "update";
    }

    async function runCommand(type: string, inputs: Record<string, any>, script: string, env: Record<string, string>): Promise<CommandOutcome> {
        const environment = { ...(inputs.environment ?? {}), ...env };
        if (type === T.local) {
            return runLocalCommand({ command: script, stdin: inputs.stdin, environment, dir: inputs.dir, interpreter: inputs.interpreter, timeoutMs });
        }
        if (!inputs.connection?.host) throw new Error("command:remote:Command needs connection.host");
        return runRemoteCommand(inputs.connection, { command: script, stdin: inputs.stdin, environment, timeoutMs });
    }

    async function execute(args: RecordedResourceArgs, op: Operation, prior: StoredResource | undefined, inputs: Record<string, any>): Promise<Record<string, any>> {
        const at = now();
        switch (args.type) {
            case T.privateKey: {
                const { algorithm: _a, ...keys } = await timed(args.urn, "generate", async () => generatePrivateKey(inputs));
                return { ...keys, id: keys.publicKeyFingerprintSha256 };
            }
            case T.selfSigned: return timed(args.urn, "generate", () => createSelfSignedCert(inputs, at));
            case T.certRequest: return timed(args.urn, "generate", () => createCertRequest(inputs));
            case T.locallySigned: return timed(args.urn, "generate", () => createLocallySignedCert(inputs, at));
            case T.remote:
            case T.local: {
                const update = op === "update";
                const script: string | undefined = update ? (inputs.update ?? inputs.create) : inputs.create;
                if (script === undefined) return { stdout: "", stderr: "" };
                const env: Record<string, string> = {};
                if (update && inputs.addPreviousOutputInEnv !== false && prior) {
                    const prevOut = toPlain(prior.state.stdout) ?? "";
                    const prevErr = toPlain(prior.state.stderr) ?? "";
                    if (prevOut) env.PULUMI_COMMAND_STDOUT = prevOut;
                    if (prevErr) env.PULUMI_COMMAND_STDERR = prevErr;
                }
                return timed(args.urn, update ? "update" : "create", () => runCommand(args.type, inputs, script, env));
            }
            default:
                return {};
        }
    }

    async function runDelete(urn: string, old: StoredResource): Promise<void> {
        const inputs = old.inputs;
        if (!COMMAND_TYPES.has(old.type) || inputs.delete === undefined) return;
        const env: Record<string, string> = {};
        if (inputs.addPreviousOutputInEnv !== false) {
            const prevOut = toPlain(old.state.stdout) ?? "";
            const prevErr = toPlain(old.state.stderr) ?? "";
            if (prevOut) env.PULUMI_COMMAND_STDOUT = prevOut;
            if (prevErr) env.PULUMI_COMMAND_STDERR = prevErr;
        }
        await timed(urn, "delete", () => runCommand(old.type, inputs, inputs.delete, env));
    }

    return {
        store,
        beginRun({ preview }) {
            report = emptyReport(preview);
            replacedCommands = [];
            store.lastRun = report;
        },
        async endRun({ preview, registeredUrns, failed }) {
            if (preview) return;
            // Old halves of replacements go after the new ones were created (create-before-delete).
            for (const { urn, old } of replacedCommands) await runDelete(urn, old);
            if (!failed) {
                // Like the engine: resources no longer in the program are deleted at the end.
                const seen = new Set(registeredUrns);
                for (const urn of store.urns()) {
                    if (seen.has(urn)) continue;
                    const old = store.get(urn)!;
                    await runDelete(urn, old);
                    store.delete(urn);
                    note(urn, "delete");
                }
            }
            store.save();
        },
        async newResource(rawArgs): Promise<MockResourceResult> {
            const args = rawArgs as RecordedResourceArgs;
            if (args.custom === false) return { id: undefined, state: {} };
            const urn = args.urn ?? `${args.type}::${args.name}`;
            const prior = store.get(urn);
            const inputs = toPlain(args.inputs) as Record<string, any>;
            const op = plan({ ...args, urn }, prior, inputs);
            if (op === "same") {
                note(urn, "same");
                return { id: prior!.id, state: prior!.state };
            }
            if (args.preview) {
                note(urn, op);
                // Outputs left out → unknown during preview, as the engine reports planned changes.
                return { id: prior?.id, state: { ...args.inputs } };
            }
            try {
                const outputs = await execute({ ...args, urn }, op, prior, inputs);
                const { id: outId, ...rest } = outputs;
                const id = String(outId ?? `${args.name}-${Date.now().toString(36)}`);
                const state = { ...args.inputs, ...rest };
                store.put(urn, { type: args.type, id, inputs, state });
                if (op === "replace" && prior && COMMAND_TYPES.has(prior.type)) replacedCommands.push({ urn, old: prior });
                note(urn, op);
                return { id, state };
            } catch (err) {
                note(urn, "failed");
                throw err;
            }
        },
        call(args: MockCallArgs): Record<string, any> {
            throw new Error(`Mock not implemented: ${args.token}`);
        },
    };
}
