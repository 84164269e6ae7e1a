/**
 * `kube-pki host-keys` without a network: fingerprints judged by ssh-keygen itself, the YAML a
 * stack gets (parsed back by the config parser), known_hosts lines (hashed ones made by
 * `ssh-keygen -H`), and bad usage (exit 3).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { run } from "../../src/cli/main";
import type { CliIo } from "../../src/cli/io";
import { knownKeys, pinFromKnownHosts } from "../../src/cli/known-hosts";
import { renderHostYaml, renderKnownHosts, renderStackYaml, type NodeHostKeys } from "../../src/cli/render-host-keys";
import { parseClusterSpec } from "../../src/config";
import { fingerprintLine, parseHostKey } from "../../src/config/host-key";
import { realPrivateKey } from "../config/helpers";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";
const missing = fs.existsSync(SSH_KEYGEN) ? undefined : `${SSH_KEYGEN} is not installed (apt-get install openssh-client)`;
if (missing && process.env.KUBE_PKI_REQUIRE_SIM === "1") throw new Error(`host-keys tests need ${missing}`);
if (missing) console.warn(`[skip] host-keys formatting tests: ${missing}`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-hostkeys-"));

/** A fresh host key pair made by ssh-keygen; returns the .pub path and its text. */
function hostKey(type: "ed25519" | "ecdsa" | "rsa", name: string, bits?: number): { pub: string; text: string; blob: Buffer } {
    const file = path.join(dir, name);
    execFileSync(SSH_KEYGEN, ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", name, "-f", file]);
    const text = fs.readFileSync(`${file}.pub`, "utf8").trim();
    const parsed = parseHostKey(text);
    if ("problem" in parsed) throw new Error(parsed.problem);
    return { pub: `${file}.pub`, text, blob: parsed.blob };
}

async function cli(args: string[], cwd = process.cwd()) {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, now: () => new Date() };
    return { code: await run(args, io), stdout, stderr };
}

describe.skipIf(missing)("host key formatting", () => {
    it("prints fingerprints exactly as ssh-keygen -lf does, for ed25519 and every ECDSA curve", () => {
        const keys = [hostKey("ed25519", "m-ed"), hostKey("ecdsa", "m-p256", 256), hostKey("ecdsa", "m-p384", 384), hostKey("ecdsa", "m-p521", 521)];
        for (const [k, name] of keys.map((k, i) => [k, ["m-ed", "m-p256", "m-p384", "m-p521"][i]] as const)) {
            expect(fingerprintLine(k.blob, name)).toBe(execFileSync(SSH_KEYGEN, ["-lf", k.pub], { encoding: "utf8" }).trim());
        }
    });

    it("renders the stack's node list with pins filled in, other settings kept, and parses back into the same pins", () => {
        const ed = hostKey("ed25519", "yaml-m1");
        const ec = hostKey("ecdsa", "yaml-w1", 384);
        const old = hostKey("ed25519", "yaml-old");
        const nodes: NodeHostKeys[] = [
            { name: "master-1", host: "10.0.0.11", port: 22, keys: [ed.blob, ec.blob], entry: { name: "master-1", role: "master", address: "10.0.0.11", ssh: { hostKey: old.text } } },
            { name: "worker-1", host: "10.0.0.21", port: 2222, keys: [ec.blob], entry: { name: "worker-1", role: "worker", address: "10.0.0.21", ssh: { port: 2222 } } },
            { name: "worker-2", host: "10.0.0.22", port: 22, keys: [], error: "ECONNREFUSED: connect ECONNREFUSED 10.0.0.22:22", entry: { name: "worker-2", role: "worker", address: "10.0.0.22" } },
        ];
        const text = renderStackYaml("lab", "stacks/Pulumi.lab.yaml", nodes);
        // Comments: what is pinned, what else is offered, what changed, why a node has no pin.
        expect(text).toContain(`  # pinned: ${fingerprintLine(ed.blob, "master-1")}\n`);
        expect(text).toContain(`  # also offered: ${fingerprintLine(ec.blob, "master-1")}\n`);
        expect(text).toContain(`CHANGED: the stack pinned ${fingerprintLine(old.blob, "x").split(" ")[1]}`);
        expect(text).toContain("  # worker-2 10.0.0.22:22: UNREACHABLE (ECONNREFUSED: connect ECONNREFUSED 10.0.0.22:22): no host key read\n");
        expect(text).toContain(`      ssh: { hostKey: "${ed.text.split(" ").slice(0, 2).join(" ")}" }\n`);
        expect(text).not.toMatch(/ssh-rsa|PRIVATE/);
        // Pasted under `config:`, it is a stack the config parser accepts once worker-2 is pinned too.
        const doc = parseYaml(`config:\n${text}`) as { config: Record<string, Array<Record<string, any>>> };
        const list = doc.config["kube-pki:nodes"];
        expect(list.map((n) => n.ssh?.hostKey)).toEqual([ed.text.split(" ").slice(0, 2).join(" "), ec.text.split(" ").slice(0, 2).join(" "), undefined]);
        expect(list[1].ssh.port).toBe(2222);
        list[2].ssh = { hostKey: ed.text };
        const spec = parseClusterSpec({ cluster: { name: "lab", kubernetesVersion: "1.30.4" }, nodes: list, sshPrivateKey: realPrivateKey });
        expect(spec.nodes.map((n) => n.ssh?.hostKey?.split(" ")[0])).toEqual(["ssh-ed25519", "ecdsa-sha2-nistp384", "ssh-ed25519"]);
    });

    it("renders --host results as ssh blocks, and known_hosts lines that ssh-keygen -F finds (plain and hashed)", () => {
        const ed = hostKey("ed25519", "kh-m1");
        const ec = hostKey("ecdsa", "kh-m2", 256);
        const rsa = hostKey("rsa", "kh-rsa", 2048);
        const nodes: NodeHostKeys[] = [
            { name: "10.0.0.11", host: "10.0.0.11", port: 22, keys: [ed.blob] },
            { name: "10.0.0.12:2222", host: "10.0.0.12", port: 2222, keys: [ec.blob] },
        ];
        expect(renderHostYaml(nodes)).toContain(`ssh: { hostKey: "${ed.text.split(" ").slice(0, 2).join(" ")}" }`);
        const file = path.join(dir, "known_hosts");
        // An RSA line for the same host is never chosen as the pin.
        fs.writeFileSync(file, renderKnownHosts(nodes) + `10.0.0.11 ${rsa.text.split(" ").slice(0, 2).join(" ")}\n`);
        expect(execFileSync(SSH_KEYGEN, ["-F", "[10.0.0.12]:2222", "-f", file], { encoding: "utf8" })).toContain(ec.text.split(" ")[1]);
        execFileSync(SSH_KEYGEN, ["-H", "-f", file], { stdio: "ignore" });
        const hashed = fs.readFileSync(file, "utf8");
        expect(hashed).not.toContain("10.0.0.1");
        expect(knownKeys(hashed, "10.0.0.11", 22)).toHaveLength(2);
        expect(pinFromKnownHosts(hashed, "10.0.0.11", 22)).toBe(ed.text.split(" ").slice(0, 2).join(" "));
        expect(pinFromKnownHosts(hashed, "10.0.0.12", 2222)).toBe(ec.text.split(" ").slice(0, 2).join(" "));
        expect(pinFromKnownHosts(hashed, "10.0.0.12", 22)).toBeUndefined();
        expect(pinFromKnownHosts(`10.0.0.13 ${rsa.text}\n`, "10.0.0.13", 22)).toBeUndefined();
    });
});

describe("kube-pki host-keys usage", () => {
    it("documents itself and refuses unusable input with exit 3", async () => {
        const help = await cli(["host-keys", "--help"]);
        expect(help.code).toBe(0);
        expect(help.stdout).toContain("--stack <name>");
        expect(help.stdout).toContain("OpenSSH >= 8.8 refuses");
        expect(help.stdout).toContain("2  a node was unreachable");
        expect(await cli(["host-keys"])).toMatchObject({ code: 3, stderr: "kube-pki: give --stack <name>, or at least one --host user@ip[:port]\n" });
        expect(await cli(["host-keys", "--stack", "prod", "--host", "10.0.0.1"])).toMatchObject({ code: 3, stderr: "kube-pki: --stack and --host do not mix\n" });
        expect((await cli(["host-keys", "--host", "root@10.0.0.1:99999"])).code).toBe(3);
        expect((await cli(["host-keys", "--stack", "nope"])).stderr).toMatch(/^kube-pki: cannot read stack nope from .*Pulumi\.nope\.yaml: ENOENT/);
    });

    it("needs no login key and no pins to read a stack: the dev stack's local node has nothing to pin", async () => {
        const res = await cli(["host-keys", "--stack", "dev"], path.join(__dirname, "..", ".."));
        expect(res).toMatchObject({ code: 0, stderr: "" });
        expect(res.stdout).toContain("  # dev-master: local transport, no SSH host key to pin\n");
        expect(res.stdout).toContain("then replace kube-pki:nodes in stacks/Pulumi.dev.yaml");
    });

    it("check --host refuses an unpinned host (exit 3) unless --known-hosts pins it or the opt-out is given", async () => {
        const key = path.join(dir, "login");
        fs.writeFileSync(key, realPrivateKey);
        const res = await cli(["check", "--host", "root@10.0.0.1:2222", "--ssh-key", key]);
        expect(res.code).toBe(3);
        expect(res.stderr).toBe("kube-pki: no SSH host key pinned for [10.0.0.1]:2222: no --known-hosts file was given. Read the keys with " +
            "`kube-pki host-keys --host [10.0.0.1]:2222 -o known-hosts > pins`, compare their fingerprints with the nodes', and pass --known-hosts pins " +
            "(or your ~/.ssh/known_hosts); or accept any host key with --insecure-ignore-host-keys\n");
        expect((await cli(["check", "--stack", "dev", "--insecure-ignore-host-keys"])).code).toBe(3);
    });
});
