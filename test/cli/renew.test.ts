/**
 * `kube-pki renew --stack dev` over a copy of the shipped dev stack (one local node, .dev-node in
 * the project directory, seeded with openssl and judged as of --now) with the stand-in pulumi on
 * PATH: pulumi is called exactly when something is due, with exactly `up --stack dev --yes
 * --non-interactive`, in the project directory and with the caller's environment; never when
 * all is well, in --dry-run, with an unusable stack file or with a node that cannot be read.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { renewCommand } from "../../src/cli/commands/renew";
import { CliError } from "../../src/cli/errors";
import type { CliIo } from "../../src/cli/io";
import { fixturePrerequisites } from "../drift/fixture-tree";
import { seedNode } from "../drift/kubeadm-tree";
import { describeNeeding } from "../harness/sim/tools";
import { freePort } from "../harness/free-port";
import { createStandInPulumi, type StandInPulumi } from "../harness/stand-in-pulumi";

const missing = fixturePrerequisites();
const REPO = path.join(__dirname, "..", "..");
const BIN = path.join(REPO, "bin", "kube-pki.js");
const UP = ["up", "--stack", "dev", "--yes", "--non-interactive"];
// The seeded leaves are issued 2024-01-01 for 365 days (CAs for 10 years); the dev stack renews 30 days before.
const WELL = "2024-06-01T00:00:00Z";
const EXPIRING = "2024-12-15T00:00:00Z";
const EXPIRED = "2025-01-15T00:00:00Z";
const NOT_YET_VALID = "2023-12-15T00:00:00Z";
// With the cluster CA issued for 200 days (ends 2024-07-19), the leaves still far from their end.
const CA_EXPIRING = "2024-07-01T00:00:00Z";

interface Result { code: number; stdout: string; stderr: string }

/** The command main registers, run in-process with an environment of the test's choosing; CliError → 3 as main does. */
async function renew(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
    let stdout = "";
    let stderr = "";
    let code = -1;
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, now: () => new Date() };
    const cmd = renewCommand(io, (c) => { code = c; }, env).exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    try {
        await cmd.parseAsync(args, { from: "user" });
    } catch (err) {
        if (!(err instanceof CliError)) throw err;
        stderr += `kube-pki: ${err.message}\n`;
        code = 3;
    }
    return { code, stdout, stderr };
}

describeNeeding(missing, "kube-pki renew --stack dev (local node, stand-in pulumi)", () => {
    let work: string;
    let full: string;
    let noApiserver: string;
    let wrongKey: string;
    let shortCa: string;
    let passphraseFile: string;
    let caller: string;
    let pulumi: StandInPulumi;
    let project: string;
    let n = 0;

    beforeAll(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kp-renew-"));
        full = path.join(work, "full");
        noApiserver = path.join(work, "no-apiserver");
        wrongKey = path.join(work, "wrong-key");
        seedNode(full, { name: "dev-master", ip: "127.0.0.1", role: "master" });
        seedNode(noApiserver, { name: "dev-master", ip: "127.0.0.1", role: "master", skip: ["apiserver"] });
        seedNode(wrongKey, { name: "dev-master", ip: "127.0.0.1", role: "master", wrongKey: ["apiserver"] });
        shortCa = path.join(work, "short-ca");
        seedNode(shortCa, { name: "dev-master", ip: "127.0.0.1", role: "master", override: { ca: { days: 200 } } });
        passphraseFile = path.join(work, "passphrase");
        fs.writeFileSync(passphraseFile, "not-a-real-passphrase\n", { mode: 0o600 });
        // Cron and systemd start elsewhere: the caller's directory is neither the project nor its stacks.
        caller = fs.mkdtempSync(path.join(work, "caller-"));
    }, 120_000);
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
    afterEach(() => pulumi?.remove());

    /** A project directory of its own (Pulumi.yaml, the shipped stacks) whose dev node is a copy of `tree` (none: no .dev-node yet). */
    function newProject(tree: string | undefined, behavior: Parameters<typeof createStandInPulumi>[0] = {}): void {
        project = path.join(work, `project-${++n}`);
        fs.mkdirSync(project);
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        fs.cpSync(path.join(REPO, "stacks"), path.join(project, "stacks"), { recursive: true });
        if (tree) fs.cpSync(tree, path.join(project, ".dev-node"), { recursive: true, verbatimSymlinks: true });
        pulumi = createStandInPulumi({ stacks: ["dev"], ...behavior });
    }

    const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${pulumi.dir}:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile });
    const run = (now: string, extra: string[] = [], e = env()) => renew(caller, ["--stack", "dev", "--project-dir", project, "--now", now, ...extra], e);
    const editStack = (edit: (config: Record<string, any>) => void) => {
        const file = path.join(project, "stacks", "Pulumi.dev.yaml");
        const doc = parse(fs.readFileSync(file, "utf8"));
        edit(doc.config);
        fs.writeFileSync(file, stringify(doc));
    };
    /** The log's lines without their timestamps. */
    const events = (stdout: string) => stdout.split("\n").filter(Boolean).map((l) => {
        expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
        return l.slice(25);
    });
    const expectOneUp = () => {
        const calls = pulumi.calls();
        expect(calls.map((c) => c.argv)).toEqual([UP]);
        expect(fs.realpathSync(calls[0].cwd)).toBe(fs.realpathSync(project));
        expect(calls[0].env.PULUMI_CONFIG_PASSPHRASE_FILE).toBe(passphraseFile);
    };

    it("all well: no pulumi call, exit 0, the node summarised as all well", async () => {
        newProject(full);
        const res = await run(WELL);
        expect(res.code, res.stdout + res.stderr).toBe(0);
        expect(pulumi.calls()).toEqual([]);
        const log = events(res.stdout);
        expect(log).toContain("check: all well: dev-master");
        expect(log.at(-1)).toBe("exit 0: all well: nothing due, nothing run");
        expect(res.stdout).not.toContain("due:");
    });

    it("expiring: one up with exactly the arguments, in the project dir, with the caller's environment; still due after it → exit 2", async () => {
        newProject(full);
        const res = await run(EXPIRING);
        expect(res.code, res.stdout + res.stderr).toBe(2);
        expectOneUp();
        const log = events(res.stdout);
        expect(log).toContainEqual(expect.stringMatching(/^check: due: dev-master apiserver \(\/etc\/kubernetes\/pki\/apiserver\.crt\): expiring: expires in 16d; notAfter 2024-12-31T00:00:00\.000Z$/));
        expect(log).toContain(`running: ${pulumi.bin} up --stack dev --yes --non-interactive (in ${project}), because ${log.filter((l) => l.startsWith("check: due:")).length} file(s) are due on dev-master`);
        // Pulumi's output mirrored line by line, its summary, exit code and duration.
        expect(log).toContain("pulumi| Updating (dev):");
        expect(log).toContain("pulumi| Resources:");
        expect(log).toContain("pulumi resources: + 20 created");
        expect(log).toContainEqual(expect.stringMatching(/^pulumi exited 0 after \d+\.\d s$/));
        // The stand-in renewed nothing: the check after the up still finds it due.
        expect(log).toContainEqual(expect.stringMatching(/^after up: due: dev-master apiserver .*expiring/));
        expect(log.at(-1)).toBe("exit 2: still due after the up on dev-master");
        // Nothing secret in the log: no key material.
        expect(res.stdout).not.toMatch(/PRIVATE KEY|BEGIN/);
    });

    it("expired: the up runs", async () => {
        newProject(full);
        const res = await run(EXPIRED);
        expect(res.code).toBe(2);
        expectOneUp();
        expect(events(res.stdout)).toContainEqual(expect.stringMatching(/^check: due: dev-master apiserver \(.*\): expired: expired 15d ago; notAfter 2024-12-31T00:00:00\.000Z$/));
    });

    it("a missing file: the up runs; when it restores the tree the check after it is clean → exit 0, metrics from that check", async () => {
        newProject(noApiserver);
        pulumi.setBehavior({ upHook: `rm -rf '${project}/.dev-node' && cp -a '${full}' '${project}/.dev-node'` });
        const prom = path.join(work, `renew-${n}.prom`);
        const res = await run(WELL, ["--prometheus", prom]);
        expect(res.code, res.stdout + res.stderr).toBe(0);
        expectOneUp();
        const log = events(res.stdout);
        expect(log).toContain("check: due: dev-master apiserver (/etc/kubernetes/pki/apiserver.crt): missing: not on node");
        expect(log).toContain("after up: all well: dev-master");
        expect(log).not.toContainEqual(expect.stringMatching(/^after up: due:/));
        expect(log.at(-1)).toBe("exit 0: all well after the up");
        // The textfile is the final check's: the restored apiserver certificate is in it.
        expect(fs.readFileSync(prom, "utf8")).toMatch(/^x509_cert_not_after\{.*filepath="\/etc\/kubernetes\/pki\/apiserver\.crt".*\} 1735603200$/m);
    });

    it("a key that does not match its certificate (drift): the up runs", async () => {
        newProject(wrongKey);
        const res = await run(WELL);
        expect(res.code).toBe(2);
        expectOneUp();
        expect(events(res.stdout)).toContain("check: due: dev-master apiserver (/etc/kubernetes/pki/apiserver.crt): key-mismatch: private key does not match the certificate; notAfter 2024-12-31T00:00:00.000Z");
    });

    it("a changed spec (an extra apiserver SAN): the up runs", async () => {
        newProject(full);
        editStack((c) => { c["kube-pki:cluster"].apiServerCertSans = ["api.dev.example.com"]; });
        const res = await run(WELL);
        expect(res.code).toBe(2);
        expectOneUp();
        expect(events(res.stdout)).toContainEqual(expect.stringMatching(/^check: due: dev-master apiserver \(.*\): spec-changed: SANs \+DNS:api\.dev\.example\.com;/));
    });

    it("a local node whose root does not exist yet (the dev stack's first run): every file missing, the up runs", async () => {
        newProject(undefined);
        const res = await run(WELL);
        expect(res.code).toBe(2);
        expectOneUp();
        expect(events(res.stdout)).toContain("check: due: dev-master ca (/etc/kubernetes/pki/ca.crt): missing: not on node");
    });

    it("the up fails: exit 2, its exit code in the log", async () => {
        newProject(noApiserver, { upCode: 1 });
        const res = await run(WELL);
        expect(res.code).toBe(2);
        expectOneUp();
        const log = events(res.stdout);
        expect(log).toContain("pulumi| error: update failed");
        expect(log).toContainEqual(expect.stringMatching(/^pulumi exited 1 after /));
        expect(log.at(-1)).toBe("exit 2: the up failed; see the lines above");
    });

    it("--dry-run: says what it would run and why, runs nothing; exit 1 when due, 0 when all well", async () => {
        newProject(full);
        const due = await run(EXPIRING, ["--dry-run"]);
        expect(due.code).toBe(1);
        expect(pulumi.calls()).toEqual([]);
        const log = events(due.stdout);
        expect(log).toContainEqual(expect.stringMatching(new RegExp(`^dry run: would run: ${pulumi.bin} up --stack dev --yes --non-interactive \\(in ${project}\\), because \\d+ file\\(s\\) are due on dev-master$`)));
        expect(log).toContainEqual(expect.stringMatching(/^check: due: dev-master apiserver /));
        expect(log.at(-1)).toBe("exit 1: dry run: something is due, nothing was run");
        const well = await run(WELL, ["--dry-run"]);
        expect(well.code).toBe(0);
        expect(pulumi.calls()).toEqual([]);
    });

    it("needs a person, no up (an up cannot fix it): not yet valid (a clock behind) and a CA inside renew-before → exit 2 with attention lines", async () => {
        newProject(full);
        const early = await run(NOT_YET_VALID);
        expect(early.code, early.stdout).toBe(2);
        expect(pulumi.calls()).toEqual([]);
        const log = events(early.stdout);
        expect(log).toContainEqual(expect.stringMatching(/^check: attention \(the node's clock is probably behind; an up does not change this\): dev-master apiserver \(.*\): not-yet-valid: valid from 2024-01-01T00:00:00\.000Z/));
        expect(log).not.toContainEqual(expect.stringMatching(/^check: due:/));
        expect(log.at(-1)).toMatch(/^exit 2: nothing an up renews is due, nothing run; \d+ file\(s\) need a person \(attention lines\)$/);

        newProject(shortCa);
        const ca = await run(CA_EXPIRING);
        expect(ca.code, ca.stdout).toBe(2);
        expect(pulumi.calls()).toEqual([]);
        expect(events(ca.stdout)).toEqual(expect.arrayContaining([
            "check: attention (an up never renews a CA (kube-pki never rotates one implicitly): a person must rotate it): dev-master ca (/etc/kubernetes/pki/ca.crt): expiring: expires in 18d; notAfter 2024-07-19T00:00:00.000Z",
            "exit 2: nothing an up renews is due, nothing run; 1 file(s) need a person (attention lines)",
        ]));
    });

    it("an unusable stack file: exit 3 naming the config key, nothing run", async () => {
        newProject(full);
        editStack((c) => { c["kube-pki:validity"] = { renewBeforeDays: "soon" }; });
        const res = await run(EXPIRING);
        expect(res.code).toBe(3);
        expect(res.stderr).toContain("kube-pki:validity.renewBeforeDays");
        expect(pulumi.calls()).toEqual([]);
        const gone = await renew(caller, ["--stack", "nosuch", "--project-dir", project], env());
        expect(gone.code).toBe(3);
        expect(gone.stderr).toMatch(/cannot read stack nosuch from .*Pulumi\.nosuch\.yaml: ENOENT/);
        expect(pulumi.calls()).toEqual([]);
    });

    it("--project-dir without Pulumi.yaml: exit 3 naming the flag", async () => {
        newProject(full);
        const res = await renew(caller, ["--stack", "dev", "--project-dir", caller], env());
        expect(res.code).toBe(3);
        expect(res.stderr).toContain(`--project-dir ${caller} holds no Pulumi.yaml`);
        expect(pulumi.calls()).toEqual([]);
    });

    it("pulumi not found when something is due: exit 3 saying where it looked", async () => {
        newProject(full);
        const res = await run(EXPIRING, [], { PATH: "/usr/bin:/bin", HOME: caller });
        expect(res.code).toBe(3);
        expect(res.stderr).toContain("pulumi not found on PATH nor in ~/.pulumi/bin");
        expect(pulumi.calls()).toEqual([]);
        // --pulumi names the binary explicitly, PATH not needed.
        const explicit = await run(EXPIRING, ["--pulumi", pulumi.bin], { PATH: "/usr/bin:/bin", HOME: caller });
        expect(explicit.code).toBe(2);
        expect(pulumi.calls().map((c) => c.argv)).toEqual([UP]);
    });

    it("a node that cannot be reached: exit 4, refused, nothing run even though the other node is due", async () => {
        newProject(full);
        const port = await freePort();
        const key = path.join(work, `id-${n}`);
        execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        const hostKey = fs.readFileSync(`${key}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
        editStack((c) => {
            c["kube-pki:ssh"] = { user: "root", privateKeyPath: key };
            c["kube-pki:nodes"].push({ name: "ghost", role: "worker", address: "127.0.0.2", ssh: { host: "127.0.0.1", port, hostKey } });
        });
        const res = await run(EXPIRING, ["--connect-timeout", "2"]);
        expect(res.code, res.stdout + res.stderr).toBe(4);
        expect(pulumi.calls()).toEqual([]);
        const log = events(res.stdout);
        expect(log).toContainEqual(expect.stringMatching(/^check: ghost: UNREACHABLE: .*ECONNREFUSED/));
        expect(log).toContainEqual(expect.stringMatching(/^check: due: dev-master apiserver /));
        expect(log.at(-1)).toBe("exit 4: refused: ghost could not be read; nothing was run");
    });

    it("bin/kube-pki.js renew as cron runs it: from another directory, the process environment reaches pulumi; --help lists the exit codes", async () => {
        newProject(noApiserver);
        const res = await new Promise<Result>((resolve) => {
            execFile(process.execPath, [BIN, "renew", "--stack", "dev", "--project-dir", project, "--now", WELL],
                { cwd: caller, env: { ...env(), PULUMI_ACCESS_TOKEN: "pul-test-token" }, timeout: 60_000 },
                (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
        });
        expect(res.code, res.stdout + res.stderr).toBe(2);
        expectOneUp();
        expect(pulumi.calls()[0].env.PULUMI_ACCESS_TOKEN).toBe("pul-test-token");
        // The token travels in the environment only, never in the log.
        expect(res.stdout + res.stderr).not.toContain("pul-test-token");
        const help = execFileSync(process.execPath, [BIN, "renew", "--help"], { encoding: "utf8" });
        expect(help).toMatch(/Exit codes:\n {2}0 {2}all well.*\n {2}1 {2}--dry-run.*\n {2}2 {2}the up failed.*\n(?:.*\n)* {2}4 {2}refused/);
        expect(help).toContain("a certificate that is only not yet\nvalid (the node's clock is behind");
    }, 60_000);
});
