import { expect } from "vitest";
import type { ConfigEnv, RawConfig } from "../../src/config";
import { ConfigError, parseClusterSpec } from "../../src/config";
import { generatePrivateKey } from "../harness/mocks/tls-keys";

// Keys come from node:crypto in OpenSSH form (tls-keys, checked against ssh-keygen), not from
// ssh2's generateKeyPairSync: ssh2 1.17 drops a leading zero byte of an ed25519 public key
// (about 1 key in 256), and its own parser then calls the key malformed — a flaky CI failure.
const loginKey = generatePrivateKey({ algorithm: "ED25519" });

/** A real, freshly generated OpenSSH private key (ssh2 must accept it, as it will at login). */
export const realPrivateKey = loginKey.privateKeyOpenssh;
export const realPublicKey = generatePrivateKey({ algorithm: "ED25519" }).publicKeyOpenssh.trim();

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

/** A node's ed25519 host public key, as a pin ("ssh-ed25519 AAAA…"). */
export const realHostKey = generatePrivateKey({ algorithm: "ED25519" }).publicKeyOpenssh.trim();
/** The same node's RSA host key, which must never be accepted as a pin. */
export const realRsaHostKey = generatePrivateKey({ algorithm: "RSA", rsaBits: 2048 }).publicKeyOpenssh.trim();

/** The smallest valid config: one SSH master, pinned, with its login key as a secret. */
export function pinnedConfig(): RawConfig {
    return {
        cluster: { name: "lab", kubernetesVersion: "1.30.4" },
        nodes: [{ name: "master-1", role: "master", address: "10.0.0.11", ssh: { hostKey: realHostKey } }],
        sshPrivateKey: realPrivateKey,
    };
}

/**
 * pinnedConfig for tests that are not about host keys: they replace `nodes` freely, so the stack
 * opts out of pinning (kube-pki:ssh.insecureIgnoreHostKeys) instead of pinning every node.
 */
export function minimalConfig(): RawConfig {
    return { ...pinnedConfig(), ssh: { insecureIgnoreHostKeys: true } };
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
