/**
 * A leaf certificate: its own key, a CSR carrying the subject and SANs, and the CA's signature
 * with an explicit validity. `earlyRenewalHours` makes the engine reissue it once it is within
 * renew-before of expiry; a leaf that would outlive its CA fails instead of being issued.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { KeyAlgorithm } from "../spec";
import type { AllowedUse, ResolvedSubject } from "./catalog";
import { newPrivateKey } from "./keys";

/** What a leaf needs from its CA. */
export interface Signer {
    readonly certPem: pulumi.Input<string>;
    readonly privateKeyPem: pulumi.Input<string>;
    /** The CA's notAfter (RFC 3339). */
    readonly validityEndTime: pulumi.Input<string>;
    /** Catalogue id of the CA, for messages. */
    readonly id: string;
}

export interface LeafCertificateArgs {
    /** CN, O, DNS and IP SANs (resolved from the catalogue for one node). */
    readonly subject: ResolvedSubject;
    /** snake_case @pulumi/tls allowedUses. */
    readonly usages: readonly AllowedUse[];
    readonly keyAlgorithm: KeyAlgorithm;
    /** Validity in hours. Must end before the CA's notAfter. */
    readonly validityHours: number;
    /** Reissue once the certificate has fewer than this many hours left. */
    readonly earlyRenewalHours: number;
    readonly signer: Signer;
}

export class LeafCertificate extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** Secret. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** notAfter, RFC 3339. */
    public readonly validityEndTime: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: LeafCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:LeafCertificate", name, {}, opts);
        const key = newPrivateKey(`${name}-key`, args.keyAlgorithm, { parent: this });
        const { commonName, organizations, dnsNames, ipAddresses } = args.subject;
        const csr = new tls.CertRequest(`${name}-csr`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName, ...(organizations.length > 0 ? { organization: organizations[0] } : {}) },
            dnsNames,
            ipAddresses,
        }, { parent: key });
        const cert = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: csr.certRequestPem,
            caCertPem: args.signer.certPem,
            caPrivateKeyPem: args.signer.privateKeyPem,
            validityPeriodHours: args.validityHours,
            earlyRenewalHours: args.earlyRenewalHours,
            allowedUses: [...args.usages],
            setSubjectKeyId: true,
        }, { parent: key });
        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.validityEndTime = pulumi
            .all([cert.validityEndTime, args.signer.validityEndTime])
            .apply(([end, caEnd]) => {
                if (end && caEnd && Date.parse(end) > Date.parse(caEnd)) {
                    throw new pulumi.ResourceError(
                        `certificate "${name}" would expire on ${end}, after its CA "${args.signer.id}" (${caEnd}); ` +
                        `shorten kube-pki:validity.leafDays or renew the CA first`, this);
                }
                return end;
            });
        this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, validityEndTime: this.validityEndTime });
    }
}
