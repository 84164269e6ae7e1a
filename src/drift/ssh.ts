/**
 * Runs one command on a node over one SSH session (ssh2) and collects its output. The login key
 * stays in memory. The host key is pinned as pulumi-command pins it (only the pin's key type is
 * offered, the key must be the pin); a node without a pin is refused unless the stack opted out.
 * Every phase is bounded.
 */
import { Client, type ServerHostKeyAlgorithm } from "ssh2";
import { blobType, parseHostKey, sha256Fingerprint, type HostKey } from "../config/host-key";
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

export const HOST_KEY_MISMATCH = "host key does not match the pinned hostKey";
export const NO_HOST_KEY_PIN = "no SSH host key pinned";

/** The parsed pin, or an error that says why the node is not read. */
function pinOf(ssh: SshSpec): HostKey | Error | undefined {
    if (ssh.hostKey === undefined) {
        if (ssh.insecureIgnoreHostKey) return undefined;
        return new Error(`${NO_HOST_KEY_PIN} for ${ssh.host}:${ssh.port}: set the node's ssh.hostKey (\`npx kube-pki host-keys\` prints it), or opt out with kube-pki:ssh.insecureIgnoreHostKeys: true`);
    }
    const parsed = parseHostKey(ssh.hostKey);
    return "problem" in parsed ? new Error(`host key pin is not an SSH public key: ${parsed.problem}`) : parsed;
}

export function runOverSsh(ssh: SshSpec, command: string, stdin: string, opts: SshRunOptions): Promise<RunResult> {
    const pinned = pinOf(ssh);
    if (pinned instanceof Error) return Promise.reject(pinned);
    let offered: Buffer | undefined;
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
        client.on("error", (err) => finish(new Error(describeSshError(err, pinned, offered))));
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
            // As pulumi-command: offer only the pin's type, so a node with several host keys shows the pinned one.
            ...(pinned
                ? {
                      algorithms: { serverHostKey: [pinned.type as ServerHostKeyAlgorithm] },
                      hostVerifier: (key: Buffer) => {
                          offered = Buffer.from(key);
                          return key.equals(pinned.blob);
                      },
                  }
                : {}),
        });
    });
}

function describeSshError(err: Error & { level?: string; code?: string }, pinned: HostKey | undefined, offered: Buffer | undefined): string {
    if (pinned && offered && !offered.equals(pinned.blob)) {
        return `${HOST_KEY_MISMATCH}: the node offers ${blobType(offered)} ${sha256Fingerprint(offered)}, the pin is ${sha256Fingerprint(pinned.blob)}; ` +
            "if the node was reinstalled, confirm its new key with its admin and update the pin (`npx kube-pki host-keys`), else someone may be intercepting";
    }
    if (pinned && /no matching host key/i.test(err.message)) {
        return `${HOST_KEY_MISMATCH}: the node offers no ${pinned.type} host key (${err.message})`;
    }
    if (/host key|Host denied/i.test(err.message)) return `${HOST_KEY_MISMATCH} (${err.message})`;
    if (err.level === "client-authentication") return "SSH login refused (check user and private key)";
    if (err.level === "client-timeout") return "SSH connect timed out";
    return err.code ? `${err.code}: ${err.message}` : err.message;
}
