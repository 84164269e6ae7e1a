/**
 * Reads the `kube-pki:*` stack config of the running Pulumi program and hands it to
 * parseClusterSpec. Runs at program start, so preview fails before anything touches a node.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec";
import type { ConfigIssue } from "./errors";
import { CONFIG_NAMESPACE, ConfigError, configKey } from "./errors";
import { sentence } from "./fields";
import type { ConfigEnv, RawConfig } from "./parse";
import { parseClusterSpec, processEnv } from "./parse";
import { CONFIG_KEY_NAMES } from "./schema";
import { OPT_OUT_KEY, hostKeysCommand } from "./host-key-rules";

// Keys whose value is a plain string; every other key is structured (an object or a list).
const STRING_KEYS = new Set(["keyAlgorithm", "sshPrivateKey"]);

/**
 * Collects every `kube-pki:*` value, including unknown keys, so typos are reported.
 *
 * The secret kube-pki:sshPrivateKey is read with `pulumi.runtime.getConfig`, synchronously:
 * the spec needs the key as a plain string (ssh2 and the drift inventory use it at program time),
 * and `Config.getSecret` only yields an Output. `Config.get` would work too, but it is the call
 * Pulumi means to warn about for secret keys (the warning is only commented out, pulumi#7127);
 * runtime.getConfig has no such hook. Downstream code wraps the key in `pulumi.secret` before it
 * reaches any resource input, so it is never stored in plain state.
 */
export function readRawConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): { raw: RawConfig; issues: ConfigIssue[] } {
    const raw: RawConfig = {};
    const issues: ConfigIssue[] = [];
    const prefix = `${CONFIG_NAMESPACE}:`;
    const present = Object.keys(pulumi.runtime.allConfig())
        .filter((full) => full.startsWith(prefix))
        .map((full) => full.slice(prefix.length));
    for (const key of new Set([...CONFIG_KEY_NAMES, ...present])) {
        if (key === "sshPrivateKey") {
            raw[key] = pulumi.runtime.getConfig(`${prefix}${key}`);
        } else if (STRING_KEYS.has(key)) {
            raw[key] = config.get(key);
        } else {
            try {
                raw[key] = config.getObject(key);
            } catch {
                issues.push({ key: configKey([key]), message: sentence("is not valid structured config (JSON/YAML)", "set it as a YAML map or list in the stack file, or with `pulumi config set --path`") });
            }
        }
    }
    return { raw, issues };
}

/** The validated spec of the current stack; throws ConfigError listing every problem. Warns per node that is not pinned. */
export function loadClusterSpec(env: ConfigEnv = { ...processEnv(), stack: pulumi.getStack() }): ClusterSpec {
    const { raw, issues } = readRawConfig();
    let parseIssues: readonly ConfigIssue[] = [];
    let spec: ClusterSpec | undefined;
    try {
        spec = parseClusterSpec(raw, env);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // A key that is not valid JSON was left out of `raw`; its "is required" would only repeat that.
        const broken = new Set(issues.map((i) => i.key));
        parseIssues = err.issues.filter((i) => !broken.has(i.key));
    }
    if (issues.length > 0 || parseIssues.length > 0) throw new ConfigError([...issues, ...parseIssues]);
    for (const warning of unpinnedWarnings(spec!, env.stack)) void pulumi.log.warn(warning);
    return spec!;
}

/** One loud line per SSH node reached without checking its host key (the opt-out is in use). */
export function unpinnedWarnings(spec: ClusterSpec, stack: string | undefined): string[] {
    return spec.nodes
        .filter((n) => n.ssh?.insecureIgnoreHostKey)
        .map((n) =>
            `INSECURE: ${OPT_OUT_KEY} is true and node "${n.name}" has no ssh.hostKey: kube-pki accepts ANY SSH host key at ` +
            `${n.ssh!.host}:${n.ssh!.port} and will push its keys to whoever answers there. Pin it: run ${hostKeysCommand(stack)} ` +
            `and paste the ssh.hostKey it prints.`);
}
