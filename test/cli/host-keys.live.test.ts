/**
 * `kube-pki host-keys` against real sshd on the simulated cluster: the printed pin is the node's
 * own ed25519 host key, its fingerprint line is what `ssh-keygen -lf` prints for that key, a node
 * with no sshd behind its address makes exit 2 while the others are still printed, and the printed
 * pins (YAML and known_hosts) are exactly what `kube-pki check` then verifies.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import type { CliIo } from "../../src/cli/io";
import { run } from "../../src/cli/main";
import { describeLive, SimCluster } from "../harness/sim";

async function cli(args: string[], cwd: string) {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, now: () => new Date() };
    return { code: await run(args, io), stdout, stderr };
}

const pinOf = (publicKeyLine: string) => publicKeyLine.split(" ").slice(0, 2).join(" ");

describeLive("kube-pki host-keys (simulated cluster, 1 master + 1 worker)", () => {
    let sim: SimCluster;
    let dir: string;
    let ghost: string;

    /** A stack file naming the sim nodes (and, when asked, a node whose address has no sshd). */
    function writeStack(name: string, nodes: Array<Record<string, unknown>>): void {
        fs.mkdirSync(path.join(dir, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), stringify({ config: {
            "kube-pki:cluster": { name: "sim", kubernetesVersion: sim.kubernetesVersion, controlPlaneEndpoint: sim.controlPlaneEndpoint },
            "kube-pki:ssh": { privateKeyPath: sim.clientPrivateKeyPath },
            "kube-pki:nodes": nodes,
        } }));
    }

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 1, keyType: "ecdsa-p256", waitForControlPlane: false });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-hostkeys-live-"));
        // An address in the sim's own subnet that no node holds: connects there fail, nothing leaves the machine.
        ghost = sim.nodes[0].ip.replace(/\.\d+$/, ".250");
        writeStack("sim", [
            ...sim.nodes.map((n) => ({ name: n.name, role: n.role, address: n.ip })),
            { name: "ghost-1", role: "worker", address: ghost },
        ]);
    }, 120_000);
    afterAll(async () => {
        await sim?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("prints each node's own ed25519 key with ssh-keygen's fingerprint, and exits 2 for the node it cannot reach", async () => {
        const res = await cli(["host-keys", "--stack", "sim", "--connect-timeout", "2"], dir);
        expect(res.code, res.stderr).toBe(2);
        expect(res.stderr).toMatch(new RegExp(`^kube-pki: ghost-1 \\(${ghost.replace(/\./g, "\\.")}:22\\): UNREACHABLE \\(`, "m"));
        const nodes = (parseYaml(`config:\n${res.stdout}`) as { config: Record<string, Array<Record<string, any>>> }).config["kube-pki:nodes"];
        expect(nodes.map((n) => n.name)).toEqual([...sim.nodes.map((n) => n.name), "ghost-1"]);
        for (const [i, node] of sim.nodes.entries()) {
            expect(node.hostPublicKey).toMatch(/^ssh-ed25519 /);
            expect(nodes[i].ssh.hostKey).toBe(pinOf(node.hostPublicKey));
            const pub = path.join(dir, `${node.name}.pub`);
            fs.writeFileSync(pub, node.hostPublicKey + "\n");
            const keygen = execFileSync("/usr/bin/ssh-keygen", ["-lf", pub], { encoding: "utf8" }).trim();
            expect(res.stdout).toContain(`  # pinned: ${keygen}\n`);
        }
        expect(nodes[2].ssh).toBeUndefined();
        expect(res.stdout).toContain(`  # ghost-1 ${ghost}:22: UNREACHABLE (`);
    }, 60_000);

    it("the printed pins are what check verifies: pasted YAML reads every node, a swapped pin is a clear mismatch", async () => {
        const res = await cli(["host-keys", "--stack", "sim", "--connect-timeout", "2"], dir);
        const printed = (parseYaml(`config:\n${res.stdout}`) as { config: Record<string, Array<Record<string, any>>> }).config["kube-pki:nodes"];
        writeStack("pinned", printed.slice(0, 2));
        const ok = await cli(["check", "--stack", "pinned", "--no-served", "--connect-timeout", "5", "-o", "json"], dir);
        const doc = JSON.parse(ok.stdout);
        for (const n of sim.nodes) expect(doc.nodes[n.name], ok.stderr).toMatchObject({ reachable: true });
        expect(ok.stderr).not.toContain("INSECURE");

        // Each node pinned with the other's key: both refused before login, saying why.
        writeStack("swapped", [{ ...printed[0], ssh: printed[1].ssh }, { ...printed[1], ssh: printed[0].ssh }]);
        const bad = await cli(["check", "--stack", "swapped", "--no-served", "--connect-timeout", "5", "-o", "json"], dir);
        expect(bad.code).toBe(2);
        for (const n of sim.nodes) {
            expect(JSON.parse(bad.stdout).nodes[n.name].error).toMatch(/^host key does not match the pinned hostKey: the node offers ssh-ed25519 SHA256:\S+, the pin is SHA256:/);
        }
    }, 60_000);

    it("--host -o known-hosts pins check --host; without a pin check --host is refused", async () => {
        const master = sim.nodes[0];
        const res = await cli(["host-keys", "--host", `root@${master.ip}`, "-o", "known-hosts"], dir);
        expect(res).toMatchObject({ code: 0, stdout: `${master.ip} ${pinOf(master.hostPublicKey)}\n` });
        const pins = path.join(dir, "pins");
        fs.writeFileSync(pins, res.stdout);
        const args = ["check", "--host", `root@${master.ip}`, "--ssh-key", sim.clientPrivateKeyPath, "--no-served", "-o", "json"];
        const ok = await cli([...args, "--known-hosts", pins], dir);
        expect(JSON.parse(ok.stdout).nodes[master.ip]).toMatchObject({ reachable: true });
        expect((await cli(args, dir)).code).toBe(3);
    }, 60_000);
});
