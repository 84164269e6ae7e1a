/**
 * Mocks that really do the work: tls resources generate real keys/certs, commands really run
 * (locally or over SSH). Planning (create/same/update/replace, ignoreChanges, protect, renewal,
 * preview unknowns) follows provider-contract.ts through planned-mocks.ts; with a MockStateStore,
 * repeated runProgram calls behave like repeated `pulumi up`s. Previews execute nothing.
 */
import type { MockStateStore, StoredResource } from "./state-store";
import { toPlain } from "./wire-values";
import { generatePrivateKey } from "./tls-keys";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert } from "./tls-certs";
import { runLocalCommand } from "./local-exec";
import { runRemoteCommand } from "./ssh-exec";
import type { CommandOutcome } from "./command-result";
import { commandScript, copyToRemoteCopies, TYPES } from "./provider-contract";
import { copyToRemote } from "./copy-to-remote";
import { createPlannedMocks, type ExecuteContext, type PlannedMocks } from "./planned-mocks";

export interface ExecutingMocksOptions {
    store: MockStateStore;
    /** Clock for notBefore/notAfter and renewal decisions. */
    now?: () => Date;
    /** Optional bound for one command (dial + run). The provider has none, so the default is none. */
    sshTimeoutMs?: number;
}

export type ExecutingMocks = PlannedMocks;

export function createExecutingMocks(opts: ExecutingMocksOptions): ExecutingMocks {
    const now = opts.now ?? (() => new Date());
    const timeoutMs = opts.sshTimeoutMs;

    function runCommand(type: string, inputs: Record<string, any>, script: string, env: Record<string, string>): Promise<CommandOutcome> {
        const environment = { ...(inputs.environment ?? {}), ...env };
        if (type === TYPES.local) {
            return runLocalCommand({ command: script, stdin: inputs.stdin, environment, dir: inputs.dir, interpreter: inputs.interpreter, timeoutMs });
        }
        if (!inputs.connection?.host) throw new Error("command:remote:Command needs connection.host");
        return runRemoteCommand(inputs.connection, { command: script, stdin: inputs.stdin, environment, timeoutMs });
    }

    /** PULUMI_COMMAND_STDOUT/STDERR from the stored outputs (commandOutputs.go). */
    function previousOutputEnv(inputs: Record<string, any>, old: StoredResource | undefined): Record<string, string> {
        const env: Record<string, string> = {};
        if (!old || inputs.addPreviousOutputInEnv === false) return env;
        const out = toPlain(old.state.stdout) ?? "";
        const err = toPlain(old.state.stderr) ?? "";
        if (out) env.PULUMI_COMMAND_STDOUT = out;
        if (err) env.PULUMI_COMMAND_STDERR = err;
        return env;
    }

    async function execute(ctx: ExecuteContext): Promise<Record<string, any>> {
        const { inputs, op } = ctx;
        switch (ctx.type) {
            case TYPES.privateKey: {
                const { algorithm: _a, ...keys } = await ctx.timed("generate", () => generatePrivateKey(inputs));
                return { ...keys, id: keys.publicKeyFingerprintSha256 };
            }
            case TYPES.selfSigned:
            case TYPES.locallySigned:
                // In place (earlyRenewalHours): the provider writes the plan to state, nothing is issued.
                if (op === "update") return {};
                if (ctx.type === TYPES.selfSigned) return ctx.timed("generate", () => createSelfSignedCert(inputs, ctx.now));
                return ctx.timed("generate", () => createLocallySignedCert(inputs, ctx.now));
            case TYPES.certRequest: return ctx.timed("generate", () => createCertRequest(inputs));
            case TYPES.remote:
            case TYPES.local: {
                const { action, script } = commandScript(op, inputs);
                // Neither script: nothing runs; an update keeps the stored stdout/stderr.
                if (script === undefined) return op === "update" ? {} : { stdout: "", stderr: "" };
                // A create starts with empty outputs; an update sees the stored ones.
                const env = op === "update" ? previousOutputEnv(inputs, ctx.prior) : {};
                return ctx.timed(action, () => runCommand(ctx.type, inputs, script, env));
            }
            case TYPES.copyToRemote: {
                // Update without a new source hash or path copies nothing (copyController.go).
                if (!copyToRemoteCopies(op, ctx.prior?.inputs, inputs)) return {};
                const from = inputs.source?.path;
                if (typeof from !== "string") throw new Error("CopyToRemote mock: source must be a FileArchive or FileAsset path");
                await ctx.timed(op === "update" ? "update" : "create", () => copyToRemote(inputs.connection, from, inputs.remotePath));
                return {};
            }
            default:
                return {};
        }
    }

    return createPlannedMocks({
        store: opts.store,
        now,
        executor: {
            execute,
            async delete(urn, old, timed) {
                if (old.type !== TYPES.remote && old.type !== TYPES.local) return;
                const script = old.inputs.delete;
                if (script === undefined) return;
                await timed("delete", () => runCommand(old.type, old.inputs, script, previousOutputEnv(old.inputs, old)));
            },
        },
    });
}
