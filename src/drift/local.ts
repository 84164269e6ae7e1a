/**
 * Runs the inventory script for a local-transport node (a directory standing in for "/"), with
 * the same /bin/sh and the same script as over SSH, so both transports are read identically.
 */
import { spawn } from "node:child_process";
import type { RunResult } from "./ssh";

export function runLocally(args: readonly string[], stdin: string, timeoutMs: number): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("/bin/sh", ["-s", "--", ...args], { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => errOut.push(d));
        child.on("error", (err) => { clearTimeout(timer); reject(err); });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8"), code });
        });
        child.stdin.end(stdin);
    });
}
