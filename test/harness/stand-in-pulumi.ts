/**
 * A stand-in `pulumi` binary for tests of the commands that run the Pulumi CLI (`kube-pki dev`,
 * `kube-pki renew`): the real CLI cannot run here. It records every call (argv, cwd, the whole
 * environment) as a JSON line and answers the few subcommands kube-pki uses the way the real
 * CLI does: `stack ls --json`, `stack init`, `up`, `preview`, `version`. Anything else fails
 * loudly, so a command that starts calling something new is caught. Its state (which stacks
 * exist, how many updates ran) lives beside it, so a second run sees what the first created.
 * Also as the real CLI (v3.248.0): a file:// PULUMI_BACKEND_URL must name an existing directory
 * (gocloud fileblob stats it: pkg/backend/diy/backend.go:267-269); `stack init --secrets-provider
 * passphrase` needs PULUMI_CONFIG_PASSPHRASE (set, even empty) or PULUMI_CONFIG_PASSPHRASE_FILE
 * (pkg/secrets/passphrase/manager.go:378-395), checks the passphrase against the stack file's
 * `encryptionsalt:` when it has one (:314, :67) and otherwise writes a new one into the file
 * (stack/secrets.go:128, stack/io.go:422); with `showPreview`, `up` prints the preview's
 * "Resources:" block before the update's, as without --skip-preview (pkg/backend/apply.go:291).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface PulumiCall {
    argv: string[];
    cwd: string;
    env: Record<string, string>;
}

export interface StandInBehavior {
    /** Stacks that exist before the first call. */
    stacks: string[];
    /** Exit code of `up` (0 unless a test makes it fail). */
    upCode: number;
    /** Resources the first update creates; later updates report them unchanged. */
    resources: number;
    /** Shell command run by `up` before it answers (e.g. to renew certificates on a simulated node). */
    upHook?: string;
    /** `up` without --skip-preview first prints the preview (with its own "Resources:" block), as the real CLI does (default). */
    showPreview: boolean;
}

export interface StandInPulumi {
    /** Directory to put first on PATH. */
    dir: string;
    /** The stand-in's own path. */
    bin: string;
    calls(): PulumiCall[];
    setBehavior(b: Partial<StandInBehavior>): void;
    remove(): void;
}

// The stand-in itself: plain Node, run with this Node's absolute path (PATH may not name node).
const SCRIPT = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const { execSync } = require("node:child_process");
const dir = __dirname;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "calls.jsonl"), JSON.stringify({ argv, cwd: process.cwd(), env: process.env }) + "\n");
const behavior = JSON.parse(fs.readFileSync(path.join(dir, "behavior.json"), "utf8"));
const statePath = path.join(dir, "state.json");
const state = fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, "utf8")) : { stacks: behavior.stacks, updates: {} };
const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
const flag = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const words = argv.filter((a, i) => !a.startsWith("-") && !(i > 0 && ["--stack", "-s", "--secrets-provider", "--cwd", "-C"].includes(argv[i - 1])));
const stack = flag("--stack") ?? flag("-s");
const fail = (msg, code = 255) => { process.stderr.write("error: " + msg + "\n"); process.exit(code); };
const backendUrl = process.env.PULUMI_BACKEND_URL;
if (backendUrl && backendUrl.startsWith("file://")) {
    const dir = require("node:url").fileURLToPath(backendUrl);
    if (!fs.existsSync(dir)) fail("unable to open bucket " + backendUrl + "?no_tmp_dir=true: stat " + dir + ": no such file or directory");
}
// The passphrase secrets manager of a new stack, as pkg/secrets/passphrase/manager.go does it.
function passphraseStack(name) {
    const crypto = require("node:crypto");
    let phrase = process.env.PULUMI_CONFIG_PASSPHRASE;
    if (phrase === undefined && process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        phrase = fs.readFileSync(path.resolve(process.env.PULUMI_CONFIG_PASSPHRASE_FILE), "utf8").trim();
    }
    if (phrase === undefined) fail("could not create secrets manager for new stack: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables");
    const project = fs.existsSync("Pulumi.yaml") ? fs.readFileSync("Pulumi.yaml", "utf8") : "";
    const configDir = (/^stackConfigDir:\s*(\S+)\s*$/m.exec(project) || [])[1] || ".";
    const file = path.join(configDir, "Pulumi." + name + ".yaml");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const salt = (/^encryptionsalt:\s*(\S+)\s*$/m.exec(text) || [])[1];
    const keyOf = (s) => crypto.pbkdf2Sync(Buffer.from(phrase, "utf8"), s, 1000000, 32, "sha256");
    if (salt) {
        const [v, s64, v2, n64, c64] = salt.split(":");
        const sealed = Buffer.from(c64 || "", "base64");
        let plain = "";
        try {
            const d = crypto.createDecipheriv("aes-256-gcm", keyOf(Buffer.from(s64, "base64")), Buffer.from(n64, "base64"));
            d.setAuthTag(sealed.subarray(sealed.length - 16));
            plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]).toString("utf8");
        } catch { plain = ""; }
        if (v !== "v1" || v2 !== "v1" || plain !== "pulumi") fail("could not create secrets manager for new stack: incorrect passphrase");
        return;
    }
    const s = crypto.randomBytes(8), nonce = crypto.randomBytes(12);
    const c = crypto.createCipheriv("aes-256-gcm", keyOf(s), nonce);
    const sealed = Buffer.concat([c.update("pulumi", "utf8"), c.final(), c.getAuthTag()]);
    fs.writeFileSync(file, text + (text && !text.endsWith("\n") ? "\n" : "") + "encryptionsalt: v1:" + s.toString("base64") + ":v1:" + nonce.toString("base64") + ":" + sealed.toString("base64") + "\n");
}
if (words[0] === "version") { process.stdout.write("v3.248.0\n"); process.exit(0); }
if (words[0] === "stack" && words[1] === "ls") {
    if (!argv.includes("--json")) fail("stand-in answers only stack ls --json");
    process.stdout.write(JSON.stringify(state.stacks.map((name) => ({ name, current: false, updateInProgress: false }))) + "\n");
    process.exit(0);
}
if (words[0] === "stack" && words[1] === "init") {
    const name = words[2] ?? stack;
    if (!name) fail("no stack name");
    if (state.stacks.includes(name)) fail("stack '" + name + "' already exists");
    if (flag("--secrets-provider") === "passphrase") passphraseStack(name);
    state.stacks.push(name); save();
    process.stdout.write("Created stack '" + name + "'\n");
    process.exit(0);
}
if (words[0] === "up" || words[0] === "preview") {
    if (!stack) fail("no stack selected (the stand-in wants --stack)");
    if (!state.stacks.includes(stack)) fail("no stack named '" + stack + "' found");
    const first = !state.updates[stack];
    const n = behavior.resources;
    if (words[0] === "up" && behavior.showPreview && !argv.includes("--skip-preview") && !argv.includes("-f")) {
        process.stdout.write("Previewing update (" + stack + "):\n\nResources:\n    " + (first ? "+ " + n + " to create" : n + " unchanged") + "\n\n");
    }
    if (words[0] === "up" && behavior.upHook) execSync(behavior.upHook, { stdio: "inherit", shell: "/bin/sh" });
    if (words[0] === "up" && behavior.upCode !== 0) {
        process.stdout.write("Updating (" + stack + "):\n\nResources:\n    1 errored\n\n");
        fail("update failed", behavior.upCode);
    }
    const verb = words[0] === "up" ? (first ? "created" : "unchanged") : (first ? "to create" : "unchanged");
    process.stdout.write((words[0] === "up" ? "Updating" : "Previewing update") + " (" + stack + "):\n\n" +
        "Resources:\n    " + (first ? "+ " + n + " " + verb : n + " unchanged") + "\n\nDuration: 1s\n\n");
    if (words[0] === "up") { state.updates[stack] = (state.updates[stack] ?? 0) + 1; save(); }
    process.exit(0);
}
fail("the stand-in pulumi does not know: pulumi " + argv.join(" "), 2);
`;

export function createStandInPulumi(behavior: Partial<StandInBehavior> = {}): StandInPulumi {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kpki-pulumi-"));
    const bin = path.join(dir, "pulumi");
    fs.writeFileSync(path.join(dir, "stand-in.js"), SCRIPT);
    // A POSIX sh wrapper, as the real `pulumi` is an executable on PATH; node by absolute path.
    fs.writeFileSync(bin, `#!/bin/sh\nexec '${process.execPath}' '${path.join(dir, "stand-in.js")}' "$@"\n`, { mode: 0o755 });
    let current: StandInBehavior = { stacks: [], upCode: 0, resources: 20, showPreview: true, ...behavior };
    const writeBehavior = () => fs.writeFileSync(path.join(dir, "behavior.json"), JSON.stringify(current));
    writeBehavior();
    // The directory may be read by another user (tests that run a command as non-root).
    fs.chmodSync(dir, 0o755);
    return {
        dir,
        bin,
        calls: () => {
            const file = path.join(dir, "calls.jsonl");
            if (!fs.existsSync(file)) return [];
            return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as PulumiCall);
        },
        setBehavior: (b) => { current = { ...current, ...b }; writeBehavior(); },
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}
