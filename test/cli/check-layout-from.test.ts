/**
 * `kube-pki check --layout-from <stack>`: nodes given on the command line are read with a stack
 * file's layout (RKE-style names under /etc/kubernetes/ssl, a per-node etcd file by address), so
 * their files are named and judged, not reported as strays or `differs`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/main";
import type { CliIo } from "../../src/cli/io";
import { tempDir, TestCa } from "../scripts/fixtures";

async function runCli(args: string[], cwd: string) {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, now: () => new Date() };
    const code = await run(args, io);
    return { code, stdout, stderr };
}

const SSL = "/etc/kubernetes/ssl";
const STACK = `config:
  kube-pki:layout:
    kind: custom
    paths:
      ca.crt: ${SSL}/kube-ca.pem
      ca.key: ${SSL}/kube-ca-key.pem
      etcd/server.crt: ${SSL}/kube-etcd-{address-dashed}.pem
      etcd/server.key: ${SSL}/kube-etcd-{address-dashed}-key.pem
`;

describe("check --layout-from", () => {
    it("reads --local nodes with the stack's layout: per-node names filled, keys known by content", async () => {
        const project = tempDir("layout-from");
        fs.mkdirSync(path.join(project, "stacks"));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.rke.yaml"), STACK);
        const node = path.join(project, "node-1");
        const ssl = path.join(node, SSL);
        fs.mkdirSync(ssl, { recursive: true });
        const ca = new TestCa("kube-ca");
        const etcd = ca.issue({ cn: "node-1", eku: "serverAuth,clientAuth", sans: ["IP:127.0.0.1"] });
        fs.writeFileSync(path.join(ssl, "kube-ca.pem"), ca.ca.cert);
        fs.writeFileSync(path.join(ssl, "kube-ca-key.pem"), ca.ca.key, { mode: 0o600 });
        // --local nodes are at 127.0.0.1: their etcd file is kube-etcd-127-0-0-1.pem.
        fs.writeFileSync(path.join(ssl, "kube-etcd-127-0-0-1.pem"), etcd.cert);
        fs.writeFileSync(path.join(ssl, "kube-etcd-127-0-0-1-key.pem"), etcd.key, { mode: 0o600 });

        const { stdout, stderr } = await runCli(["check", "--local", node, "--layout-from", "rke", "-o", "json"], project);
        expect(stderr).toBe("");
        const text = JSON.stringify(JSON.parse(stdout));
        expect(text).toContain(`${SSL}/kube-etcd-127-0-0-1.pem`);
        expect(text).toContain(`${SSL}/kube-ca.pem`);
        expect(text).not.toMatch(/differs|no PEM certificate/);

        const table = await runCli(["check", "--local", node, "--layout-from", "rke"], project);
        expect(table.stdout).toMatch(/etcd-server/);
        expect(table.stdout).not.toMatch(/differs/);
    });

    it("refuses --layout-from with --stack, and names a bad layout key of the stack file", async () => {
        const project = tempDir("layout-from-bad");
        fs.mkdirSync(path.join(project, "stacks"));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.bad.yaml"), STACK.replace("{address-dashed}", "{ip}"));
        const mixed = await runCli(["check", "--stack", "bad", "--layout-from", "bad"], project);
        expect(mixed.code).toBe(3);
        expect(mixed.stderr).toContain("--layout-from is for --host/--worker/--local");
        const bad = await runCli(["check", "--local", project, "--layout-from", "bad"], project);
        expect(bad.code).toBe(3);
        expect(bad.stderr).toContain('kube-pki:layout.paths["etcd/server.crt"]: unknown template variable {ip}');
    });
});
