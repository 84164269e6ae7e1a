/**
 * The engine loop both mock flavours share: plan each registration against the state store
 * with provider-contract.ts, report it, and hand creates/updates/replacements/deletes to an
 * executor (fake outputs for the echo mocks, real keys and commands for the executing mocks).
 * Repeated runs over one store behave like successive `pulumi up`s.
 */
import type { MockCallArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedResourceArgs, RunAwareMocks } from "./records";
import { MockStateStore, emptyReport, type ExecutionEvent, type Operation, type RunReport, type StoredResource } from "./state-store";
import { containsSecret, stableJson, toPlain, wrapSecret } from "./wire-values";
import { resolveAssets } from "./assets";
import { planResource, previewState, protectedDeleteMessage, type Plan } from "./provider-contract";

export interface ExecuteContext {
    urn: string;
    type: string;
    name: string;
    op: "create" | "update" | "replace";
    plan: Plan;
    prior: StoredResource | undefined;
    /** Plain inputs the provider gets (ignoreChanges applied). */
    inputs: Record<string, any>;
    now: Date;
    /** Records the work in the run report's executions. */
    timed<T>(action: ExecutionEvent["action"], work: () => Promise<T> | T): Promise<T>;
}

export interface Executor {
    /** Outputs of the create/update/replace (an `id` key becomes the resource id). */
    execute(ctx: ExecuteContext): Promise<Record<string, any>>;
    /** The provider's delete (on removal, and for the old half of a replacement). */
    delete?(urn: string, old: StoredResource, timed: ExecuteContext["timed"]): Promise<void>;
}

export interface PlannedMocks extends RunAwareMocks {
    /** Undefined for stateless mocks (every run starts from an empty stack). */
    readonly store: MockStateStore;
}

export function createPlannedMocks(opts: { store?: MockStateStore; now: () => Date; executor: Executor }): PlannedMocks {
    const persistent = opts.store;
    let store = persistent ?? new MockStateStore();
    let report: RunReport = emptyReport(false);
    let replaced: { urn: string; old: StoredResource }[] = [];

    function note(urn: string, op: Operation): void {
        report.operations[urn] = op;
        ({ create: report.created, update: report.updated, replace: report.replaced, same: report.unchanged, delete: report.deleted, failed: report.failed }[op]).push(urn);
    }

    const timedFor = (urn: string) => async <T>(action: ExecutionEvent["action"], work: () => Promise<T> | T): Promise<T> => {
        const startedAt = Date.now();
        try {
            const result = await work();
            report.executions.push({ urn, action, startedAt, finishedAt: Date.now(), ok: true });
            return result;
        } catch (err) {
            report.executions.push({ urn, action, startedAt, finishedAt: Date.now(), ok: false });
            throw err;
        }
    };

    async function runDelete(urn: string, old: StoredResource): Promise<void> {
        // The engine skips the provider's delete for a resource stored with retainOnDelete (engine.retainOnDelete).
        if (old.retainOnDelete) return;
        await opts.executor.delete?.(urn, old, timedFor(urn));
    }

    return {
        get store() { return store; },
        beginRun({ preview }) {
            if (!persistent) store = new MockStateStore();
            report = emptyReport(preview);
            replaced = [];
            store.lastRun = report;
        },
        async endRun({ preview, registeredUrns, failed }) {
            const errors: string[] = [];
            if (!preview) {
                // Old halves of create-before-delete replacements go last.
                for (const { urn, old } of replaced) {
                    await runDelete(urn, old).catch((e) => { errors.push(`${urn}: ${(e as Error).message}`); });
                }
            }
            if (!failed) {
                // Like the engine: resources no longer in the program are deleted at the end.
                const seen = new Set(registeredUrns);
                for (const urn of store.urns()) {
                    if (seen.has(urn)) continue;
                    const old = store.get(urn)!;
                    if (old.protect) { errors.push(`${urn}: ${protectedDeleteMessage(urn)}`); continue; }
                    if (!preview) {
                        try {
                            await runDelete(urn, old);
                        } catch (e) {
                            errors.push(`${urn}: ${(e as Error).message}`);
                            continue;
                        }
                        store.delete(urn);
                    }
                    note(urn, "delete");
                }
            }
            if (!preview) store.save();
            if (errors.length > 0) throw new Error(errors.join("\n"));
        },
        async newResource(rawArgs): Promise<MockResourceResult> {
            const received = rawArgs as RecordedResourceArgs;
            if (received.custom === false) return { id: undefined, state: {} };
            // Archives/assets as the engine diffs them: path (or text) plus a content hash.
            const args = { ...received, inputs: await resolveAssets(received.inputs) } as RecordedResourceArgs;
            const urn = args.urn ?? `${args.type}::${args.name}`;
            const prior = store.get(urn);
            let plan: Plan;
            try {
                plan = planResource(prior, {
                    urn, type: args.type, inputs: toPlain(args.inputs), ignoreChanges: args.ignoreChanges, protect: args.protect,
                }, opts.now());
            } catch (err) {
                note(urn, "failed");
                throw err;
            }
            const raw = effectiveRawInputs(args.inputs, plan.inputs, prior);
            if (plan.op === "same") {
                note(urn, "same");
                // The engine stores the options of a "same" step too.
                const options = { protect: args.protect ?? false, retainOnDelete: args.retainOnDelete ?? false };
                if (!args.preview && (prior!.protect !== options.protect || (prior!.retainOnDelete ?? false) !== options.retainOnDelete)) store.put(urn, { ...prior!, ...options });
                return { id: prior!.id, state: prior!.state };
            }
            if (args.preview) {
                note(urn, plan.op);
                // Keys left out are unknown to the program, as the engine reports planned changes.
                return { id: prior?.id, state: previewState(plan, prior, raw) };
            }
            const op = plan.op;
            try {
                if (op === "replace" && prior && args.deleteBeforeReplace) {
                    await runDelete(urn, prior);
                    store.delete(urn);
                }
                const outputs = await opts.executor.execute({
                    urn, type: args.type, name: args.name, op, plan, prior, inputs: plan.inputs, now: opts.now(), timed: timedFor(urn),
                });
                const { id: outId, ...rest } = outputs;
                const id = String(outId ?? (op === "update" ? prior!.id : `${args.name}-${Date.now().toString(36)}`));
                const state = op === "update" ? { ...prior!.state, ...raw, ...rest } : { ...raw, ...rest };
                store.put(urn, { type: args.type, id, inputs: plan.inputs, state, protect: args.protect ?? false, retainOnDelete: args.retainOnDelete ?? false });
                if (op === "replace" && prior && !args.deleteBeforeReplace) replaced.push({ urn, old: prior });
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

/** The wire inputs with ignoreChanges applied (old values back, secrecy kept). */
function effectiveRawInputs(raw: Record<string, any>, planned: Record<string, any>, prior: StoredResource | undefined): Record<string, any> {
    const out: Record<string, any> = { ...raw };
    for (const k of new Set([...Object.keys(raw), ...Object.keys(planned)])) {
        if (stableJson(toPlain(raw[k])) === stableJson(planned[k])) continue;
        if (!(k in planned)) { delete out[k]; continue; }
        const secret = containsSecret(raw[k]) || containsSecret(prior?.state[k]);
        out[k] = secret ? wrapSecret(planned[k]) : planned[k];
    }
    return out;
}
