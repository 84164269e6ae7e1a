/**
 * `kube-pki renew` against a simulated cluster over SSH (1 master + 1 worker, real sshd), run as
 * cron would run it (bin/kube-pki.js from another directory) with the stand-in pulumi on PATH:
 * the sim's leaves expire in 10 days, so with renew-before 30 d one up runs with exactly its
 * arguments; with renew-before 5 d all is well and nothing runs; with a node behind a closed port
 * renew refuses (exit 4) and runs nothing.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { stringify } from "yaml";
import { describeLive, SimCluster } from "../harness/sim";
import { createStandInPulumi, type StandInPulumi } from "../harness/stand-in-pulumi";

const REPO = path.join(__dirname, "..", "..");
const BIN = path.join(REPO, "bin", "kube-pki.js");
const pinOf = (publicKeyLine: string) => publicKeyLine.split(" ").slice(0, 2).join(" ");

describeLive("kube-pki renew --stack sim (simulated cluster, 1 master + 1 worker)", () => {
    let sim: SimCluster;
    let dir: string;
    let project: string;
    let pulumi: StandInPulumi;

    /** stacks/Pulumi.<name>.yaml for the sim's nodes (served certificates not read: the control plane is not started). */
    function writeStack(name: string, renewBeforeDays: number, portOf: (node: string) => number | undefined = () => undefined): void {
        const master = sim.nodes.find((n) => n.role === "master")!;
        fs.writeFileSync(path.join(project, "stacks", `Pulumi.${name}.yaml`), stringify({ config: {
            "kube-pki:cluster": { name: sim.clusterName, kubernetesVersion: sim.kubernetesVersion, controlPlaneEndpoint: sim.controlPlaneEndpoint },
            "kube-pki:ssh": { privateKeyPath: sim.clientPrivateKeyPath },
            "kube-pki:nodes": sim.nodes.map((n) => ({ name: n.name, role: n.role, address: n.ip,
                ssh: { hostKey: pinOf(n.hostPublicKey), ...(portOf(n.name) ? { port: portOf(n.name) } : {}) } })),
            "kube-pki:authorities": { ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: master.name },
            "kube-pki:validity": { renewBeforeDays },
            "kube-pki:drift": { checkServed: false },
        } }));
    }

    function renew(stack: string): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            execFile(process.execPath, [BIN, "renew", "--stack", stack, "--project-dir", project, "--connect-timeout", "3"],
                { cwd: dir, env: { ...process.env, PATH: `${pulumi.dir}:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE: "" }, timeout: 90_000 },
                (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
        });
    }

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 1, waitForControlPlane: false });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-renew-live-"));
        project = path.join(dir, "project");
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    }, 180_000);
    afterAll(async () => {
        await sim?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });
    afterEach(() => pulumi?.remove());

    it("leaves inside renew-before on both nodes: one up with exactly its arguments, in the project directory; still due after it → exit 2", async () => {
        pulumi = createStandInPulumi({ stacks: ["sim"] });
        writeStack("sim", 30);
        const res = await renew("sim");
        expect(res.code, res.stdout + res.stderr).toBe(2);
        const calls = pulumi.calls();
        expect(calls.map((c) => c.argv)).toEqual([["up", "--stack", "sim", "--yes", "--non-interactive"]]);
        expect(calls[0].cwd).toBe(project);
        expect(calls[0].env.PULUMI_CONFIG_PASSPHRASE).toBe("");
        for (const node of sim.nodes) {
            expect(res.stdout).toMatch(new RegExp(`Z check: due: ${node.name} \\S+ \\(.*\\): expiring: expires in (9|10)d; notAfter `));
            expect(res.stdout).toMatch(new RegExp(`Z after up: due: ${node.name} .*: expiring: expires in (9|10)d`));
        }
        expect(res.stdout).toMatch(/Z check: due: \S+ apiserver \(\/etc\/kubernetes\/pki\/apiserver\.crt\): expiring: expires in (9|10)d; notAfter /);
        expect(res.stdout).toMatch(/Z pulumi exited 0 after \d+\.\d s\n/);
        expect(res.stdout).not.toMatch(/PRIVATE KEY/);
    }, 120_000);

    it("leaves outside renew-before (5 d): all well, pulumi not called, exit 0", async () => {
        pulumi = createStandInPulumi({ stacks: ["sim"] });
        writeStack("sim-late", 5);
        const res = await renew("sim-late");
        expect(res.code, res.stdout + res.stderr).toBe(0);
        expect(pulumi.calls()).toEqual([]);
        expect(res.stdout).toContain(` check: all well: ${sim.nodes.map((n) => n.name).join(", ")}\n`);
        expect(res.stdout).toMatch(/ exit 0: all well: nothing due, nothing run\n$/);
    }, 120_000);

    it("a node behind a closed port: refused, exit 4, pulumi not called although the other node is due", async () => {
        pulumi = createStandInPulumi({ stacks: ["sim"] });
        const worker = sim.nodes.find((n) => n.role === "worker")!;
        writeStack("sim-cut", 30, (name) => (name === worker.name ? 1 : undefined));
        const res = await renew("sim-cut");
        expect(res.code, res.stdout + res.stderr).toBe(4);
        expect(pulumi.calls()).toEqual([]);
        expect(res.stdout).toMatch(new RegExp(`Z check: ${worker.name}: UNREACHABLE: .*ECONNREFUSED`));
        expect(res.stdout).toMatch(new RegExp(`Z exit 4: refused: ${worker.name} could not be read; nothing was run\n$`));
    }, 120_000);
});
