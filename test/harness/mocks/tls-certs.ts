/**
 * X.509 certificates and CSRs with terraform-provider-tls semantics (which @pulumi/tls wraps):
 * notBefore = now (no backdating), notAfter = now + validityPeriodHours (validity times written
 * as Go's MarshalText: nanoseconds, local offset), 128-bit random serial,
 * snake_case allowedUses → KeyUsage (critical) / ExtKeyUsage, basicConstraints always present
 * and critical, CA certs get a subject key id, locally signed certs copy subject and SANs from
 * the CSR and get the CA's key id as authority key id (Go's x509.CreateCertificate does that).
 */
import "./reflect-shim";
import * as crypto from "node:crypto";
import * as net from "node:net";
import * as x509 from "@peculiar/x509";
import { keyAlgorithmOf } from "./tls-keys";
import { goTimeText, isReadyForRenewal } from "./provider-contract";

export { isReadyForRenewal };

x509.cryptoProvider.set(crypto.webcrypto as any);
type WebAlgorithm = crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams | crypto.webcrypto.RsaHashedImportParams | crypto.webcrypto.EcKeyImportParams;
const subtle = crypto.webcrypto.subtle;

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXT_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

export const SUPPORTED_ALLOWED_USES = [...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].sort();

export interface TlsSubject {
    commonName?: string; organization?: string; organizationalUnit?: string; country?: string;
    province?: string; locality?: string; postalCode?: string; streetAddresses?: string[];
    serialNumber?: string; emailAddress?: string;
}

interface CertInputs {
    allowedUses?: string[];
    validityPeriodHours?: number;
    earlyRenewalHours?: number;
    isCaCertificate?: boolean;
    maxPathLength?: number;
    setSubjectKeyId?: boolean;
}

export interface SelfSignedCertInputs extends CertInputs {
    privateKeyPem?: string; subject?: TlsSubject; dnsNames?: string[]; ipAddresses?: string[]; uris?: string[];
    setAuthorityKeyId?: boolean;
}

export interface CertRequestInputs {
    privateKeyPem?: string; subject?: TlsSubject; dnsNames?: string[]; ipAddresses?: string[]; uris?: string[];
}

export interface LocallySignedCertInputs extends CertInputs {
    certRequestPem?: string; caCertPem?: string; caPrivateKeyPem?: string;
}

export interface CertOutputs {
    certPem: string;
    validityStartTime: string;
    validityEndTime: string;
    readyForRenewal: boolean;
}

export async function createSelfSignedCert(inputs: SelfSignedCertInputs, now: Date): Promise<CertOutputs & { keyAlgorithm: string }> {
    const key = requireKey(inputs.privateKeyPem, "privateKeyPem");
    const name = subjectName(inputs.subject);
    const publicKey = crypto.createPublicKey(key);
    const extensions = await certExtensions(inputs, publicKey, undefined);
    if (inputs.setAuthorityKeyId) {
        const ski = subjectKeyId(publicKey);
        if (!inputs.isCaCertificate && !inputs.setSubjectKeyId) {
            throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
        }
        extensions.splice(skiIndex(extensions) + 1, 0, new x509.AuthorityKeyIdentifierExtension(ski));
    }
    const sans = sanExtension(inputs, name.length === 0);
    if (sans) extensions.push(sans);
    const cert = await issue({ subject: name, issuer: name, publicKey, signer: key, extensions, inputs, now });
    return { ...cert, keyAlgorithm: keyAlgorithmOf(key) };
}

export async function createCertRequest(inputs: CertRequestInputs): Promise<{ certRequestPem: string; keyAlgorithm: string }> {
    const key = requireKey(inputs.privateKeyPem, "privateKeyPem");
    const keys = await webKeys(key);
    const sans = sanExtension(inputs, false);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject),
        keys,
        signingAlgorithm: signingAlgorithm(key),
        extensions: sans ? [sans] : [],
    });
    return { certRequestPem: withNewline(csr.toString("pem")), keyAlgorithm: keyAlgorithmOf(key) };
}

export async function createLocallySignedCert(inputs: LocallySignedCertInputs, now: Date): Promise<CertOutputs & { caKeyAlgorithm: string }> {
    const caKey = requireKey(inputs.caPrivateKeyPem, "caPrivateKeyPem");
    if (!inputs.caCertPem) throw new Error("Failed to parse CA certificate PEM: caCertPem is empty");
    if (!inputs.certRequestPem) throw new Error("Failed to parse certificate request PEM: certRequestPem is empty");
    const ca = new x509.X509Certificate(inputs.caCertPem);
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    const publicKey = crypto.createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const extensions = await certExtensions(inputs, publicKey, caSki);
    const rawSans = csr.getExtension("2.5.29.17");
    if (rawSans) {
        const csrSans = new x509.SubjectAlternativeNameExtension(rawSans.rawData);
        extensions.push(new x509.SubjectAlternativeNameExtension(csrSans.names.toJSON(), csr.subjectName.toJSON().length === 0));
    }
    const cert = await issue({ subject: csr.subjectName, issuer: ca.subjectName, publicKey, signer: caKey, extensions, inputs, now });
    return { ...cert, caKeyAlgorithm: keyAlgorithmOf(caKey) };
}

// --- shared pieces ---

function requireKey(pem: string | undefined, field: string): crypto.KeyObject {
    if (!pem) throw new Error(`${field} is required`);
    try {
        return crypto.createPrivateKey(pem);
    } catch (err) {
        throw new Error(`Failed to parse ${field}: ${(err as Error).message}`);
    }
}

/** Go's pkix.Name order: C, ST, L, street, postalCode, O, OU, CN, serialNumber; email as an extra name. */
function subjectName(s: TlsSubject | undefined): x509.JsonName {
    if (!s) return [];
    const rdns: [string, string[] | undefined][] = [
        ["2.5.4.6", one(s.country)], ["2.5.4.8", one(s.province)], ["2.5.4.7", one(s.locality)],
        ["2.5.4.9", s.streetAddresses?.length ? s.streetAddresses : undefined], ["2.5.4.17", one(s.postalCode)],
        ["2.5.4.10", one(s.organization)], ["2.5.4.11", one(s.organizationalUnit)],
        ["2.5.4.3", one(s.commonName)], ["2.5.4.5", one(s.serialNumber)], ["1.2.840.113549.1.9.1", one(s.emailAddress)],
    ];
    return rdns.filter(([, v]) => v !== undefined).map(([oid, v]) => ({ [oid]: v! }));
}

function one(v: string | undefined): string[] | undefined {
    return v === undefined || v === null ? undefined : [v];
}

function sanExtension(inputs: { dnsNames?: string[]; ipAddresses?: string[]; uris?: string[] }, critical: boolean) {
    const names: x509.JsonGeneralName[] = [
        ...(inputs.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(inputs.ipAddresses ?? []).map((value) => {
            if (net.isIP(value) === 0) throw new Error(`invalid IP address ${JSON.stringify(value)}`);
            return { type: "ip" as const, value };
        }),
        ...(inputs.uris ?? []).map((value) => ({ type: "url" as const, value })),
    ];
    return names.length > 0 ? new x509.SubjectAlternativeNameExtension(names, critical) : undefined;
}

/** Extensions in Go's order: KU, EKU, basicConstraints, SKI, AKI (SANs are appended by the caller). */
async function certExtensions(inputs: CertInputs, publicKey: crypto.KeyObject, caKeyId: string | undefined): Promise<x509.Extension[]> {
    let ku = 0;
    const eku: string[] = [];
    for (const use of inputs.allowedUses ?? []) {
        if (use in KEY_USAGES) ku |= KEY_USAGES[use];
        else if (use in EXT_KEY_USAGES) eku.push(EXT_KEY_USAGES[use]);
        else throw new Error(`allowedUses: value ${JSON.stringify(use)} is not one of ${SUPPORTED_ALLOWED_USES.join(", ")}`);
    }
    const extensions: x509.Extension[] = [];
    if (ku !== 0) extensions.push(new x509.KeyUsagesExtension(ku, true));
    if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
    const isCa = inputs.isCaCertificate === true;
    const pathLen = isCa && inputs.maxPathLength !== undefined && inputs.maxPathLength > 0 ? inputs.maxPathLength : undefined;
    extensions.push(new x509.BasicConstraintsExtension(isCa, pathLen, true));
    if (isCa || inputs.setSubjectKeyId) extensions.push(new x509.SubjectKeyIdentifierExtension(subjectKeyId(publicKey)));
    if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));
    return extensions;
}

function skiIndex(extensions: x509.Extension[]): number {
    return extensions.findIndex((e) => e instanceof x509.SubjectKeyIdentifierExtension);
}

/** The provider's key id: SHA-1 over the raw public key (RSA: PKCS#1, EC: point, Ed25519: DER OCTET STRING). */
export function subjectKeyId(publicKey: crypto.KeyObject): string {
    let raw: Buffer;
    if (publicKey.asymmetricKeyType === "rsa") {
        raw = publicKey.export({ type: "pkcs1", format: "der" });
    } else {
        const jwk = publicKey.export({ format: "jwk" });
        raw = publicKey.asymmetricKeyType === "ec"
            ? Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")])
            : Buffer.concat([Buffer.from([4, 32]), Buffer.from(jwk.x!, "base64url")]);
    }
    return crypto.createHash("sha1").update(raw).digest("hex");
}

function signingAlgorithm(key: crypto.KeyObject): any {
    switch (key.asymmetricKeyType) {
        case "rsa": return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        case "ed25519": return { name: "Ed25519" };
        case "ec": return { name: "ECDSA", hash: ecHash(key) };
        default: throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    }
}

const EC_WEB: Record<string, { curve: string; hash: string }> = {
    prime256v1: { curve: "P-256", hash: "SHA-256" },
    secp384r1: { curve: "P-384", hash: "SHA-384" },
    secp521r1: { curve: "P-521", hash: "SHA-512" },
};

function ecInfo(key: crypto.KeyObject) {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    const info = EC_WEB[curve];
    if (!info) throw new Error(`ECDSA curve ${curve} cannot sign certificates here (supported: P256, P384, P521)`);
    return info;
}

function ecHash(key: crypto.KeyObject): string {
    return ecInfo(key).hash;
}

function importParams(key: crypto.KeyObject): WebAlgorithm {
    switch (key.asymmetricKeyType) {
        case "rsa": return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        case "ec": return { name: "ECDSA", namedCurve: ecInfo(key).curve };
        case "ed25519": return { name: "Ed25519" };
        default: throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    }
}

async function webKeys(key: crypto.KeyObject): Promise<any> {
    const params = importParams(key);
    const privateKey = await subtle.importKey("pkcs8", key.export({ type: "pkcs8", format: "der" }), params, false, ["sign"]);
    const publicKey = await subtle.importKey("spki", crypto.createPublicKey(key).export({ type: "spki", format: "der" }), params, true, ["verify"]);
    return { privateKey, publicKey };
}

function randomSerial(): string {
    const bytes = crypto.randomBytes(16);
    bytes[0] = (bytes[0] & 0x7f) || 0x01; // positive and full length
    return bytes.toString("hex");
}

function withNewline(pem: string): string {
    const unix = pem.replace(/\r\n/g, "\n");
    return unix.endsWith("\n") ? unix : `${unix}\n`;
}

async function issue(p: {
    subject: x509.JsonName | x509.Name; issuer: x509.JsonName | x509.Name; publicKey: crypto.KeyObject;
    signer: crypto.KeyObject; extensions: x509.Extension[]; inputs: CertInputs; now: Date;
}): Promise<CertOutputs> {
    const hours = p.inputs.validityPeriodHours;
    if (hours === undefined || !Number.isFinite(hours)) throw new Error("validityPeriodHours is required");
    if (p.inputs.isCaCertificate && (Array.isArray(p.subject) ? p.subject.length === 0 : p.subject.toJSON().length === 0)) {
        throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
    }
    // time.Now() keeps nanoseconds; the certificate keeps whole seconds (provider-contract: tls.cert.timeFormat).
    const nanos = Number(process.hrtime.bigint() % 1_000_000n);
    const start = p.now;
    const end = new Date(start.getTime() + hours * 3_600_000);
    const notBefore = new Date(Math.floor(start.getTime() / 1000) * 1000);
    const notAfter = new Date(Math.floor(end.getTime() / 1000) * 1000);
    const { privateKey } = await webKeys(p.signer);
    const spki = p.publicKey.export({ type: "spki", format: "der" });
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: p.subject, issuer: p.issuer, notBefore, notAfter,
        publicKey: new x509.PublicKey(spki),
        signingKey: privateKey,
        signingAlgorithm: signingAlgorithm(p.signer),
        extensions: p.extensions,
    });
    const validityEndTime = goTimeText(end, nanos);
    return {
        certPem: withNewline(cert.toString("pem")),
        validityStartTime: goTimeText(start, nanos),
        validityEndTime,
        readyForRenewal: isReadyForRenewal(validityEndTime, p.inputs.earlyRenewalHours, p.now),
    };
}
