import { utils } from "ssh2";
import { expect } from "vitest";
import type { ConfigEnv, RawConfig } from "../../src/config";
import { ConfigError, parseClusterSpec } from "../../src/config";

/** A real, freshly generated OpenSSH private key (ssh2 must accept it, as it will at login). */
export const realPrivateKey = utils.generateKeyPairSync("ed25519").private;
export const realPublicKey = utils.generateKeyPairSync("ed25519").public;

/** An env whose file system is the given map; other paths fail like fs.readFileSync does. */
export function fakeEnv(files: Record<string, string> = {}, home = "/home/op", cwd = "/srv/kube-pki"): ConfigEnv & { reads: string[] } {
    const reads: string[] = [];
    return {
        reads,
        cwd,
        home,
        readFile(path: string) {
            reads.push(path);
            if (path in files) return files[path];
            throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
        },
    };
}

/** The smallest valid config: one SSH master with its key as a secret. */
export function minimalConfig(): RawConfig {
    return {
        cluster: { name: "lab", kubernetesVersion: "1.30.4" },
        nodes: [{ name: "master-1", role: "master", address: "10.0.0.11" }],
        sshPrivateKey: realPrivateKey,
    };
}

/** The "key: message" lines of the ConfigError that parsing `raw` must throw. */
export function problems(raw: RawConfig, env: ConfigEnv = fakeEnv()): string[] {
    try {
        parseClusterSpec(raw, env);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).lines;
    }
    throw new Error("expected a ConfigError, but the config was accepted");
}

/** minimalConfig with `patch` applied per top-level key (shallow within each key). */
export function withConfig(patch: RawConfig): RawConfig {
    const base = minimalConfig();
    const merged: RawConfig = { ...base };
    for (const [key, value] of Object.entries(patch)) {
        const current = base[key];
        merged[key] =
            value !== undefined && typeof value === "object" && !Array.isArray(value) && typeof current === "object" && current !== null && !Array.isArray(current)
                ? { ...current, ...value }
                : value;
    }
    return merged;
}
