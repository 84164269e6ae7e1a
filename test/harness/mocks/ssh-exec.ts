/**
 * Runs a `command:remote:Command` script over SSH (ssh2), as @pulumi/command does: connect with
 * the resource's `connection`, set `environment` via SSH env requests, write `stdin`, close it,
 * collect stdout/stderr; a non-zero exit is an error carrying the output.
 */
import { Client, type ConnectConfig } from "ssh2";
import { CommandFailedError, trimOneNewline, type CommandOutcome } from "./command-result";
import { sshExitCause } from "./provider-contract";

/** The `connection` input (after @pulumi/command's defaults: port 22, user root, dialErrorLimit 10, perDialTimeout 15). */
export interface SshConnection {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    /** authorized_keys form ("ssh-ed25519 AAAA…"); when set, any other host key is refused. */
    hostKey?: string;
    dialErrorLimit?: number;
    /** Seconds. */
    perDialTimeout?: number;
}

export interface RemoteRun {
    command: string;
    stdin?: string;
    environment?: Record<string, string>;
    /** Optional test bound for dialing + running (the provider has none). */
    timeoutMs?: number;
}

export async function runRemoteCommand(conn: SshConnection, run: RemoteRun): Promise<CommandOutcome> {
    const deadline = run.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + run.timeoutMs;
    const client = await dial(conn, deadline);
    try {
        return await execute(client, run, deadline);
    } finally {
        client.end();
    }
}

export async function dial(conn: SshConnection, deadline: number = Number.POSITIVE_INFINITY): Promise<Client> {
    // -1 = unlimited in the provider; here the deadline still bounds it.
    const limit = conn.dialErrorLimit ?? 10;
    const attempts = limit < 0 ? Number.POSITIVE_INFINITY : Math.max(1, limit);
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= attempts && Date.now() < deadline; attempt++) {
        try {
            return await connectOnce(conn, Math.min((conn.perDialTimeout ?? 15) * 1000, Math.max(1, deadline - Date.now())));
        } catch (err) {
            lastError = err as Error;
            // The provider retries these too (slowly); they do not get better, so fail fast in tests.
            if (/authentication|host key/i.test(lastError.message)) break;
            await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 1000)));
        }
    }
    throw new Error(`ssh: cannot connect to ${conn.user ?? "root"}@${conn.host}:${conn.port ?? 22}: ${lastError?.message ?? "timed out"}`);
}

function connectOnce(conn: SshConnection, timeoutMs: number): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        let hostKeyMismatch = false;
        const expected = conn.hostKey?.trim().split(/\s+/)[1];
        const config: ConnectConfig = {
            host: conn.host,
            port: conn.port ?? 22,
            username: conn.user ?? "root",
            password: conn.password,
            privateKey: conn.privateKey,
            passphrase: conn.privateKeyPassword,
            readyTimeout: timeoutMs,
            hostVerifier: expected === undefined ? undefined : (key: Buffer) => {
                hostKeyMismatch = key.toString("base64") !== expected;
                return !hostKeyMismatch;
            },
        };
        client.once("ready", () => resolve(client));
        client.once("error", (err) => {
            client.end();
            reject(hostKeyMismatch ? new Error("host key mismatch (hostKey given in connection)") : err);
        });
        client.connect(config);
    });
}

function execute(client: Client, run: RemoteRun, deadline: number): Promise<CommandOutcome> {
    return new Promise((resolve, reject) => {
        const timer = deadline === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => {
            client.end();
            reject(new Error(`ssh: command did not finish in time: ${JSON.stringify(run.command)}`));
        }, Math.max(1, deadline - Date.now()));
        // A cut connection may close the client without ever closing the channel: fail at once,
        // as the provider does, instead of waiting for the deadline.
        const lost = (why: string) => {
            clearTimeout(timer);
            reject(new Error(`ssh: connection lost while running the command (${why})`));
        };
        client.once("close", () => lost("closed"));
        client.once("error", (e: Error) => lost(e.message));
        client.exec(run.command, { env: run.environment }, (err, stream) => {
            if (err) {
                clearTimeout(timer);
                reject(new Error(`ssh: cannot start command: ${err.message}`));
                return;
            }
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            const both: Buffer[] = [];
            let exit: { code?: number; signal?: string; desc?: string } = {};
            stream.on("data", (b: Buffer) => { out.push(b); both.push(b); });
            stream.stderr.on("data", (b: Buffer) => { errOut.push(b); both.push(b); });
            stream.on("exit", (code: number | null, signal?: string, _dump?: boolean, desc?: string) => { exit = { code: code ?? undefined, signal, desc }; });
            stream.on("close", () => {
                clearTimeout(timer);
                const stdout = Buffer.concat(out).toString();
                const stderr = Buffer.concat(errOut).toString();
                if (exit.code === 0) resolve({ stdout: trimOneNewline(stdout), stderr: trimOneNewline(stderr) });
                else reject(new CommandFailedError(sshExitCause(exit.code, exit.signal, exit.desc), run.command, stdout, stderr, Buffer.concat(both).toString()));
            });
            stream.end(run.stdin && run.stdin.length > 0 ? run.stdin : undefined);
        });
    });
}
