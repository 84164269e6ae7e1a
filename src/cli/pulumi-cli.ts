/**
 * Runs the Pulumi CLI for `kube-pki dev` and `kube-pki renew`: finds the binary (cron and systemd
 * start without the installer's PATH), runs it in the project directory with an explicit
 * environment, mirrors its output as it comes and keeps it for the caller's summary.
 * Never passes a secret in argv: passphrases and tokens travel in the environment Pulumi reads.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The directory holding kube-pki's Pulumi.yaml (this package's root), wherever the command starts. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface PulumiResult {
    /** Exit code; null when Pulumi was killed by a signal. */
    code: number | null;
    stdout: string;
    stderr: string;
    /** Wall time in milliseconds. */
    ms: number;
}

export interface PulumiRunOptions {
    /** Path of the pulumi binary (findPulumi). */
    pulumi: string;
    cwd: string;
    env: NodeJS.ProcessEnv;
    /** Called with each chunk as it arrives (e.g. to mirror it into a log). */
    onOutput?: (text: string, stream: "stdout" | "stderr") => void;
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/**
 * The pulumi binary: an explicit path, else the first `pulumi` on PATH, else where Pulumi's
 * installer puts it (~/.pulumi/bin), which a cron job or a systemd unit has not on its PATH.
 */
export function findPulumi(env: NodeJS.ProcessEnv, explicit?: string): string | undefined {
    if (explicit) return isExecutable(explicit) ? path.resolve(explicit) : undefined;
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        if (dir && isExecutable(path.join(dir, "pulumi"))) return path.join(dir, "pulumi");
    }
    const home = env.HOME ?? os.homedir();
    const installed = path.join(home, ".pulumi", "bin", "pulumi");
    return isExecutable(installed) ? installed : undefined;
}

/** Runs pulumi with `args`; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runPulumi(args: readonly string[], opts: PulumiRunOptions): Promise<PulumiResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(opts.pulumi, [...args], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
        const out: string[] = [];
        const err: string[] = [];
        child.stdout.setEncoding("utf8").on("data", (t: string) => { out.push(t); opts.onOutput?.(t, "stdout"); });
        child.stderr.setEncoding("utf8").on("data", (t: string) => { err.push(t); opts.onOutput?.(t, "stderr"); });
        child.on("error", reject);
        // 'close', not 'exit': both pipes are drained by then.
        child.on("close", (code) => resolve({ code, stdout: out.join(""), stderr: err.join(""), ms: Date.now() - started }));
    });
}

/**
 * Pulumi's own summary of an update or preview: the last "Resources:" block it printed
 * ("Resources:\n    + 3 created\n    20 unchanged"), one line per kind, or [] when it printed none.
 * The last: `pulumi up --yes` without --skip-preview prints the preview's block ("+ 3 to create")
 * before the update's (pkg/backend/apply.go in pulumi/pulumi v3.248.0).
 */
export function resourceSummary(output: string): string[] {
    const lines = output.split(/\r?\n/);
    const start = lines.map((l) => l.trim()).lastIndexOf("Resources:");
    if (start < 0) return [];
    const summary: string[] = [];
    for (const line of lines.slice(start + 1)) {
        const t = line.trim();
        // "+ 3 created", "~ 2 updated", "+-1 replaced", "20 unchanged"; the block ends at a blank line.
        if (!/^(?:[+~-]|\+-|-\+)?\s*\d+ \S/.test(t)) break;
        summary.push(t);
    }
    return summary;
}
