/**
 * loadClusterSpec reads the config the way the Pulumi engine hands it to a program
 * (PULUMI_CONFIG: structured values as JSON text, the secret key decrypted, its name in the
 * secret-keys list), including unknown `kube-pki:*` keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, loadClusterSpec } from "../../src/config";
import { fakeEnv, realPrivateKey } from "./helpers";

/** A stack file's config section as the engine serialises it: structured values become JSON text. */
function engineConfig(stack: string): Record<string, string> {
    const text = fs.readFileSync(path.resolve(__dirname, `../../stacks/Pulumi.${stack}.yaml`), "utf8");
    const config = (parseYaml(text) as { config: Record<string, unknown> }).config;
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

afterEach(() => pulumi.runtime.setAllConfig({}));

describe("loadClusterSpec", () => {
    it("loads the dev stack as the engine passes it", () => {
        pulumi.runtime.setAllConfig(engineConfig("dev"));
        const spec = loadClusterSpec(fakeEnv({}, "/home/op", "/work/project"));
        expect(spec.nodes[0]).toEqual({ name: "dev-master", role: "master", advertiseAddress: "127.0.0.1", transport: "local", localRoot: "/work/project/.dev-node" });
        expect(spec.rollout.restart).toBe(false);
    });

    it("takes the SSH key from the secret kube-pki:sshPrivateKey as plain text for the spec", () => {
        const config = engineConfig("staging");
        // The secret alternative to privateKeyPath: drop the path, add the decrypted secret.
        config["kube-pki:ssh"] = JSON.stringify({ user: "root" });
        config["kube-pki:sshPrivateKey"] = realPrivateKey;
        pulumi.runtime.setAllConfig(config, ["kube-pki:sshPrivateKey"]);
        const env = fakeEnv();
        const spec = loadClusterSpec(env);
        expect(spec.nodes.map((n) => n.ssh?.privateKey === realPrivateKey)).toEqual([true, true, true]);
        expect(env.reads).toEqual([]);
    });

    it("warns loudly at run time for each node reached without a host key check", () => {
        const config = engineConfig("staging");
        const nodes = JSON.parse(config["kube-pki:nodes"]) as Array<Record<string, unknown>>;
        delete nodes[1].ssh; // staging-worker-1 unpinned; the others keep their pins
        config["kube-pki:nodes"] = JSON.stringify(nodes);
        config["kube-pki:ssh"] = JSON.stringify({ user: "root", insecureIgnoreHostKeys: true });
        config["kube-pki:sshPrivateKey"] = realPrivateKey;
        pulumi.runtime.setAllConfig(config, ["kube-pki:sshPrivateKey"]);
        const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
        try {
            const spec = loadClusterSpec({ ...fakeEnv(), stack: "staging" });
            expect(spec.nodes.map((n) => n.ssh?.insecureIgnoreHostKey ?? false)).toEqual([false, true, false]);
            expect(warn.mock.calls.map((c) => c[0])).toEqual([
                'INSECURE: kube-pki:ssh.insecureIgnoreHostKeys is true and node "staging-worker-1" has no ssh.hostKey: kube-pki accepts ANY SSH host key at 10.20.0.21:22 and will push its keys to whoever answers there. Pin it: run `npx kube-pki host-keys --stack staging` and paste the ssh.hostKey it prints.',
            ]);
        } finally {
            warn.mockRestore();
        }
    });

    it("reports unknown kube-pki keys, config that is not JSON, and the other problems together", () => {
        const config = engineConfig("dev");
        config["kube-pki:rolout"] = JSON.stringify({ restart: false });
        config["kube-pki:validity"] = "{caYears: 10"; // what a hand-edited, broken value looks like
        config["kube-pki:keyAlgorithm"] = "RSA-1024";
        config["other:setting"] = "ignored"; // other namespaces are not ours
        pulumi.runtime.setAllConfig(config);
        let error: unknown;
        try {
            loadClusterSpec(fakeEnv());
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).lines).toEqual([
            "kube-pki:validity: is not valid structured config (JSON/YAML); set it as a YAML map or list in the stack file, or with `pulumi config set --path`.",
            "kube-pki:rolout: unknown key; valid keys are kube-pki:cluster, kube-pki:nodes, kube-pki:ssh, kube-pki:sshPrivateKey, kube-pki:keyAlgorithm, kube-pki:validity, kube-pki:layout, kube-pki:authorities, kube-pki:rollout, kube-pki:drift, kube-pki:kubelet, kube-pki:clusterObjects, kube-pki:certificates.",
            'kube-pki:keyAlgorithm: "RSA-1024" is not supported; use one of "RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256".',
        ]);
    });

    it("fails with the missing-key lines when no config is set at all", () => {
        expect(() => loadClusterSpec(fakeEnv())).toThrow(ConfigError);
        expect(() => loadClusterSpec(fakeEnv())).toThrow("kube-pki:cluster: is required");
    });
});
