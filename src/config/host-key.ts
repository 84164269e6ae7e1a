/**
 * SSH host key pins: which key types may be pinned, and how a key is shown (the same
 * "256 SHA256:… comment (ED25519)" line `ssh-keygen -lf` prints). Shared by the config checks,
 * the drift/check SSH reads and `kube-pki host-keys`.
 */
import { createHash } from "node:crypto";
import { utils } from "ssh2";

/**
 * Host key types a node may be pinned with, most preferred first. pulumi-command pins with
 * HostKeyAlgorithms=[key.Type()], so an RSA pin would make it offer only `ssh-rsa` (SHA-1
 * signatures), which OpenSSH ≥ 8.8 refuses: RSA is never pinnable.
 */
export const PINNABLE_HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"] as const;
export type PinnableHostKeyType = (typeof PINNABLE_HOST_KEY_TYPES)[number];

export function isPinnableType(type: string): type is PinnableHostKeyType {
    return (PINNABLE_HOST_KEY_TYPES as readonly string[]).includes(type);
}

export interface HostKey {
    type: string;
    /** The SSH wire blob (what the server sends during key exchange). */
    blob: Buffer;
}

/** Why a pin text is not an SSH public key, or the parsed key. Never includes the text itself. */
export function parseHostKey(text: string): HostKey | { problem: string } {
    const parsed = utils.parseKey(text.trim());
    if (parsed instanceof Error) return { problem: parsed.message };
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key.isPrivateKey()) return { problem: "it is a private key" };
    return { type: key.type, blob: key.getPublicSSH() };
}

/** The key type named inside a wire blob (its first SSH string). */
export function blobType(blob: Buffer): string {
    if (blob.length < 4) return "";
    const len = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + len).toString("latin1");
}

/** "SHA256:" + unpadded base64 of the blob's SHA-256, as OpenSSH shows fingerprints. */
export function sha256Fingerprint(blob: Buffer): string {
    return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

const LABELS: Record<string, { bits: number; label: string }> = {
    "ssh-ed25519": { bits: 256, label: "ED25519" },
    "ecdsa-sha2-nistp256": { bits: 256, label: "ECDSA" },
    "ecdsa-sha2-nistp384": { bits: 384, label: "ECDSA" },
    "ecdsa-sha2-nistp521": { bits: 521, label: "ECDSA" },
};

/** `ssh-keygen -lf` form: "256 SHA256:abc… comment (ED25519)" (no comment → "no comment", as ssh-keygen). */
export function fingerprintLine(blob: Buffer, comment?: string): string {
    const type = blobType(blob);
    const known = LABELS[type];
    const bits = known ? `${known.bits} ` : "";
    const label = known?.label ?? type;
    return `${bits}${sha256Fingerprint(blob)} ${comment && comment.trim() !== "" ? comment.trim() : "no comment"} (${label})`;
}

/** The one-line pin ("ssh-ed25519 AAAA…") of a wire blob. */
export function pinText(blob: Buffer): string {
    return `${blobType(blob)} ${blob.toString("base64")}`;
}
