/**
 * Key algorithm mapping and the small PEM helpers shared by the components.
 */
import * as tls from "@pulumi/tls";
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "node:crypto";
import type { KeyAlgorithm } from "../spec";

/** @pulumi/tls PrivateKey arguments for one of our key algorithms. */
export function privateKeyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
    switch (algorithm) {
        case "RSA-2048": return { algorithm: "RSA", rsaBits: 2048 };
        case "RSA-3072": return { algorithm: "RSA", rsaBits: 3072 };
        case "RSA-4096": return { algorithm: "RSA", rsaBits: 4096 };
        case "ECDSA-P256": return { algorithm: "ECDSA", ecdsaCurve: "P256" };
    }
}

/** The key with its PEM marked secret (the provider does it too; this keeps it so through applies). */
export function newPrivateKey(name: string, algorithm: KeyAlgorithm, opts: pulumi.CustomResourceOptions): tls.PrivateKey {
    return new tls.PrivateKey(name, privateKeyArgs(algorithm), opts);
}

/**
 * Options that keep a CA or the service-account pair as it is: a change of the key algorithm, the
 * CA validity or kube-pki's CA template must never replace them (every PrivateKey/SelfSignedCert
 * input replaces), and `protect` makes any replacement or deletion fail the run instead, e.g. a
 * generated CA reaching its end. Only an explicit rotation changes them.
 */
export const KEEP_KEY: pulumi.CustomResourceOptions = { protect: true, ignoreChanges: ["algorithm", "rsaBits", "ecdsaCurve"] };
export const KEEP_CA_CERT: pulumi.CustomResourceOptions = {
    protect: true,
    ignoreChanges: ["validityPeriodHours", "allowedUses", "subject", "isCaCertificate", "setSubjectKeyId", "earlyRenewalHours"],
};

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----\n?/g;

/** Split text holding several PEM blocks into them, by block type. */
export function pemBlocks(text: string): { type: string; pem: string }[] {
    return [...text.matchAll(PEM_BLOCK)].map((m) => ({ type: m[1], pem: m[0].endsWith("\n") ? m[0] : `${m[0]}\n` }));
}

/** The SubjectPublicKeyInfo PEM ("PUBLIC KEY") of a PEM certificate. */
export function certPublicKeyPem(certPem: string): string {
    return new X509Certificate(certPem).publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** notAfter of a PEM certificate as RFC 3339. */
export function certNotAfter(certPem: string): string {
    return new Date(new X509Certificate(certPem).validTo).toISOString();
}

const HOURS_PER_YEAR = 24 * 365;
export const yearsToHours = (years: number): number => years * HOURS_PER_YEAR;
export const daysToHours = (days: number): number => days * 24;
