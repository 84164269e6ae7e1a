/**
 * Private keys the way @pulumi/tls (terraform-provider-tls) emits them: RSA as PKCS#1,
 * ECDSA as SEC1, ED25519 as PKCS#8, plus PKCS#8, SPKI and OpenSSH forms and fingerprints.
 */
import * as crypto from "node:crypto";

export type TlsKeyAlgorithm = "RSA" | "ECDSA" | "ED25519";

export interface PrivateKeyOutputs {
    algorithm: TlsKeyAlgorithm;
    privateKeyPem: string;
    privateKeyPemPkcs8: string;
    publicKeyPem: string;
    /** "" when OpenSSH cannot represent the key (ECDSA P224), as the provider does. */
    privateKeyOpenssh: string;
    publicKeyOpenssh: string;
    publicKeyFingerprintSha256: string;
    publicKeyFingerprintMd5: string;
}

const CURVES: Record<string, { node: string; ssh?: string; sshName?: string }> = {
    P224: { node: "secp224r1" },
    P256: { node: "prime256v1", ssh: "ecdsa-sha2-nistp256", sshName: "nistp256" },
    P384: { node: "secp384r1", ssh: "ecdsa-sha2-nistp384", sshName: "nistp384" },
    P521: { node: "secp521r1", ssh: "ecdsa-sha2-nistp521", sshName: "nistp521" },
};

export function generatePrivateKey(inputs: { algorithm?: string; rsaBits?: number; ecdsaCurve?: string }): PrivateKeyOutputs {
    const algorithm = inputs.algorithm;
    let key: crypto.KeyObject;
    if (algorithm === "RSA") {
        key = crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 }).privateKey;
    } else if (algorithm === "ECDSA") {
        const curve = CURVES[inputs.ecdsaCurve ?? "P224"];
        if (!curve) throw new Error(`invalid ecdsaCurve ${JSON.stringify(inputs.ecdsaCurve)}: expected one of ${Object.keys(CURVES).join(", ")}`);
        key = crypto.generateKeyPairSync("ec", { namedCurve: curve.node }).privateKey;
    } else if (algorithm === "ED25519") {
        key = crypto.generateKeyPairSync("ed25519").privateKey;
    } else {
        throw new Error(`invalid algorithm ${JSON.stringify(algorithm)}: expected RSA, ECDSA or ED25519`);
    }
    return describePrivateKey(key);
}

export function keyAlgorithmOf(key: crypto.KeyObject): TlsKeyAlgorithm {
    switch (key.asymmetricKeyType) {
        case "rsa": return "RSA";
        case "ec": return "ECDSA";
        case "ed25519": return "ED25519";
        default: throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    }
}

export function describePrivateKey(key: crypto.KeyObject): PrivateKeyOutputs {
    const algorithm = keyAlgorithmOf(key);
    const nativeType = algorithm === "RSA" ? "pkcs1" : algorithm === "ECDSA" ? "sec1" : "pkcs8";
    const pub = crypto.createPublicKey(key);
    const blob = sshPublicBlob(key);
    return {
        algorithm,
        privateKeyPem: key.export({ type: nativeType, format: "pem" }) as string,
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }) as string,
        publicKeyPem: pub.export({ type: "spki", format: "pem" }) as string,
        privateKeyOpenssh: blob ? opensshPrivateKey(key, blob) : "",
        publicKeyOpenssh: blob ? `${blob.subarray(4, 4 + blob.readUInt32BE(0)).toString()} ${blob.toString("base64")}\n` : "",
        publicKeyFingerprintSha256: blob ? `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}` : "",
        publicKeyFingerprintMd5: blob ? crypto.createHash("md5").update(blob).digest("hex").replace(/(..)(?!$)/g, "$1:") : "",
    };
}

// --- OpenSSH wire format (RFC 4251 strings/mpints; PROTOCOL.key for private keys) ---

function sshString(data: Buffer | string): Buffer {
    const body = typeof data === "string" ? Buffer.from(data) : data;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
}

function sshMpint(unsigned: Buffer): Buffer {
    let i = 0;
    while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
    let body = unsigned.subarray(i);
    if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return sshString(body);
}

function b64u(s: string | undefined): Buffer {
    return Buffer.from(s ?? "", "base64url");
}

function ecPoint(jwk: crypto.JsonWebKey): Buffer {
    return Buffer.concat([Buffer.from([4]), b64u(jwk.x), b64u(jwk.y)]);
}

function sshCurve(key: crypto.KeyObject) {
    const name = key.asymmetricKeyDetails?.namedCurve;
    return Object.values(CURVES).find((c) => c.node === name);
}

/** The public key blob OpenSSH hashes for fingerprints; undefined when SSH has no such key type. */
function sshPublicBlob(key: crypto.KeyObject): Buffer | undefined {
    if (key.asymmetricKeyType === "ec" && !sshCurve(key)?.ssh) return undefined; // P224: no JWK, no SSH form
    const jwk = key.export({ format: "jwk" });
    switch (key.asymmetricKeyType) {
        case "rsa": return Buffer.concat([sshString("ssh-rsa"), sshMpint(b64u(jwk.e)), sshMpint(b64u(jwk.n))]);
        case "ed25519": return Buffer.concat([sshString("ssh-ed25519"), sshString(b64u(jwk.x))]);
        case "ec": {
            const curve = sshCurve(key)!;
            return Buffer.concat([sshString(curve.ssh!), sshString(curve.sshName!), sshString(ecPoint(jwk))]);
        }
        default: return undefined;
    }
}

/** Unencrypted "openssh-key-v1" container, as ssh.MarshalPrivateKey writes it. */
function opensshPrivateKey(key: crypto.KeyObject, publicBlob: Buffer): string {
    const jwk = key.export({ format: "jwk" });
    let fields: Buffer;
    switch (key.asymmetricKeyType) {
        case "rsa":
            fields = Buffer.concat([sshString("ssh-rsa"), sshMpint(b64u(jwk.n)), sshMpint(b64u(jwk.e)),
                sshMpint(b64u(jwk.d)), sshMpint(b64u(jwk.qi)), sshMpint(b64u(jwk.p)), sshMpint(b64u(jwk.q))]);
            break;
        case "ed25519": {
            const pub = b64u(jwk.x);
            fields = Buffer.concat([sshString("ssh-ed25519"), sshString(pub), sshString(Buffer.concat([b64u(jwk.d), pub]))]);
            break;
        }
        default: {
            const curve = sshCurve(key)!;
            fields = Buffer.concat([sshString(curve.ssh!), sshString(curve.sshName!), sshString(ecPoint(jwk)), sshMpint(b64u(jwk.d))]);
        }
    }
    const check = crypto.randomBytes(4);
    let priv = Buffer.concat([check, check, fields, sshString("")]);
    const pad = (8 - (priv.length % 8)) % 8;
    priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""),
        Buffer.from([0, 0, 0, 1]), sshString(publicBlob), sshString(priv),
    ]);
    const lines = body.toString("base64").match(/.{1,70}/g)!.join("\n");
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
