/**
 * OpenSSH known_hosts → the pin of one host, for `kube-pki check --host … --known-hosts FILE`.
 * Plain ("10.0.0.11", "[10.0.0.11]:2222", comma lists) and hashed ("|1|salt|hash") host fields;
 * `@revoked` and `@cert-authority` lines and negated patterns are never used as pins.
 */
import { createHmac } from "node:crypto";
import { isPinnableType, parseHostKey, PINNABLE_HOST_KEY_TYPES } from "../config/host-key";

/** The name known_hosts files use for a host: "host" on port 22, else "[host]:port". */
export function knownHostsName(host: string, port: number): string {
    return port === 22 ? host : `[${host}]:${port}`;
}

function hostFieldMatches(field: string, name: string): boolean {
    if (field.startsWith("|1|")) {
        const [, , salt, hash] = field.split("|");
        if (!salt || !hash) return false;
        return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
    }
    return field.split(",").some((pattern) => pattern === name);
}

/** Every "type base64" key listed for the host, in file order. */
export function knownKeys(text: string, host: string, port: number): string[] {
    const name = knownHostsName(host, port);
    const keys: string[] = [];
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith("@")) continue;
        const [hosts, type, blob] = line.split(/\s+/);
        if (!hosts || !type || !blob || hosts.split(",").some((p) => p.startsWith("!"))) continue;
        if (hostFieldMatches(hosts, name)) keys.push(`${type} ${blob}`);
    }
    return keys;
}

/** The pin for a host: its ed25519 key, else ECDSA (RSA never); undefined when known_hosts has none. */
export function pinFromKnownHosts(text: string, host: string, port: number): string | undefined {
    const usable = knownKeys(text, host, port).filter((k) => {
        const parsed = parseHostKey(k);
        return "type" in parsed && isPinnableType(parsed.type);
    });
    const rank = (k: string) => (PINNABLE_HOST_KEY_TYPES as readonly string[]).indexOf(k.split(" ")[0]);
    return usable.sort((a, b) => rank(a) - rank(b))[0];
}
