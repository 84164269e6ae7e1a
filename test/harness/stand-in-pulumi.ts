/**
 * A stand-in `pulumi` binary for tests of the commands that run the Pulumi CLI (`kube-pki dev`,
 * `kube-pki renew`): the real CLI cannot run here. It records every call (argv, cwd, the whole
 * environment) as a JSON line and answers the few subcommands kube-pki uses the way the real
 * CLI does: `stack ls --json`, `stack init`, `up`, `preview`, `version`. Anything else fails
 * loudly, so a command that starts calling something new is caught. Its state (which stacks
 * exist, how many updates ran) lives beside it, so a second run sees what the first created.
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
    state.stacks.push(name); save();
    process.stdout.write("Created stack '" + name + "'\n");
    process.exit(0);
}
if (words[0] === "up" || words[0] === "preview") {
    if (!stack) fail("no stack selected (the stand-in wants --stack)");
    if (!state.stacks.includes(stack)) fail("no stack named '" + stack + "' found");
    const first = !state.updates[stack];
    if (words[0] === "up" && behavior.upHook) execSync(behavior.upHook, { stdio: "inherit", shell: "/bin/sh" });
    if (words[0] === "up" && behavior.upCode !== 0) {
        process.stdout.write("Updating (" + stack + "):\n\nResources:\n    1 errored\n\n");
        fail("update failed", behavior.upCode);
    }
    const n = behavior.resources;
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
    let current: StandInBehavior = { stacks: [], upCode: 0, resources: 20, ...behavior };
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
