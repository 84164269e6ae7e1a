/**
 * Real certificates for CA rotation tests (tls provider semantics, test/harness/mocks/tls-certs.ts)
 * and inventory.sh's records for files holding them, so tests go through the same parser and
 * assembly (parseInventoryOutput, assembleFiles) as a node's reading.
 */
import { createHash } from "node:crypto";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert } from "../harness/mocks/tls-certs";
import { generatePrivateKey } from "../harness/mocks/tls-keys";

export interface TestCa {
    readonly pem: string;
    readonly key: string;
}

const ISSUED = new Date("2026-01-01T00:00:00Z");
const newKey = () => generatePrivateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;

/** A self-signed CA with this CN (and O, e.g. a rotation marker). */
export async function makeCa(commonName: string, organization?: string): Promise<TestCa> {
    const key = newKey();
    const { certPem } = await createSelfSignedCert({
        privateKeyPem: key, subject: { commonName, ...(organization ? { organization } : {}) }, isCaCertificate: true, setSubjectKeyId: true,
        validityPeriodHours: 24 * 3650, allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
    }, ISSUED);
    return { pem: certPem, key };
}

const leafKey = newKey();

/** A client/server certificate signed by `ca`. */
export async function makeLeaf(commonName: string, ca: TestCa): Promise<string> {
    const { certRequestPem } = await createCertRequest({ privateKeyPem: leafKey, subject: { commonName } });
    return (await createLocallySignedCert({
        certRequestPem, caCertPem: ca.pem, caPrivateKeyPem: ca.key, validityPeriodHours: 24 * 365,
        allowedUses: ["digital_signature", "key_encipherment", "client_auth", "server_auth"],
    }, ISSUED)).certPem;
}

/** One file as inventory.sh reports it: certificate blocks, or a kubeconfig's CA data and client certificate. */
export type ScriptFile =
    | { readonly path: string; readonly pems: readonly string[] }
    | { readonly path: string; readonly caPems: readonly string[]; readonly clientPem?: string; readonly server?: string }
    | { readonly path: string; readonly absent: true }
    | { readonly path: string; readonly unreadable: true };

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** inventory.sh's output for these files (version 2 records, a complete run). */
export function scriptOutput(files: readonly ScriptFile[], now = ISSUED): string {
    const lines = ["inventory 2"];
    for (const f of files) {
        if ("absent" in f) { lines.push(`file ${f.path} absent`); continue; }
        if ("unreadable" in f) { lines.push(`file ${f.path} unreadable`); continue; }
        const content = "pems" in f ? f.pems.join("") : `${f.caPems.join("")}${f.clientPem ?? ""}`;
        lines.push(`file ${f.path} present ${createHash("sha256").update(content).digest("hex")} ${"pems" in f ? "644" : "600"}`);
        if ("pems" in f) {
            lines.push(`holds ${f.path} certificate`, `pem ${f.path}`, ...f.pems.join("").trimEnd().split("\n"), `endpem ${f.path}`);
        } else {
            lines.push(`holds ${f.path} kubeconfig`, `kc ${f.path} server ${f.server ?? "https://10.0.0.11:6443"}`, `kc ${f.path} ca-data ${b64(f.caPems.join(""))}`);
            if (f.clientPem) lines.push(`kc ${f.path} client-data ${b64(f.clientPem)}`);
        }
    }
    lines.push(`now ${Math.floor(now.getTime() / 1000)}`, "done");
    return lines.join("\n") + "\n";
}
