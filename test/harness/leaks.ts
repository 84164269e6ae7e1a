/**
 * Leak checks in every encoding a key travels in: the PEM body lines, the base64 of the PEM
 * text at each of the three byte alignments (how a kubeconfig's `client-key-data` or a
 * base64-encoded bundle line carries it, whatever precedes it), and the base64 DER of the key
 * in each of its encodings (PKCS#1/SEC1 and PKCS#8). Reports say where and which encoding,
 * never the secret text itself.
 */
import * as crypto from "node:crypto";

export interface LeakNeedle {
    /** What this is, e.g. "key #2: base64 of PEM body, offset 1" (no secret text). */
    kind: string;
    text: string;
}

export interface Haystack { where: string; text: string }
export interface Leak { where: string; kind: string }

/** Shorter fragments would match by chance in unrelated base64. */
const MIN_NEEDLE = 16;

export function keyLeakNeedles(pems: string[]): LeakNeedle[] {
    const needles: LeakNeedle[] = [];
    const add = (kind: string, text: string) => {
        if (text.length >= MIN_NEEDLE && !needles.some((n) => n.text === text)) needles.push({ kind, text });
    };
    pems.forEach((pem, i) => {
        const label = `key #${i}`;
        const body = pemBody(pem);
        // Lines that only carry public values (an RSA modulus) also appear in the public key: skip those.
        const pub = publicForms(pem);
        for (const line of body.split("\n")) if (!pub.some((p) => p.includes(line.trim()))) add(`${label}: PEM body line`, line.trim());
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

/** The key's public half in the encodings that may be printed freely (PEM and base64 DER, SPKI and PKCS#1). */
function publicForms(pem: string): string[] {
    try {
        const pub = crypto.createPublicKey(pem);
        const forms: string[] = [pub.export({ type: "spki", format: "pem" }) as string, pub.export({ type: "spki", format: "der" }).toString("base64")];
        if (pub.asymmetricKeyType === "rsa") {
            forms.push(pub.export({ type: "pkcs1", format: "pem" }) as string, pub.export({ type: "pkcs1", format: "der" }).toString("base64"));
        }
        return forms.map((f) => f.replace(/\n/g, ""));
    } catch {
        return [];
    }
}

/** Plain-data haystacks: the JSON of each value, and its string form when it is a string. */
export function haystack(where: string, value: unknown): Haystack {
    return { where, text: typeof value === "string" ? value : JSON.stringify(value) ?? "" };
}
