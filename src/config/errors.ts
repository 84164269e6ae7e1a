/**
 * Configuration problems, collected rather than thrown one by one, so a single `pulumi preview`
 * shows every mistake in the stack config, each on its own line with the key and the fix.
 */

/** Where a problem is, relative to the `kube-pki` namespace: ["nodes", 2, "address"]. */
export type ConfigPath = ReadonlyArray<PropertyKey>;

export interface ConfigIssue {
    /** Full config key in Pulumi's `--path` syntax, e.g. `kube-pki:nodes[2].address`. */
    key: string;
    /** What is wrong and how to fix it. Never contains secret values. */
    message: string;
}

export const CONFIG_NAMESPACE = "kube-pki";

// Segments Pulumi's `config set --path` accepts after a dot; anything else needs ["..."].
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** ["nodes", 2, "address"] → `kube-pki:nodes[2].address`; ["layout", "paths", "ca.crt"] → `kube-pki:layout.paths["ca.crt"]`. */
export function configKey(path: ConfigPath): string {
    let key = CONFIG_NAMESPACE + ":";
    path.forEach((segment, index) => {
        if (typeof segment === "number") key += `[${segment}]`;
        else if (index === 0) key += String(segment);
        else if (PLAIN_SEGMENT.test(String(segment))) key += `.${String(segment)}`;
        else key += `[${JSON.stringify(String(segment))}]`;
    });
    return key;
}

/** Thrown at program start (preview included) when the stack config is not usable. Lists every problem. */
export class ConfigError extends Error {
    readonly issues: readonly ConfigIssue[];

    constructor(issues: readonly ConfigIssue[]) {
        const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
        super(`Invalid kube-pki stack configuration (${count}):\n` + issues.map((i) => `  ${i.key}: ${i.message}`).join("\n"));
        this.name = "ConfigError";
        this.issues = issues;
    }

    /** One "key: message" line per problem, in the order they were found. */
    get lines(): string[] {
        return this.issues.map((i) => `${i.key}: ${i.message}`);
    }
}

/** Renders a config value for a message: strings quoted, objects/lists by kind (never their content). */
export function show(value: unknown): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    return JSON.stringify(value);
}
