/**
 * Parses the line records printed by src/scripts/inventory.sh into plain data. Pure: the records
 * carry only public material (certificates, public keys, digests, paths), never key content.
 * Key matches are decided here: the script prints each private key's public half (as PEM from
 * openssl, or as the key's public DER fields read by its awk), and the certificate's public key
 * is compared with it (both as SubjectPublicKeyInfo DER).
 */
import { createPublicKey, X509Certificate, type JsonWebKey } from "node:crypto";

export interface RawFile {
    path: string;
    state: "present" | "absent" | "unreadable";
    sha256?: string;
    mode?: string;
    /** PEM certificate blocks found in the file (any file that holds one, but kubeconfigs). */
    pems: string[];
    /** What the file holds, read from its content on the node (absent: nothing recognised). */
    holds?: Array<"certificate" | "private-key" | "public-key" | "kubeconfig">;
}

export interface RawKubeconfig {
    server?: string;
    caData?: string;
    clientData?: string;
    clientFile?: string;
    /** Where the client key is: a file on the node, embedded (client-key-data), or nowhere. */
    clientKeyFile?: string;
    clientKeyEmbedded?: boolean;
    /** The kubeconfig is byte for byte what install.sh verified (its embedded key matched). */
    keyInstalled?: boolean;
    keyMatch?: "yes" | "no" | "error" | "none";
}

export interface RawServed {
    name: string;
    host: string;
    port: number;
    pem?: string;
    failure?: string;
}

export interface RawInventory {
    /** The node's clock, epoch seconds. */
    now?: number;
    files: Map<string, RawFile>;
    /** "cert|key" → result. */
    pairs: Map<string, "yes" | "no" | "error">;
    /** Public key PEM derived on the node from a key file (by path) or an embedded key ("kc:<path>"). */
    pubs: Map<string, string>;
    /** Every public key block of a public key file, in file order (sa.pub holds two during a rotation). */
    pubLists: Map<string, string[]>;
    kubeconfigs: Map<string, RawKubeconfig>;
    /** Symlink path → target (undefined when the path is not a link). */
    links: Map<string, string | undefined>;
    served: RawServed[];
    /** kube-pki's record of its last install: node path → sha256 (hex). */
    installed: Map<string, string>;
    /** How many times rotate.sh rolled the node back (0 without a counter). */
    rollbacks: number;
    /** The kit asked for with --kit: is it there and intact? */
    kit?: { id: string; state: "ok" | "missing" | "altered"; signature?: string };
    /** `kubelet-config PATH absent|present [true|false]`: rotateCertificates of the kubelet config. */
    kubeletConfig?: { present: boolean; rotateCertificates?: boolean };
    /** `manifest NAME SHA|- COPY|-`: a static pod manifest and kube-pki's copy of it (src/drift/manifests.ts). */
    manifests?: Record<string, { sha256?: string; copy?: string }>;
    /** The script reached its end (a cut connection leaves this false). */
    complete: boolean;
}

export function pairKey(cert: string, key: string): string {
    return `${cert}|${key}`;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function splitPems(lines: string[]): string[] {
    return (lines.join("\n").match(PEM_BLOCK) ?? []).map((block) => block + "\n");
}

export function parseInventoryOutput(stdout: string): RawInventory {
    const out: RawInventory = {
        files: new Map(), pairs: new Map(), pubs: new Map(), pubLists: new Map(), kubeconfigs: new Map(), links: new Map(), served: [], installed: new Map(), rollbacks: 0, complete: false,
    };
    const requestedPairs: Array<[string, string]> = [];
    const lines = stdout.split("\n");
    let sawHeader = false;
    for (let i = 0; i < lines.length; i++) {
        const fields = lines[i].replace(/\r$/, "").split(" ");
        const [tag, a, b, c, d, e] = fields;
        switch (tag) {
            case "inventory":
                sawHeader = a === "2";
                break;
            case "now":
                out.now = Number(a);
                break;
            case "file":
                out.files.set(a, { path: a, state: b as RawFile["state"], sha256: c, mode: d, pems: [] });
                break;
            case "holds": {
                const file = out.files.get(a);
                const kinds = (b ?? "").split(",").filter((k): k is NonNullable<RawFile["holds"]>[number] =>
                    k === "certificate" || k === "private-key" || k === "public-key" || k === "kubeconfig");
                if (file && kinds.length > 0) file.holds = kinds;
                break;
            }
            case "pem": {
                const body = collectUntil(lines, i + 1, `endpem ${a}`);
                i = body.next;
                const file = out.files.get(a);
                if (file) file.pems = splitPems(body.lines);
                break;
            }
            case "pub": {
                const body = collectUntil(lines, i + 1, `endpub ${a}`);
                i = body.next;
                const pems = [...body.lines.join("\n").matchAll(PUBLIC_KEY_BLOCKS)].map((m) => m[0] + "\n");
                if (pems.length) out.pubs.set(a, pems[0]);
                out.pubLists.set(a, pems);
                break;
            }
            case "keypub": {
                // A private key's public half, read on the node from the key's DER (public fields only).
                const pem = publicKeyPem(b, c, d);
                if (pem) out.pubs.set(a, pem);
                break;
            }
            case "pair":
                // "installed": both files are what install.sh verified as a pair.
                if (c === "installed") out.pairs.set(pairKey(a, b), "yes");
                else requestedPairs.push([a, b]);
                break;
            case "kc": {
                const kc = out.kubeconfigs.get(a) ?? {};
                const value = fields.slice(3).join(" ");
                if (b === "server") kc.server = c;
                else if (b === "ca-data") kc.caData = value;
                else if (b === "client-data") kc.clientData = value;
                else if (b === "client-file") kc.clientFile = value;
                else if (b === "client-key-file") kc.clientKeyFile = value;
                else if (b === "client-key-data") kc.clientKeyEmbedded = true;
                else if (b === "key" && c === "installed") kc.keyInstalled = true;
                out.kubeconfigs.set(a, kc);
                break;
            }
            case "link":
                out.links.set(a, b === "none" ? undefined : b);
                break;
            case "served": {
                // One line: the served certificate's DER in base64 (the script's jobs run in parallel).
                const served: RawServed = { name: a, host: b, port: Number(c) };
                if (d === "ok") {
                    served.pem = e && /^[A-Za-z0-9+/]+=*$/.test(e) ? pemOf(e) : undefined;
                    if (!served.pem) served.failure = "no-certificate";
                } else {
                    served.failure = e ?? "failed";
                }
                out.served.push(served);
                break;
            }
            case "installed":
                out.installed.set(b, a);
                break;
            case "rollbacks":
                out.rollbacks = Number(a) || 0;
                break;
            case "kit":
                if (b === "ok" || b === "missing" || b === "altered") out.kit = { id: a, state: b, ...(c ? { signature: c } : {}) };
                break;
            case "kubelet-config":
                out.kubeletConfig = { present: b === "present", ...(c === "true" || c === "false" ? { rotateCertificates: c === "true" } : {}) };
                break;
            case "manifest":
                out.manifests = { ...out.manifests, [a]: { ...(b && b !== "-" ? { sha256: b } : {}), ...(c && c !== "-" ? { copy: c } : {}) } };
                break;
            case "done":
                out.complete = sawHeader;
                break;
            default:
                break; // blank lines and anything a login banner adds
        }
    }
    for (const [cert, key] of requestedPairs) {
        out.pairs.set(pairKey(cert, key), samePublicKey(out.files.get(cert)?.pems[0] ?? out.pubs.get(cert), out.pubs.get(key)));
    }
    for (const [p, kc] of out.kubeconfigs) kc.keyMatch = kubeconfigKeyMatch(p, kc, out);
    return out;
}

/** SubjectPublicKeyInfo from openssl, or a public key file's own form (e.g. PKCS#1 "RSA PUBLIC KEY"). */
const PUBLIC_KEY_BLOCKS = /-----BEGIN ([A-Z ]*)PUBLIC KEY-----[\s\S]*?-----END \1PUBLIC KEY-----/g;

function pemOf(b64: string): string {
    return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
}

const EC_CURVES: Record<string, string> = { "2a8648ce3d030107": "P-256", "2b81040022": "P-384", "2b81040023": "P-521" };

const b64url = (hex: string) => Buffer.from(hex, "hex").toString("base64url");
/** A DER INTEGER's content without its sign byte(s), as JWK wants RSA values. */
const unsigned = (hex: string) => hex.replace(/^(00)+(?=..)/, "");

/** SPKI PEM from the script's "ec CURVE-OID POINT" / "rsa N E" (hex); undefined when it is no valid key. */
export function publicKeyPem(kind: string | undefined, a: string | undefined, b: string | undefined): string | undefined {
    if (!a || !b || !/^[0-9a-f]+$/.test(a) || !/^[0-9a-f]+$/.test(b)) return undefined;
    let jwk: JsonWebKey;
    if (kind === "rsa") jwk = { kty: "RSA", n: b64url(unsigned(a)), e: b64url(unsigned(b)) };
    else if (kind === "ec" && EC_CURVES[a] && b.startsWith("04") && b.length % 4 === 2) {
        const half = (b.length - 2) / 2;
        jwk = { kty: "EC", crv: EC_CURVES[a], x: b64url(b.slice(2, 2 + half)), y: b64url(b.slice(2 + half)) };
    } else return undefined;
    try {
        // Import checks the key (an EC point must lie on its curve).
        return createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "pem" }) as string;
    } catch {
        return undefined;
    }
}

/** SubjectPublicKeyInfo DER of a certificate or public key PEM; undefined when it does not parse. */
function spki(pem: string | undefined): Buffer | undefined {
    if (!pem) return undefined;
    try {
        const key = pem.includes("BEGIN CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem);
        return key.export({ type: "spki", format: "der" });
    } catch {
        return undefined;
    }
}

/** A certificate's or public key's SubjectPublicKeyInfo as PEM (one form to compare); undefined when it does not parse. */
export function spkiPem(pem: string | undefined): string | undefined {
    const der = spki(pem);
    return der ? createPublicKey({ key: der, format: "der", type: "spki" }).export({ type: "spki", format: "pem" }) as string : undefined;
}

/** yes/no when both sides are usable public keys, error when either is missing or broken. */
function samePublicKey(certOrPub: string | undefined, keyPub: string | undefined): "yes" | "no" | "error" {
    const a = spki(certOrPub);
    const b = spki(keyPub);
    if (!a || !b) return "error";
    return a.equals(b) ? "yes" : "no";
}

function kubeconfigKeyMatch(p: string, kc: RawKubeconfig, raw: RawInventory): RawKubeconfig["keyMatch"] {
    const cert = kc.clientData ? Buffer.from(kc.clientData, "base64").toString("utf8")
        : kc.clientFile ? raw.files.get(kc.clientFile)?.pems[0] ?? "" : undefined;
    if (cert === undefined) return "none";
    if (kc.keyInstalled) return "yes";
    if (kc.clientKeyEmbedded) return samePublicKey(cert, raw.pubs.get(`kc:${p}`));
    if (kc.clientKeyFile) return samePublicKey(cert, raw.pubs.get(kc.clientKeyFile));
    return "none";
}

function collectUntil(lines: string[], from: number, end: string): { lines: string[]; next: number } {
    const body: string[] = [];
    let i = from;
    for (; i < lines.length && lines[i].replace(/\r$/, "") !== end; i++) body.push(lines[i]);
    return { lines: body, next: i };
}
