/**
 * Leak checks in every encoding a key travels in: the PEM body lines, the base64 of the PEM
 * text at each of the three byte alignments (how a kubeconfig's `client-key-data` or a
 * base64-encoded bundle line carries it, whatever precedes it), and the base64 DER of the key
 * in each of its encodings (PKCS#1/SEC1 and PKCS#8). Reports say where and which encoding,
 * never the secret text itself.
 */
import * as crypto from "node:crypto";
import type { RunResult } from "./mocks/records";

export interface LeakNeedle {
    /** What this is, e.g. "key #2: base64 of PEM body, offset 1" (no secret text). */
    kind: string;
    text: string;
}

export interface Haystack { where: string; text: string }
export interface Leak { where: string; kind: string }

/** Shorter fragments would match by chance in unrelated base64. */
const MIN_NEEDLE = 16;

/**
 * @param publicTexts public keys that may be shown (e.g. publicKeyPem, publicKeyOpenssh). PEM
 * lines whose bytes lie inside a public value (an RSA modulus, an EC point, the public blob in an
 * OpenSSH key) are not needles: certificates and public keys carry the same bytes.
 */
export function keyLeakNeedles(pems: string[], opts: { publicTexts?: string[] } = {}): LeakNeedle[] {
    const needles: LeakNeedle[] = [];
    const add = (kind: string, text: string) => {
        if (text.length >= MIN_NEEDLE && !needles.some((n) => n.text === text)) needles.push({ kind, text });
    };
    const publicValues = [...pems, ...(opts.publicTexts ?? [])].flatMap(publicBytes).filter((b) => b.length >= 16);
    pems.forEach((pem, i) => {
        const label = `key #${i}`;
        const body = pemBody(pem);
        for (const line of privateLines(body, publicValues)) add(`${label}: PEM body line`, line);
        // base64 of any text containing the body: the groups after the first alignment point.
        const bytes = Buffer.from(body, "utf8");
        for (let offset = 0; offset < 3; offset++) {
            const tail = bytes.subarray(offset);
            const whole = tail.subarray(0, tail.length - (tail.length % 3));
            add(`${label}: base64 of PEM, byte offset ${offset}`, whole.toString("base64"));
        }
        for (const [form, der] of derForms(pem)) {
            add(`${label}: base64 DER (${form})`, der.toString("base64"));
            add(`${label}: base64url DER (${form})`, der.toString("base64url"));
        }
    });
    return needles;
}

export function findLeaks(needles: LeakNeedle[], haystacks: Haystack[]): Leak[] {
    const leaks: Leak[] = [];
    for (const h of haystacks) {
        // Line-wrapped base64 (PEM style, 64 or 76 columns) hides a long needle; search unwrapped too.
        const flat = h.text.replace(/\\n|\r?\n/g, "");
        for (const n of needles) {
            if (h.text.includes(n.text) || flat.includes(n.text)) leaks.push({ where: h.where, kind: n.kind });
        }
    }
    return leaks;
}

/** The PEM's text between its BEGIN and END lines (the whole text when it has none). */
function pemBody(pem: string): string {
    const m = /-----BEGIN [^-]+-----\r?\n([\s\S]*?)\r?\n?-----END [^-]+-----/.exec(pem);
    return (m ? m[1] : pem).replace(/\r/g, "").trim();
}

function derForms(pem: string): [string, Buffer][] {
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey(pem);
    } catch {
        return []; // fake (echo) or OpenSSH-format text: the text needles cover it
    }
    const forms: [string, Buffer][] = [["pkcs8", key.export({ type: "pkcs8", format: "der" })]];
    if (key.asymmetricKeyType === "rsa") forms.push(["pkcs1", key.export({ type: "pkcs1", format: "der" })]);
    if (key.asymmetricKeyType === "ec") forms.push(["sec1", key.export({ type: "sec1", format: "der" })]);
    return forms;
}

/** Public byte strings of a key or public key text: SPKI DER, RSA modulus, EC point, Ed25519 key, SSH blob. */
function publicBytes(text: string): Buffer[] {
    const ssh = /^(ssh-\S+|ecdsa-\S+)\s+([A-Za-z0-9+/=]+)/.exec(text.trim());
    if (ssh) return [Buffer.from(ssh[2], "base64")];
    try {
        const pub = crypto.createPublicKey(text);
        const jwk = pub.export({ format: "jwk" });
        const raw: Buffer[] = [pub.export({ type: "spki", format: "der" })];
        if (jwk.n) raw.push(Buffer.from(jwk.n, "base64url"));
        if (jwk.kty === "EC") raw.push(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]));
        if (jwk.kty === "OKP") raw.push(Buffer.from(jwk.x!, "base64url"));
        return raw;
    } catch {
        return [];
    }
}

/** Body lines of a base64 PEM that carry some byte outside every public value (all lines if not base64). */
function privateLines(body: string, publicValues: Buffer[]): string[] {
    const lines = body.split("\n").map((l) => l.trim()).filter(Boolean);
    const joined = lines.join("");
    if (!/^[A-Za-z0-9+/=]+$/.test(joined)) return lines;
    const bytes = Buffer.from(joined, "base64");
    // Byte ranges covered by public values (with a few bytes of length headers around them).
    const covered: [number, number][] = [];
    for (const v of publicValues) {
        for (let at = bytes.indexOf(v); at >= 0; at = bytes.indexOf(v, at + 1)) covered.push([at - 8, at + v.length + 8]);
    }
    const out: string[] = [];
    let char = 0;
    for (const line of lines) {
        const from = Math.floor((char * 3) / 4), to = Math.ceil(((char + line.length) * 3) / 4);
        char += line.length;
        if (!covered.some(([a, b]) => from >= a && to <= b)) out.push(line);
    }
    return out;
}

/** Plain-data haystacks: the JSON of each value, and its string form when it is a string. */
export function haystack(where: string, value: unknown): Haystack {
    return { where, text: typeof value === "string" ? value : JSON.stringify(value) ?? "" };
}

/** Public keys a mock run produced (may be shown; see keyLeakNeedles). */
export function runPublicTexts(result: RunResult): string[] {
    return result.ofType("tls:index/privateKey:PrivateKey")
        .flatMap((k) => [k.outputs.publicKeyPem, k.outputs.publicKeyOpenssh])
        .filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** Key PEMs a mock run produced (every PrivateKey's three private encodings). */
export function runKeyPems(result: RunResult): string[] {
    return result.ofType("tls:index/privateKey:PrivateKey")
        .flatMap((k) => [k.outputs.privateKeyPem, k.outputs.privateKeyPemPkcs8, k.outputs.privateKeyOpenssh])
        .filter((v): v is string => typeof v === "string" && v.length > 0);
}

/**
 * Everything of a mock run that is not secret: inputs and outputs not marked secret (stdout and
 * stderr included), stack outputs not marked secret, and every failure's error text (the
 * provider's command errors quote the command's output whatever `logging` says).
 */
export function runHaystacks(result: RunResult): Haystack[] {
    const out: Haystack[] = [];
    for (const r of result.resources) {
        for (const [k, v] of Object.entries(r.inputs)) if (!r.secretInputs.includes(k)) out.push(haystack(`${r.name}.inputs.${k}`, v));
        for (const [k, v] of Object.entries(r.outputs)) {
            if (!r.secretOutputs.includes(k) && !r.secretInputs.includes(k)) out.push(haystack(`${r.name}.outputs.${k}`, v));
        }
        if (r.error) out.push(haystack(`${r.name} error`, r.error));
    }
    for (const [name, o] of Object.entries(result.outputs)) if (!o.secret) out.push(haystack(`stack output ${name}`, o.value));
    for (const f of result.failures) out.push(haystack(`failure ${f.urn}`, f.message));
    return out;
}
