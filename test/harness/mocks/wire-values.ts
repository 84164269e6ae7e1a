/**
 * Values as the mock monitor sees them: secrets arrive as `{<sigKey>: <secretSig>, value}` wrappers
 * (nested anywhere) and, during previews, unknowns as the SDK's `unknown` marker. These helpers
 * turn such values into plain data for records and comparisons, and wrap outputs as secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";

/** What an unknown (computed during preview) value looks like in recorded plain data. */
export const UNKNOWN = "<unknown>";

export function isSecretWrapper(value: unknown): value is { value: unknown } {
    return rpc.isRpcSecret(value);
}

export function wrapSecret<T>(value: T): { value: T } {
    if (isSecretWrapper(value)) return value as any;
    return { [rpc.specialSigKey]: rpc.specialSecretSig, value } as any;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Deep copy without secret wrappers; unknowns (wire sentinel or SDK marker) become {@link UNKNOWN}. */
export function toPlain(value: unknown): any {
    if (value === rpc.unknownValue || pulumi.isUnknown(value)) return UNKNOWN;
    if (isSecretWrapper(value)) return toPlain(value.value);
    if (Array.isArray(value)) return value.map(toPlain);
    if (isPlainObject(value)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            if (v !== undefined) out[k] = toPlain(v);
        }
        return out;
    }
    return value;
}

export function containsSecret(value: unknown): boolean {
    if (isSecretWrapper(value)) return true;
    if (Array.isArray(value)) return value.some(containsSecret);
    if (isPlainObject(value)) return Object.values(value).some(containsSecret);
    return false;
}

export function containsUnknown(value: unknown): boolean {
    if (value === rpc.unknownValue || pulumi.isUnknown(value)) return true;
    if (isSecretWrapper(value)) return containsUnknown(value.value);
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (isPlainObject(value)) return Object.values(value).some(containsUnknown);
    return false;
}

/** Top-level keys whose value is, or contains, a secret. */
export function secretKeys(props: Record<string, unknown>): string[] {
    return Object.keys(props).filter((k) => containsSecret(props[k])).sort();
}

/** Order-insensitive for object keys, order-sensitive for arrays; secrets compared by value. */
export function deepEqualPlain(a: unknown, b: unknown): boolean {
    return stableJson(toPlain(a)) === stableJson(toPlain(b));
}

export function stableJson(value: unknown): string {
    return JSON.stringify(value, (_k, v) =>
        isPlainObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v);
}
