/**
 * zod building blocks whose every failure reads "<problem>; <fix>." — the message of one
 * ConfigIssue line. Each field carries its own fix text, so no generic zod wording reaches users.
 */
import { z } from "zod";
import { show } from "./errors";

/** Joins a problem and its fix into one sentence. */
export function sentence(problem: string, fix: string): string {
    return `${problem}; ${fix}.`;
}

type Check<T> = (value: T) => string | undefined;

/** Adds custom checks to a schema: each returns a full message, or undefined when the value is fine. */
function withChecks<S extends z.ZodType>(schema: S, checks: Array<Check<z.output<S>>>): S {
    if (checks.length === 0) return schema;
    return schema.superRefine((value, ctx) => {
        for (const check of checks) {
            const message = check(value as z.output<S>);
            if (message !== undefined) {
                ctx.addIssue({ code: "custom", message });
                return; // the first failing check explains the value; later ones would repeat it
            }
        }
    }) as unknown as S;
}

/** A required string: missing → "is required; <fix>.". */
export function requiredString(fix: string, ...checks: Array<Check<string>>) {
    return withChecks(
        z.string({
            error: (iss) =>
                iss.input === undefined ? sentence("is required", fix) : sentence(`must be a string, got ${show(iss.input)}`, fix),
        }),
        checks,
    );
}

/** An optional string (undefined when absent). */
export function optionalString(fix: string, ...checks: Array<Check<string>>) {
    return withChecks(z.string({ error: (iss) => sentence(`must be a string, got ${show(iss.input)}`, fix) }), checks).optional();
}

/** A string with a default. */
export function stringWithDefault(defaultValue: string, fix: string, ...checks: Array<Check<string>>) {
    return withChecks(z.string({ error: (iss) => sentence(`must be a string, got ${show(iss.input)}`, fix) }), checks).default(defaultValue);
}

// `pulumi config set --path k.n 3` stores "3" as a string; accept it as the number it spells.
function numericText(value: unknown): unknown {
    return typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
}

/** A whole number in [min, max]. */
function wholeNumber(range: { min: number; max?: number }, fix: string) {
    const wanted = range.max === undefined ? `a whole number ≥ ${range.min}` : `a whole number from ${range.min} to ${range.max}`;
    const error = (iss: { input?: unknown }) => sentence(`must be ${wanted}, got ${show(iss.input)}`, fix);
    let schema = z.number({ error }).int({ error }).min(range.min, { error });
    if (range.max !== undefined) schema = schema.max(range.max, { error });
    return z.preprocess(numericText, schema);
}

export function wholeNumberWithDefault(defaultValue: number, range: { min: number; max?: number }, fix: string) {
    return wholeNumber(range, fix).default(defaultValue);
}

export function optionalWholeNumber(range: { min: number; max?: number }, fix: string) {
    return wholeNumber(range, fix).optional();
}

/** A required whole number (used inside maps, e.g. validity overrides). */
export function requiredWholeNumber(range: { min: number; max?: number }, fix: string) {
    return wholeNumber(range, fix);
}

// Same as numericText: `--path` stores booleans as "true"/"false" strings.
function booleanText(value: unknown): unknown {
    return value === "true" ? true : value === "false" ? false : value;
}

export function flagWithDefault(defaultValue: boolean, fix: string) {
    return z
        .preprocess(booleanText, z.boolean({ error: (iss) => sentence(`must be true or false, got ${show(iss.input)}`, fix) }))
        .default(defaultValue);
}

function choice<const T extends readonly [string, ...string[]]>(values: T, problem: string) {
    const list = values.map((v) => `"${v}"`).join(", ");
    return z.enum(values, {
        error: (iss) => sentence(`${show(iss.input)} ${problem}`, `use one of ${list}`),
    });
}

/** One of a few strings, with a default. `problem` words the failure, e.g. "is not supported". */
export function choiceWithDefault<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number], problem = "is not allowed") {
    return choice(values, problem).default(defaultValue as never);
}

/** One of a few strings, required. */
export function requiredChoice<const T extends readonly [string, ...string[]]>(values: T, requiredFix: string, problem = "is not allowed") {
    const list = values.map((v) => `"${v}"`).join(", ");
    return z.enum(values, {
        error: (iss) =>
            iss.input === undefined
                ? sentence("is required", requiredFix)
                : sentence(`${show(iss.input)} ${problem}`, `use one of ${list}`),
    });
}

/** A list of strings, each checked, defaulting to []. */
export function stringListWithDefault(fix: string, ...checks: Array<Check<string>>) {
    return z
        .array(withChecks(z.string({ error: (iss) => sentence(`must be a string, got ${show(iss.input)}`, fix) }), checks), {
            error: (iss) => sentence(`must be a list, got ${show(iss.input)}`, fix),
        })
        .default([]);
}

/**
 * An object that rejects unknown keys (typos would otherwise be silently ignored).
 * The unknown-key message is expanded by the caller into one line per key.
 */
export function section<Shape extends z.ZodRawShape>(shape: Shape, fix: string) {
    const known = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? sentence("unknown key", `valid keys here are ${known}`)
                : iss.input === undefined
                  ? sentence("is required", fix)
                  : sentence(`must be an object (a map of keys), got ${show(iss.input)}`, fix),
    });
}

/** A map from free-form keys to values (validity overrides, layout paths). */
export function mapWithDefault<V extends z.ZodType>(value: V, fix: string) {
    return z
        .record(z.string(), value, { error: (iss) => sentence(`must be a map of keys to values, got ${show(iss.input)}`, fix) })
        .default({} as Record<string, z.output<V>>);
}
