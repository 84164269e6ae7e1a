/**
 * Finds and reads the SSH private key each SSH node logs in with: the node's own
 * ssh.privateKeyPath, else the secret kube-pki:sshPrivateKey, else kube-pki:ssh.privateKeyPath.
 * The key text is checked with ssh2's parser (the same one that will use it) and never echoed.
 */
import { utils } from "ssh2";
import type { ConfigIssue, ConfigPath } from "./errors";
import { configKey, show } from "./errors";
import { sentence } from "./fields";
import { resolveUserPath } from "./names";

export interface KeyFileReader {
    readFile(path: string): string;
    cwd: string;
    home: string;
}

export const SET_SECRET_KEY_HINT = "`pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`";

/** Why a text cannot log in, or undefined when it is an unencrypted private key ssh2 can use. */
export function privateKeyProblem(text: string): string | undefined {
    const parsed = utils.parseKey(text);
    if (parsed instanceof Error) return parsed.message;
    return parsed.isPrivateKey() ? undefined : "it is a public key";
}

/** Reads key files once each (several nodes usually share one), recording problems against the key that named the file. */
export class KeyFileCache {
    private readonly texts = new Map<string, string | undefined>();

    constructor(
        private readonly env: KeyFileReader,
        private readonly issues: ConfigIssue[],
    ) {}

    read(configuredPath: string, at: ConfigPath): string | undefined {
        const file = resolveUserPath(configuredPath, this.env);
        if (this.texts.has(file)) return this.texts.get(file);
        let text: string | undefined;
        try {
            text = this.env.readFile(file);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            this.issues.push({
                key: configKey(at),
                message: sentence(`cannot read ${show(file)} (${code})`, `point it at a readable private key file, or store the key with ${SET_SECRET_KEY_HINT}`),
            });
        }
        if (text !== undefined) {
            const problem = privateKeyProblem(text);
            if (problem) {
                this.issues.push({
                    key: configKey(at),
                    message: sentence(`${show(file)} is not a usable SSH private key (${problem})`, "point it at an unencrypted private key file (not the .pub)"),
                });
                text = undefined;
            }
        }
        this.texts.set(file, text);
        return text;
    }
}

/** Checks the secret key text once; undefined when it is unusable (the issue is recorded). */
export function checkSecretKey(text: string, issues: ConfigIssue[]): string | undefined {
    const problem = privateKeyProblem(text);
    if (!problem) return text;
    issues.push({
        key: configKey(["sshPrivateKey"]),
        message: sentence(`is not a usable SSH private key (${problem})`, `store an unencrypted private key's full text with ${SET_SECRET_KEY_HINT}`),
    });
    return undefined;
}
