/**
 * Reads the host keys a node's sshd offers, the way ssh-keyscan does: one key exchange per key
 * type (ssh2 `algorithms.serverHostKey` set to that type only), stopped in `hostVerifier` before
 * any login. No private key is needed or sent.
 */
import { Client } from "ssh2";
import { PINNABLE_HOST_KEY_TYPES, type PinnableHostKeyType } from "../config/host-key";

export interface ScanTarget {
    host: string;
    port: number;
    user: string;
}

export interface ScanResult {
    /** Wire blobs of the ed25519/ECDSA keys the node offers, most preferred first. */
    keys: Buffer[];
    /** Set when the node could not be asked at all (refused, unreachable, timed out). */
    error?: string;
}

type Attempt = { key: Buffer } | { unsupported: true } | { error: string };

/** One key exchange offering only `type`; the server's key is captured, then the connection is dropped. */
function offer(target: ScanTarget, type: PinnableHostKeyType, timeoutMs: number): Promise<Attempt> {
    return new Promise((resolve) => {
        const client = new Client();
        let key: Buffer | undefined;
        let done = false;
        const finish = (a: Attempt) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            client.end();
            resolve(a);
        };
        const timer = setTimeout(() => finish({ error: `no SSH answer within ${timeoutMs / 1000}s` }), timeoutMs);
        client.on("error", (err: Error & { code?: string; level?: string }) => {
            if (key) return finish({ key });
            // The node speaks SSH but has no key of this type.
            if (/no matching host key|handshake failed/i.test(err.message) && err.level !== "client-timeout") return finish({ unsupported: true });
            finish({ error: err.code ? `${err.code}: ${err.message}` : err.message });
        });
        client.on("ready", () => finish(key ? { key } : { error: "logged in without a host key" }));
        client.on("close", () => finish(key ? { key } : { error: "connection closed before key exchange" }));
        client.connect({
            host: target.host,
            port: target.port,
            username: target.user,
            readyTimeout: timeoutMs,
            algorithms: { serverHostKey: [type] },
            hostVerifier: (blob: Buffer) => {
                key = Buffer.from(blob);
                finish({ key });
                return false; // never log in: the key is all we came for
            },
        });
    });
}

/** Every pinnable key the node offers. ed25519 is asked first: if that fails to connect at all, the node is unreachable. */
export async function scanHostKeys(target: ScanTarget, timeoutMs: number): Promise<ScanResult> {
    const [first, ...rest] = PINNABLE_HOST_KEY_TYPES;
    const ed = await offer(target, first, timeoutMs);
    if ("error" in ed) return { keys: [], error: ed.error };
    const others = await Promise.all(rest.map((type) => offer(target, type, timeoutMs)));
    const keys: Buffer[] = [];
    for (const attempt of [ed, ...others]) if ("key" in attempt) keys.push(attempt.key);
    const failed = others.find((a): a is { error: string } => "error" in a);
    if (keys.length === 0 && failed) return { keys, error: failed.error };
    return { keys };
}
