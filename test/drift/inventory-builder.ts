/**
 * NodeInventory values for a ClusterSpec's nodes, holding real certificates made with the tls
 * provider's semantics (test/harness/mocks/tls-certs.ts: notBefore = issue time, no backdating),
 * as readInventory would return them after kube-pki's install (or before its first one).
 * Per file: issue time, validity, extra SANs, a foreign signer, absent, or content that differs.
 */
import { createHash, createPublicKey } from "node:crypto";
import { attributeIssuer, parseCert } from "../../src/drift/cert-info";
import type { InventoryFile, NodeInventory, ServedCert } from "../../src/drift/inventory";
import { wantedFromSpec } from "../../src/drift/wanted";
import { catalogFor } from "../../src/pki/catalog";
import { privateKeyArgs } from "../../src/pki/keys";
import type { ClusterSpec, KeyAlgorithm } from "../../src/spec";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert } from "../harness/mocks/tls-certs";
import { generatePrivateKey } from "../harness/mocks/tls-keys";

const DAY = 86_400_000;

export interface FileShape {
    /** When the certificate was issued (its notBefore). */
    issuedAt?: Date;
    days?: number;
    extraDns?: string[];
    /** Signed by a CA that is not on the node. */
    foreign?: boolean;
    /** Not on the node. */
    absent?: boolean;
    /** On the node, but not what kube-pki's install record says it put there. */
    differs?: boolean;
    /** Present but absent from the install record. */
    unrecorded?: boolean;
}

export interface InventoryShape {
    issuedAt: Date;
    /** Validity of leaves and kubeconfig client certs, in days (CAs: 3650). */
    days: number;
    keyAlgorithm: KeyAlgorithm;
    /** kube-pki's install record lists the files (false: before its first install). */
    installed: boolean;
    /** Per file key. */
    files?: Record<string, FileShape>;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const keys = new Map<string, string>();
function keyFor(algorithm: KeyAlgorithm | "foreign"): string {
    if (!keys.has(algorithm)) keys.set(algorithm, generatePrivateKey(privateKeyArgs(algorithm === "foreign" ? "ECDSA-P256" : algorithm) as any).privateKeyPem);
    return keys.get(algorithm)!;
}

async function selfSigned(cn: string, issuedAt: Date, days: number, key: string): Promise<string> {
    return (await createSelfSignedCert({
        privateKeyPem: key, subject: { commonName: cn }, isCaCertificate: true, setSubjectKeyId: true,
        validityPeriodHours: days * 24, allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
    }, issuedAt)).certPem;
}

/** One node's inventory; the cluster's CAs are the same on every node of one `buildInventories` call. */
export async function buildInventories(cluster: ClusterSpec, shape: InventoryShape, nodeShapes: Record<string, Partial<InventoryShape>> = {}): Promise<NodeInventory[]> {
    const caKey = keyFor("ECDSA-P256");
    const cas = new Map<string, { pem: string; cn: string }>();
    for (const e of catalogFor(cluster)) {
        if (e.kind === "ca") cas.set(e.certFile, { cn: e.commonName, pem: await selfSigned(e.commonName, shape.issuedAt, 3650, caKey) });
    }
    const foreignCa = await selfSigned("someone-else", shape.issuedAt, 3650, keyFor("foreign"));
    const saPublicKey = createPublicKey(keyFor("RSA-2048")).export({ type: "spki", format: "pem" }) as string;
    const wanted = wantedFromSpec(cluster);
    const out: NodeInventory[] = [];
    for (const node of cluster.nodes) {
        const s = { ...shape, ...nodeShapes[node.name] };
        const files: InventoryFile[] = [];
        const installed: Record<string, string> = {};
        for (const w of wanted[node.name]) {
            const f = s.files?.[w.key] ?? {};
            const kind: InventoryFile["kind"] = w.key.endsWith(".key") ? "private-key" : w.key.endsWith(".pub") ? "public-key"
                : w.key.endsWith(".conf") ? "kubeconfig" : "certificate";
            if (f.absent) {
                files.push({ key: w.key, path: w.path, kind, exists: false });
                installed[w.path] = sha(`${w.path} as installed`);
                continue;
            }
            let pem: string | undefined;
            const caPem = cas.get(w.key.replace(/\.key$/, ".crt"));
            if (w.expected && caPem && w.expected.issuerCommonName === w.expected.subject.commonName) {
                pem = caPem.pem;
            } else if (w.expected) {
                const { subject } = w.expected;
                const csr = await createCertRequest({
                    privateKeyPem: keyFor(s.keyAlgorithm),
                    subject: { commonName: subject.commonName, ...(subject.organizations[0] ? { organization: subject.organizations[0] } : {}) },
                    dnsNames: [...subject.dnsNames, ...(f.extraDns ?? [])], ipAddresses: [...subject.ipAddresses],
                });
                const signer = [...cas.values()].find((c) => c.cn === w.expected!.issuerCommonName)!;
                pem = (await createLocallySignedCert({
                    certRequestPem: csr.certRequestPem, caCertPem: f.foreign ? foreignCa : signer.pem,
                    caPrivateKeyPem: f.foreign ? keyFor("foreign") : caKey,
                    validityPeriodHours: (f.days ?? s.days) * 24, allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
                }, f.issuedAt ?? s.issuedAt)).certPem;
            }
            const content = `${w.path}\n${pem ?? "key"}`;
            const file: InventoryFile = { key: w.key, path: w.path, kind, exists: true, sha256: sha(content), mode: kind === "certificate" ? "644" : "600" };
            if (pem) Object.assign(file, { cert: parseCert(pem), keyMatches: true });
            // The sa pair as inventory.sh reads it: sa.pub's keys and sa.key's public half (one pair per call).
            if (w.key === "sa.pub") Object.assign(file, { publicKeys: [saPublicKey], keyMatches: true });
            if (w.key === "sa.key") file.publicKey = saPublicKey;
            files.push(file);
            if (!f.unrecorded) installed[w.path] = f.differs ? sha(`${content} before the hand edit`) : file.sha256!;
        }
        const caFiles = files.filter((f) => f.cert?.isCa).map((f) => ({ path: f.path, cert: f.cert! }));
        for (const f of files) if (f.cert) attributeIssuer(f.cert, caFiles);
        out.push({
            node: node.name, role: node.role, reachable: true, nodeTime: new Date(), skewSeconds: 0, files, served: [] as ServedCert[],
            ...(s.installed ? { installed } : {}),
        });
    }
    return out;
}

export const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * DAY);
