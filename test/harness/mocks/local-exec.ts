/** Runs a `command:local:Command` script on this machine, as @pulumi/command does (interpreter + stdin). */
import { spawn } from "node:child_process";
import { CommandFailedError, trimOneNewline, type CommandOutcome } from "./command-result";
import { localExitCause } from "./provider-contract";

export interface LocalRun {
    command: string;
    stdin?: string;
    /** Added to this process's environment (the provider inherits it too). */
    environment?: Record<string, string>;
    dir?: string;
    /** Default ["/bin/sh", "-c"]. */
    interpreter?: string[];
    /** Optional test bound (the provider has none). */
    timeoutMs?: number;
}

export function runLocalCommand(run: LocalRun): Promise<CommandOutcome> {
    const [exe, ...args] = run.interpreter && run.interpreter.length > 0 ? run.interpreter : ["/bin/sh", "-c"];
    return new Promise((resolve, reject) => {
        const child = spawn(exe, [...args, run.command], {
            cwd: run.dir, env: { ...process.env, ...run.environment }, stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const both: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => { out.push(b); both.push(b); });
        child.stderr.on("data", (b: Buffer) => { err.push(b); both.push(b); });
        const timer = run.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), run.timeoutMs);
        child.on("error", (e) => { clearTimeout(timer); reject(new Error(`cannot start ${exe}: ${e.message}`)); });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const stdout = Buffer.concat(out).toString();
            const stderr = Buffer.concat(err).toString();
            if (code === 0) resolve({ stdout: trimOneNewline(stdout), stderr: trimOneNewline(stderr) });
            else reject(new CommandFailedError(localExitCause(code, signal), run.command, stdout, stderr, Buffer.concat(both).toString()));
        });
        // The script may exit without reading stdin; ignore EPIPE.
        child.stdin.on("error", () => undefined);
        child.stdin.end(run.stdin && run.stdin.length > 0 ? run.stdin : undefined);
    });
}
