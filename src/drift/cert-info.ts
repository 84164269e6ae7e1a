/**
 * Public facts of one certificate, parsed with node's X509Certificate (no hand-written ASN.1):
 * subject, issuer, SANs, validity, SHA-256 fingerprint, serial, and which known CA signed it.
 */
import { X509Certificate } from "node:crypto";

export interface CertInfo {
    subjectCN?: string;
    subjectO: string[];
    issuerCN?: string;
    issuerO: string[];
    dnsNames: string[];
    /** Canonical text form (IPv6 compressed, as `new URL` prints it). */
    ipAddresses: string[];
    notBefore: Date;
    notAfter: Date;
    /** Lower-case hex SHA-256 of the DER, no colons. */
    sha256: string;
    /** Decimal, as x509-certificate-exporter labels it. */
    serialNumber: string;
    isCa: boolean;
    selfSigned: boolean;
    /** Set by `attributeIssuer`: the path of the CA certificate that verifies this one. */
    signedBy?: string;
    pem: string;
}

/** "CN=a\nO=b\nO=c" → { CN: ["a"], O: ["b", "c"] } (node prints one attribute per line). */
function nameParts(text: string | undefined): Record<string, string[]> {
    const parts: Record<string, string[]> = {};
    for (const line of (text ?? "").split("\n")) {
        const eq = line.indexOf("=");
        if (eq <= 0) continue;
        const key = line.slice(0, eq);
        (parts[key] ??= []).push(line.slice(eq + 1));
    }
    return parts;
}

export function canonicalIp(ip: string): string {
    if (!ip.includes(":")) return ip;
    try {
        return new URL(`http://[${ip}]/`).hostname.replace(/^\[|\]$/g, "");
    } catch {
        return ip.toLowerCase();
    }
}

function sans(text: string | undefined): { dnsNames: string[]; ipAddresses: string[] } {
    const dnsNames: string[] = [];
    const ipAddresses: string[] = [];
    for (const entry of (text ?? "").split(/,\s*/)) {
        if (entry.startsWith("DNS:")) dnsNames.push(entry.slice(4));
        else if (entry.startsWith("IP Address:")) ipAddresses.push(canonicalIp(entry.slice(11)));
    }
    return { dnsNames, ipAddresses };
}

/** Parsed form of each CertInfo, so issuer checks do not parse the same PEM again per CA. */
const parsed = new WeakMap<CertInfo, X509Certificate>();

function x509Of(info: CertInfo): X509Certificate {
    let cert = parsed.get(info);
    if (!cert) parsed.set(info, (cert = new X509Certificate(info.pem)));
    return cert;
}

export function parseCert(pem: string): CertInfo {
    const cert = new X509Certificate(pem);
    const subject = nameParts(cert.subject);
    const issuer = nameParts(cert.issuer);
    const info: CertInfo = {
        subjectCN: subject.CN?.[0],
        subjectO: subject.O ?? [],
        issuerCN: issuer.CN?.[0],
        issuerO: issuer.O ?? [],
        ...sans(cert.subjectAltName),
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        sha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
        serialNumber: BigInt(`0x${cert.serialNumber}`).toString(10),
        isCa: cert.ca,
        selfSigned: cert.checkIssued(cert) && cert.verify(cert.publicKey),
        pem,
    };
    parsed.set(info, cert);
    return info;
}

/** Parses when possible; a broken PEM is reported by the caller as an unreadable file. */
export function tryParseCert(pem: string): CertInfo | undefined {
    try {
        return parseCert(pem);
    } catch {
        return undefined;
    }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Every certificate of a PEM text (a CA bundle holds several: during a CA rotation both CAs are
 * trusted), in text order. `unparsed` counts blocks that are PEM certificates but do not parse.
 */
export function parseCertBundle(text: string): { certs: CertInfo[]; unparsed: number } {
    const certs: CertInfo[] = [];
    let unparsed = 0;
    for (const block of text.match(PEM_CERTIFICATE) ?? []) {
        const cert = tryParseCert(block + "\n");
        if (cert) certs.push(cert);
        else unparsed++;
    }
    return { certs, unparsed };
}

/** Every certificate of an inventory's certificate file: its bundle, or its one `cert`. */
export function certificatesOf(file: { cert?: CertInfo; bundle?: CertInfo[] }): CertInfo[] {
    return file.bundle ?? (file.cert ? [file.cert] : []);
}

/** Every certificate of an inventory kubeconfig's certificate-authority-data. */
export function kubeconfigCasOf(file: { kubeconfig?: { ca?: CertInfo; caBundle?: CertInfo[] } }): CertInfo[] {
    const kc = file.kubeconfig;
    return kc?.caBundle ?? (kc?.ca ? [kc.ca] : []);
}

/** Does `ca` (a CA certificate) verify `cert`? Checks names and the signature. */
export function issuedBy(cert: CertInfo, ca: CertInfo): boolean {
    try {
        const leaf = x509Of(cert);
        const authority = x509Of(ca);
        return leaf.checkIssued(authority) && leaf.verify(authority.publicKey);
    } catch {
        return false;
    }
}

/** Sets `signedBy` to the path of the first known CA that verifies the certificate. */
export function attributeIssuer(cert: CertInfo, cas: ReadonlyArray<{ path: string; cert: CertInfo }>): void {
    cert.signedBy = cas.find((ca) => issuedBy(cert, ca.cert))?.path;
}

/** "sha256:ab12cd34…" for messages. */
export function shortFingerprint(sha256: string): string {
    return `sha256:${sha256.slice(0, 8)}…`;
}
