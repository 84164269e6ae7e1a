/**
 * `kube-pki dev` (`npm run dev`), the README's first command, against a stand-in `pulumi` first on
 * PATH (the real CLI cannot run here) in a copy of the project: which calls, in which order, with
 * which environment; the stack created only when missing; the committed dev passphrase salt.
 * The program itself on the dev stack is test/dev-stack.test.ts (executing mocks).
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeSummary, runDev } from "../../src/cli/commands/dev";
import type { CliIo } from "../../src/cli/io";
import { run } from "../../src/cli/main";
import { PROJECT_DIR } from "../../src/cli/pulumi-cli";
import { createStandInPulumi, type PulumiCall, type StandInPulumi } from "../harness/stand-in-pulumi";

const INIT = ["stack", "init", "dev", "--secrets-provider", "passphrase", "--no-select", "--non-interactive"];
const LS = ["stack", "ls", "--json"];
const UP = ["up", "--stack", "dev", "--yes", "--non-interactive"];

function captureIo(cwd: string): CliIo & { out: () => string; err: () => string } {
    const out: string[] = [];
    const err: string[] = [];
    return { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd, now: () => new Date(), out: () => out.join(""), err: () => err.join("") };
}

describe("kube-pki dev", () => {
    let standIn: StandInPulumi;
    let project: string;
    let home: string;
    let env: NodeJS.ProcessEnv;

    beforeEach(() => {
        standIn = createStandInPulumi({ showPreview: true });
        // A copy of the checkout's project and dev stack files: the command writes .pulumi-state beside them.
        project = fs.mkdtempSync(path.join(os.tmpdir(), "kpki dev project-"));
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        fs.mkdirSync(path.join(project, "stacks"));
        fs.copyFileSync(path.join(PROJECT_DIR, "stacks/Pulumi.dev.yaml"), path.join(project, "stacks/Pulumi.dev.yaml"));
        home = fs.mkdtempSync(path.join(os.tmpdir(), "kpki-home-"));
        // A user with their own Pulumi set-up: a cloud login, a passphrase and a passphrase file of their own.
        env = {
            PATH: `${standIn.dir}:/usr/bin:/bin`, HOME: home, KEEP_ME: "1",
            PULUMI_BACKEND_URL: "https://api.pulumi.com", PULUMI_CONFIG_PASSPHRASE: "the user's own",
            PULUMI_CONFIG_PASSPHRASE_FILE: path.join(home, "passphrase"), PULUMI_ACCESS_TOKEN: "pul-user-token",
        };
    });
    afterEach(() => {
        standIn.remove();
        fs.rmSync(project, { recursive: true, force: true });
        fs.rmSync(home, { recursive: true, force: true });
    });

    /** `npm run dev -- --project-dir <copy>`: the package.json script itself, as npm runs it (sh -c). */
    const npmRunDev = () => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const script = (JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.dev;
        expect(script).toBe("node bin/kube-pki.js dev");
        // node by absolute path: PATH names only the stand-in and the system directories.
        const argv = script.replace(/^node /, `'${process.execPath}' `);
        execFile("/bin/sh", ["-c", `${argv} --project-dir '${project}'`], { cwd: PROJECT_DIR, env: env as Record<string, string> },
            (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });

    function expectDevEnvironment(call: PulumiCall) {
        expect(fs.realpathSync(call.cwd)).toBe(fs.realpathSync(project));
        expect(call.env.PULUMI_BACKEND_URL).toBe(pathToFileURL(path.join(project, ".pulumi-state")).href);
        expect(fileURLToPath(call.env.PULUMI_BACKEND_URL)).toBe(path.join(project, ".pulumi-state"));
        expect(call.env).toHaveProperty("PULUMI_CONFIG_PASSPHRASE", "");
        expect(call.env).not.toHaveProperty("PULUMI_CONFIG_PASSPHRASE_FILE");
        expect(call.env.PULUMI_SKIP_UPDATE_CHECK).toBe("true");
        // The caller's environment otherwise passes through unchanged.
        expect(call.env.KEEP_ME).toBe("1");
        expect(call.env.HOME).toBe(home);
        expect(call.env.PULUMI_ACCESS_TOKEN).toBe("pul-user-token");
    }

    it("first run: creates the stack in a project-local file backend, ups it, says what it created and where the tree is; second run changes nothing", async () => {
        const stackFile = path.join(project, "stacks/Pulumi.dev.yaml");
        const before = fs.readFileSync(stackFile, "utf8");

        const first = await npmRunDev();
        expect(first.stderr).toBe("");
        expect(first.code).toBe(0);
        expect(standIn.calls().map((c) => c.argv)).toEqual([LS, INIT, UP]);
        for (const call of standIn.calls()) expectDevEnvironment(call);
        expect((fs.statSync(path.join(project, ".pulumi-state")).mode & 0o777).toString(8)).toBe("700");
        // Pulumi's output is mirrored, then the summary of the update (not of its preview) and the way to the tree.
        expect(first.stdout).toContain("Previewing update (dev)");
        expect(first.stdout).toContain("kube-pki dev: created 20 resources.\n");
        expect(first.stdout).toContain(`is in ${path.join(project, ".dev-node/etc/kubernetes")}`);
        expect(first.stdout).toContain("  openssl x509 -in .dev-node/etc/kubernetes/pki/apiserver.crt -noout -text\n");
        expect(first.stdout).toContain("  kubectl --kubeconfig .dev-node/etc/kubernetes/admin.conf config view\n");
        // stack init found the committed salt for the empty passphrase: the checkout stays clean.
        expect(fs.readFileSync(stackFile, "utf8")).toBe(before);

        const second = await npmRunDev();
        expect(second.code).toBe(0);
        expect(standIn.calls().slice(3).map((c) => c.argv)).toEqual([LS, UP]);
        for (const call of standIn.calls()) expectDevEnvironment(call);
        expect(second.stdout).toContain("kube-pki dev: nothing changed (20 resources unchanged).\n");
        expect(second.stdout).not.toContain("creating stack");
    }, 60_000);

    it("does not create a stack that exists, and reports a mixed update by kind", async () => {
        standIn.setBehavior({ stacks: ["staging", "dev"] });
        const io = captureIo(os.tmpdir());
        expect(await runDev({ projectDir: project }, io, env)).toBe(0);
        expect(standIn.calls().map((c) => c.argv)).toEqual([LS, UP]);
        expect(describeSummary(["+ 3 created", "~ 2 updated", "-1 deleted", "25 unchanged"]))
            .toBe("created 3 resources, updated 2 resources, deleted 1 resource (25 unchanged)");
        expect(describeSummary([])).toBe("done (Pulumi printed no resource summary)");
    });

    it("a failed up exits 2 and says what failed, after Pulumi's own output", async () => {
        standIn.setBehavior({ upCode: 255 });
        const io = captureIo(os.tmpdir());
        expect(await runDev({ projectDir: project }, io, env)).toBe(2);
        expect(standIn.calls().map((c) => c.argv)).toEqual([LS, INIT, UP]);
        expect(io.err()).toContain("error: update failed\n");
        expect(io.err()).toMatch(/kube-pki dev: pulumi up --stack dev failed \(exit 255\); see Pulumi's output above\n$/);
        expect(io.out()).not.toContain("created");
        expect(io.out()).not.toContain("openssl x509");
    });

    it("without pulumi on PATH or in ~/.pulumi/bin: exit 3 with the install command, nothing run", async () => {
        const saved = { PATH: process.env.PATH, HOME: process.env.HOME };
        process.env.PATH = "/usr/bin:/bin";
        process.env.HOME = home;
        try {
            const io = captureIo(os.tmpdir());
            expect(await run(["dev", "--project-dir", project], io)).toBe(3);
            expect(io.err()).toContain("the Pulumi CLI was not found on PATH or in ~/.pulumi/bin");
            expect(io.err()).toContain("curl -fsSL https://get.pulumi.com | sh");
        } finally {
            process.env.PATH = saved.PATH;
            process.env.HOME = saved.HOME;
        }
        expect(standIn.calls()).toEqual([]);
        expect(fs.existsSync(path.join(project, ".pulumi-state"))).toBe(false);
    });

    it("a project directory without Pulumi.yaml: exit 3 naming --project-dir", async () => {
        const io = captureIo(os.tmpdir());
        expect(await run(["dev", "--project-dir", home], io)).toBe(3);
        expect(io.err()).toContain(`${home} holds no Pulumi.yaml: --project-dir must name the kube-pki checkout`);
        expect(standIn.calls()).toEqual([]);
    });

    it("without the committed salt, stack init (as the real CLI) would write one into the user's checkout", async () => {
        // The control for the clean-checkout assertion above: the stand-in models Pulumi's save of a new salt.
        const stackFile = path.join(project, "stacks/Pulumi.dev.yaml");
        fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace(/^encryptionsalt:.*\n/m, ""));
        expect(await runDev({ projectDir: project }, captureIo(os.tmpdir()), env)).toBe(0);
        expect(fs.readFileSync(stackFile, "utf8")).toMatch(/^encryptionsalt: v1:/m);
    });
});

describe("stacks/Pulumi.dev.yaml encryptionsalt", () => {
    // Pulumi's passphrase secrets manager (github.com/pulumi/pulumi v3.248.0): the state is
    // "v1:" + base64(8-byte salt) + ":" + EncryptValue("pulumi") (pkg/secrets/passphrase/manager.go:163-178),
    // EncryptValue = "v1:" + base64(12-byte nonce) + ":" + base64(AES-256-GCM seal, tag appended)
    // (sdk/go/common/resource/config/crypt.go:179-183, 232-248), the key PBKDF2-SHA256(passphrase, salt,
    // 1,000,000 iterations, 32 bytes) (crypt.go:165-168); a passphrase is right when the value opens to
    // "pulumi" (manager.go:47-70).
    const line = /^encryptionsalt: (\S+)$/m.exec(fs.readFileSync(path.join(PROJECT_DIR, "stacks/Pulumi.dev.yaml"), "utf8"));
    const [version, salt64, valueVersion, nonce64, sealed64] = (line?.[1] ?? "").split(":");
    const salt = Buffer.from(salt64 ?? "", "base64");
    const nonce = Buffer.from(nonce64 ?? "", "base64");
    const sealed = Buffer.from(sealed64 ?? "", "base64");
    const key = (phrase: string) => crypto.pbkdf2Sync(Buffer.from(phrase, "utf8"), salt, 1_000_000, 32, "sha256");

    it("is Pulumi's v1 passphrase state for the empty passphrase, re-derived with node:crypto", () => {
        expect([version, valueVersion, salt.length, nonce.length]).toEqual(["v1", "v1", 8, 12]);
        const k = key("");
        const cipher = crypto.createCipheriv("aes-256-gcm", k, nonce);
        const resealed = Buffer.concat([cipher.update("pulumi", "utf8"), cipher.final(), cipher.getAuthTag()]);
        expect(resealed.toString("base64")).toBe(sealed64);
        const decipher = crypto.createDecipheriv("aes-256-gcm", k, nonce);
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        expect(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString("utf8")).toBe("pulumi");
    });

    it("does not open with any other passphrase", () => {
        const decipher = crypto.createDecipheriv("aes-256-gcm", key("pulumi"), nonce);
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        expect(() => Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()])).toThrow();
    });
});
