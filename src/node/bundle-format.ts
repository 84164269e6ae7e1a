/**
 * The node bundle wire format: the one text that carries files (keys included) to a node on
 * the stdin of `src/scripts/install.sh`. This module is the only place that writes it; the
 * script is the only place that reads it on a node. Keep both in step.
 *
 * ```
 * kube-pki-bundle 1
 * F <mode> <owner:group|-> <path> <sha256-hex> <base64-of-content|->
 * V cert=<path> key=<path|-> ca=<path|-> sans=<SAN,SAN…|-> purpose=<p,p…|->
 * K kubeconfig=<path> ca=<path>
 * P key=<path> pub=<path>
 * E <number-of-F-lines> <sha256-hex of every preceding line, each ending in "\n">
 * ```
 *
 * - One record per line, fields separated by one space, so `while read -r` can parse it.
 *   Paths are absolute node paths (the script prefixes `--root`) and may not contain
 *   whitespace, control characters, `.`/`..` components or end in a staging suffix.
 * - `F`: content is base64 on one line (`-` for empty content); the hash lets the script
 *   check each decoded file. Owner `-` means "leave ownership as created" (root:root when
 *   the script runs as root). Modes are octal `0NNN`.
 * - `V`: the cert must parse, match `key`'s public key, chain to `ca` (the staged copy when
 *   the CA is in the bundle, else the one on disk), carry every SAN listed and pass
 *   `openssl verify -purpose` for each purpose listed. SANs are written the way OpenSSL
 *   prints them (`DNS:x`, `IP:10.0.0.1`, IPv6 expanded upper-case `IP:0:0:0:0:0:0:0:1`);
 *   `canonicalSan` converts.
 * - `K`: the kubeconfig's embedded client cert/key match, the client cert chains to `ca`
 *   for client use, and `certificate-authority-data` is `ca`. The kubeconfig must keep each
 *   `*-data` value on one line (render with the `yaml` package and `lineWidth: 0`).
 * - `P`: a bare key pair (sa.key/sa.pub): `pub` is the public half of `key`.
 * - `E` must be the last line. A missing or mismatching trailer means the bundle was cut
 *   or altered in transit, and the script refuses it before touching anything.
 */
import { createHash } from "crypto";
import { isIP } from "net";

export const BUNDLE_HEADER = "kube-pki-bundle 1";

/** Modes the PKI needs: keys 0600 (0640 for a group-read setup), certs/kubeconfigs 0644. */
export type FileMode = "0600" | "0640" | "0644" | "0400" | "0440" | "0444";

export interface BundleFile {
    /** Absolute path on the node, e.g. /etc/kubernetes/pki/apiserver.crt. */
    path: string;
    mode: FileMode;
    /** "user:group"; omitted = leave as created (root:root when run as root). */
    owner?: string;
    content: string;
}

/** openssl verify -purpose names the checks use. */
export type CertPurpose = "sslserver" | "sslclient" | "any";

export interface CertCheck {
    cert: string;
    key?: string;
    ca?: string;
    sans?: string[];
    purpose?: CertPurpose | CertPurpose[];
}

export interface KubeconfigCheck {
    kubeconfig: string;
    ca: string;
}

export interface KeyPairCheck {
    key: string;
    pub: string;
}

export type BundleCheck = CertCheck | KubeconfigCheck | KeyPairCheck;

export interface Bundle {
    files: BundleFile[];
    checks: BundleCheck[];
}

const MODE_RE = /^0[0-7]{3}$/;
const OWNER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const PURPOSES: readonly string[] = ["sslserver", "sslclient", "any"];
const STAGING_SUFFIXES = [".kube-pki-new", ".kube-pki-restore"];

export function sha256Hex(text: string | Buffer): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Throws unless `p` is a path install.sh can carry in a whitespace-separated field. */
export function assertNodePath(p: string, what = "path"): void {
    const bad = (why: string) => new Error(`bundle: ${what} ${JSON.stringify(p)} ${why}`);
    if (!p.startsWith("/")) throw bad("must be absolute");
    if (/[\s\x00-\x1f\x7f]/.test(p)) throw bad("must not contain whitespace or control characters");
    if (p.length > 1 && p.endsWith("/")) throw bad("must not end with /");
    if (p.split("/").slice(1).some((c) => c === "" || c === "." || c === "..")) {
        throw bad("must not contain empty, '.' or '..' components");
    }
    if (STAGING_SUFFIXES.some((s) => p.endsWith(s))) throw bad("must not end in a staging suffix");
}

/** Writes a SAN the way `openssl x509 -ext subjectAltName` prints it, so the node can compare text. */
export function canonicalSan(san: string): string {
    const m = /^(DNS|IP|IP Address|URI|email):(.+)$/.exec(san.trim());
    if (!m) throw new Error(`bundle: SAN ${JSON.stringify(san)} must look like DNS:name or IP:address`);
    const [, kind, value] = m;
    if (kind === "IP" || kind === "IP Address") {
        const v = isIP(value);
        if (v === 4) return `IP:${value}`;
        if (v === 6) return `IP:${expandIpv6(value)}`;
        throw new Error(`bundle: SAN ${JSON.stringify(san)} is not an IP address`);
    }
    if (/[\s,]/.test(value)) throw new Error(`bundle: SAN ${JSON.stringify(san)} must not contain spaces or commas`);
    return `${kind}:${value}`;
}

/** OpenSSL prints IPv6 SANs as eight upper-case groups without leading zeros. */
function expandIpv6(addr: string): string {
    let text = addr;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        const o = v4[1].split(".").map(Number);
        text = text.slice(0, -v4[1].length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
    }
    const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    return groups.map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(":");
}

function isKubeconfigCheck(c: BundleCheck): c is KubeconfigCheck {
    return "kubeconfig" in c;
}

function isKeyPairCheck(c: BundleCheck): c is KeyPairCheck {
    return "pub" in c;
}

function checkLine(c: BundleCheck): string {
    if (isKubeconfigCheck(c)) {
        assertNodePath(c.kubeconfig, "kubeconfig");
        assertNodePath(c.ca, "ca");
        return `K kubeconfig=${c.kubeconfig} ca=${c.ca}`;
    }
    if (isKeyPairCheck(c)) {
        assertNodePath(c.key, "key");
        assertNodePath(c.pub, "pub");
        return `P key=${c.key} pub=${c.pub}`;
    }
    assertNodePath(c.cert, "cert");
    if (c.key !== undefined) assertNodePath(c.key, "key");
    if (c.ca !== undefined) assertNodePath(c.ca, "ca");
    const purposes = c.purpose === undefined ? [] : Array.isArray(c.purpose) ? c.purpose : [c.purpose];
    for (const p of purposes) {
        if (!PURPOSES.includes(p)) throw new Error(`bundle: unknown purpose ${JSON.stringify(p)} for ${c.cert}`);
    }
    const sans = (c.sans ?? []).map(canonicalSan);
    const field = (xs: string[]) => (xs.length ? xs.join(",") : "-");
    return `V cert=${c.cert} key=${c.key ?? "-"} ca=${c.ca ?? "-"} sans=${field(sans)} purpose=${field(purposes)}`;
}

function fileLine(f: BundleFile): string {
    assertNodePath(f.path);
    if (!MODE_RE.test(f.mode)) throw new Error(`bundle: mode ${JSON.stringify(f.mode)} of ${f.path} is not 0NNN`);
    if (f.owner !== undefined && !OWNER_RE.test(f.owner)) {
        throw new Error(`bundle: owner ${JSON.stringify(f.owner)} of ${f.path} must be user:group`);
    }
    const data = Buffer.from(f.content, "utf8");
    const b64 = data.length ? data.toString("base64") : "-";
    return `F ${f.mode} ${f.owner ?? "-"} ${f.path} ${sha256Hex(data)} ${b64}`;
}

/** Renders a bundle; throws on anything install.sh could not carry or check. */
export function serializeBundle(bundle: Bundle): string {
    const seen = new Set<string>();
    for (const f of bundle.files) {
        if (seen.has(f.path)) throw new Error(`bundle: ${f.path} appears twice`);
        seen.add(f.path);
    }
    const lines = [BUNDLE_HEADER, ...bundle.files.map(fileLine), ...bundle.checks.map(checkLine)];
    const body = lines.map((l) => `${l}\n`).join("");
    return `${body}E ${bundle.files.length} ${sha256Hex(body)}\n`;
}

/** The trailer hash of a serialized bundle: names its backup dir on the node; safe to print. */
export function bundleHash(text: string): string {
    return parseTrailer(text).hash;
}

function parseTrailer(text: string): { body: string; count: number; hash: string } {
    const m = /(?:^|\n)E (\d+) ([0-9a-f]{64})\n?$/.exec(text);
    if (!m) throw new Error("bundle: missing E trailer (truncated?)");
    const body = text.slice(0, m.index + (text[m.index] === "\n" ? 1 : 0));
    if (sha256Hex(body) !== m[2]) throw new Error("bundle: trailer hash does not match the content (altered or truncated)");
    return { body, count: Number(m[1]), hash: m[2] };
}

function field(token: string | undefined, name: string): string | undefined {
    if (token === undefined || !token.startsWith(`${name}=`)) throw new Error(`bundle: expected ${name}=…, got ${token}`);
    const v = token.slice(name.length + 1);
    return v === "-" ? undefined : v;
}

/** Reads a serialized bundle back (round trip, drift comparison); validates like install.sh. */
export function parseBundle(text: string): Bundle {
    const { body, count } = parseTrailer(text);
    const lines = body.split("\n").slice(0, -1);
    if (lines[0] !== BUNDLE_HEADER) throw new Error(`bundle: first line must be "${BUNDLE_HEADER}"`);
    const files: BundleFile[] = [];
    const checks: BundleCheck[] = [];
    for (const line of lines.slice(1)) {
        const t = line.split(" ");
        if (t[0] === "F" && t.length === 6) {
            const content = t[5] === "-" ? Buffer.alloc(0) : Buffer.from(t[5], "base64");
            if (sha256Hex(content) !== t[4]) throw new Error(`bundle: content of ${t[3]} does not match its hash`);
            const f: BundleFile = { mode: t[1] as FileMode, path: t[3], content: content.toString("utf8") };
            if (t[2] !== "-") f.owner = t[2];
            files.push(f);
        } else if (t[0] === "V" && t.length === 6) {
            const c: CertCheck = { cert: field(t[1], "cert")! };
            const key = field(t[2], "key");
            const ca = field(t[3], "ca");
            const sans = field(t[4], "sans");
            const purpose = field(t[5], "purpose");
            if (key) c.key = key;
            if (ca) c.ca = ca;
            if (sans) c.sans = sans.split(",");
            if (purpose) {
                const ps = purpose.split(",") as CertPurpose[];
                c.purpose = ps.length === 1 ? ps[0] : ps;
            }
            checks.push(c);
        } else if (t[0] === "K" && t.length === 3) {
            checks.push({ kubeconfig: field(t[1], "kubeconfig")!, ca: field(t[2], "ca")! });
        } else if (t[0] === "P" && t.length === 3) {
            checks.push({ key: field(t[1], "key")!, pub: field(t[2], "pub")! });
        } else {
            throw new Error(`bundle: unrecognised line starting ${JSON.stringify(line.slice(0, 20))}`);
        }
    }
    if (files.length !== count) throw new Error(`bundle: trailer announces ${count} files, found ${files.length}`);
    return { files, checks };
}

/**
 * path → sha256 hex of the content, sorted by path. Safe for plain state and triggers: a
 * hash of a random key reveals nothing about it. install.sh prints the same hashes.
 */
export function bundleFingerprints(bundle: Bundle | string): Record<string, string> {
    const files = typeof bundle === "string" ? parseBundle(bundle).files : bundle.files;
    const out: Record<string, string> = {};
    for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
        out[f.path] = sha256Hex(Buffer.from(f.content, "utf8"));
    }
    return out;
}
