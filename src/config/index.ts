/**
 * Stack configuration → validated ClusterSpec. Entry point: `loadClusterSpec()` in the program,
 * `parseClusterSpec(raw, env)` where the raw values come from elsewhere (CLI, tests).
 */
export { ConfigError, configKey } from "./errors";
export type { ConfigIssue } from "./errors";
export { parseClusterSpec, parseSshEndpoints, processEnv, DEFAULT_SSH_PORT, DEFAULT_SSH_USER } from "./parse";
export type { ConfigEnv, RawConfig, SshEndpoint } from "./parse";
export { loadClusterSpec, readRawConfig, unpinnedWarnings } from "./pulumi-config";
export { KEY_ALGORITHMS, CONFIG_KEY_NAMES } from "./schema";
