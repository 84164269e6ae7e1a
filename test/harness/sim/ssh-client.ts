/** A tiny ssh2 client for tests: run one command on a simulated node, optionally with stdin. */
import { Client } from "ssh2";

export interface SshTarget {
    ip: string;
    name: string;
    /** "ssh-ed25519 AAAA…" — pinned: a different host key fails the connection. */
    hostPublicKey: string;
    /** OpenSSH private key text of the cluster's root client key. */
    clientPrivateKey: string;
}

export interface SshExecResult {
    stdout: string;
    stderr: string;
    /** Exit status; null when the command was killed by a signal (then `signal` is set). */
    code: number | null;
    signal?: string;
}

export interface SshExecOptions {
    timeoutMs?: number;
}

/**
 * Runs `cmd` as root on `node` over SSH and resolves with its output and exit status.
 * Rejects when the connection drops before the command's exit status arrives (e.g. the
 * cut-ssh-after-bytes fault) or when `timeoutMs` (default 60 s) passes.
 */
export function sshExec(node: SshTarget, cmd: string, stdin?: string | Buffer, opts: SshExecOptions = {}): Promise<SshExecResult> {
    const pinned = Buffer.from(node.hostPublicKey.trim().split(/\s+/)[1] ?? "", "base64");
    return new Promise((resolve, reject) => {
        const conn = new Client();
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let exit: { code: number | null; signal?: string } | undefined;
        let settled = false;
        const finish = (e?: Error) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            conn.end();
            if (e) reject(e);
            else resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ...exit! });
        };
        const timer = setTimeout(() => {
            conn.destroy();
            finish(new Error(`ssh ${node.name}: timed out after ${opts.timeoutMs ?? 60_000} ms running ${JSON.stringify(cmd)}`));
        }, opts.timeoutMs ?? 60_000);
        conn.on("ready", () => {
            conn.exec(cmd, (e, stream) => {
                if (e) return finish(e);
                stream.on("data", (d: Buffer) => out.push(d));
                stream.stderr.on("data", (d: Buffer) => err.push(d));
                stream.on("exit", (code: number | null, signal?: string) => {
                    exit = { code: code ?? null, ...(signal ? { signal } : {}) };
                });
                stream.on("close", () => {
                    if (exit) finish();
                    else finish(new Error(`ssh ${node.name}: connection closed before ${JSON.stringify(cmd)} exited`));
                });
                stream.on("error", () => undefined); // writes after a cut
                stream.end(stdin ?? "");
            });
        });
        conn.on("error", (e) => finish(new Error(`ssh ${node.name}: ${e.message}`)));
        conn.on("close", () => finish(new Error(`ssh ${node.name}: connection closed before ${JSON.stringify(cmd)} exited`)));
        conn.connect({
            host: node.ip,
            port: 22,
            username: "root",
            privateKey: node.clientPrivateKey,
            hostVerifier: (key: Buffer) => key.equals(pinned),
            readyTimeout: 15_000,
        });
    });
}
