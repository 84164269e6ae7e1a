/**
 * Runs one command on a node over one SSH session (ssh2) and collects its output. The login key
 * stays in memory; the host key is pinned when the node spec names one. Every phase is bounded.
 */
import { Client, utils } from "ssh2";
import type { SshSpec } from "../spec";

export interface RunResult {
    stdout: string;
    stderr: string;
    /** Exit code; null when the command ended by signal or the session was cut. */
    code: number | null;
}

export interface SshRunOptions {
    /** Give up connecting after this long (ms). */
    connectTimeoutMs: number;
    /** Give up on the whole run after this long (ms). */
    timeoutMs: number;
}

/** The raw SSH wire blob of a pinned host key ("ssh-ed25519 AAAA…"). */
function hostKeyBlob(hostKey: string): Buffer {
    const parsed = utils.parseKey(hostKey);
    if (parsed instanceof Error) throw new Error(`host key pin is not an SSH public key: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    return key.getPublicSSH();
}

export function runOverSsh(ssh: SshSpec, command: string, stdin: string, opts: SshRunOptions): Promise<RunResult> {
    const pinned = ssh.hostKey ? hostKeyBlob(ssh.hostKey) : undefined;
    return new Promise((resolve, reject) => {
        const client = new Client();
        let settled = false;
        const finish = (err: Error | undefined, result?: RunResult) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            client.end();
            if (err) reject(err);
            else resolve(result!);
        };
        const timer = setTimeout(() => finish(new Error(`no answer within ${opts.timeoutMs / 1000}s`)), opts.timeoutMs);
        client.on("error", (err) => finish(new Error(describeSshError(err))));
        client.on("ready", () => {
            client.exec(command, (err, stream) => {
                if (err) return finish(err);
                const out: Buffer[] = [];
                const errOut: Buffer[] = [];
                let code: number | null = null;
                stream.on("data", (d: Buffer) => out.push(d));
                stream.stderr.on("data", (d: Buffer) => errOut.push(d));
                stream.on("exit", (c: number | null) => { code = c; });
                stream.on("close", () =>
                    finish(undefined, { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8"), code }));
                stream.end(stdin);
            });
        });
        client.connect({
            host: ssh.host,
            port: ssh.port,
            username: ssh.user,
            privateKey: ssh.privateKey,
            readyTimeout: opts.connectTimeoutMs,
            ...(pinned ? { hostVerifier: (key: Buffer) => key.equals(pinned) } : {}),
        });
    });
}

function describeSshError(err: Error & { level?: string; code?: string }): string {
    if (/host key|Host denied/i.test(err.message)) return `host key does not match the pinned hostKey (${err.message})`;
    if (err.level === "client-authentication") return "SSH login refused (check user and private key)";
    if (err.level === "client-timeout") return "SSH connect timed out";
    return err.code ? `${err.code}: ${err.message}` : err.message;
}
