/**
 * `kube-pki check --stack staging|prod` over the shipped stack files. Their nodes are real-world
 * addresses that must never see traffic from a test, so the CLI runs in a fresh network namespace
 * (`unshare --net`: no interface is up, every connect fails at once) and each node must come out
 * as an unreachable row with exit code 2.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { describeLive } from "../harness/sim";

const BIN = path.join(__dirname, "..", "..", "bin", "kube-pki.js");
const STACKS = path.join(__dirname, "..", "..", "stacks");
const UNSHARE = "/usr/bin/unshare";

function isolatedCheck(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(UNSHARE, ["--net", "--", process.execPath, BIN, "check", ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
        });
    });
}

describeLive("kube-pki check --stack staging/prod (isolated network)", () => {
    let dir: string;
    let key: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-stack-live-"));
        key = path.join(dir, "id_ed25519");
        // Any key will do: the login never gets that far.
        execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const stack of ["staging", "prod"]) {
        it(`${stack}: every node of the stack file is an unreachable row, exit 2`, async () => {
            const nodes = (parse(fs.readFileSync(path.join(STACKS, `Pulumi.${stack}.yaml`), "utf8")).config["kube-pki:nodes"] as Array<{ name: string }>)
                .map((n) => n.name);
            const started = Date.now();
            const json = await isolatedCheck(["--stack", stack, "--stacks-dir", STACKS, "--ssh-key", key, "--connect-timeout", "2", "-o", "json"]);
            expect(Date.now() - started).toBeLessThan(15_000);
            expect(json.code, json.stderr).toBe(2);
            const doc = JSON.parse(json.stdout);
            expect(Object.keys(doc.nodes)).toEqual(nodes);
            for (const name of nodes) {
                expect(doc.nodes[name]).toMatchObject({ reachable: false });
                expect(doc.nodes[name].error).toMatch(/^ENETUNREACH: connect ENETUNREACH \d+\.\d+\.\d+\.\d+:22/);
            }
            // With the spec, each node's wanted certificates are listed as unreachable.
            expect(Object.values(doc.nodes[nodes[0]].certificates).map((c: any) => c.status)).toContain("unreachable");
            const table = await isolatedCheck(["--stack", stack, "--stacks-dir", STACKS, "--ssh-key", key, "--connect-timeout", "2"]);
            expect(table.code).toBe(2);
            for (const name of nodes) expect(table.stdout).toMatch(new RegExp(`^${name}\\s+!UNREACHABLE!\\s+unreachable: `, "m"));
        }, 60_000);
    }
});
