/**
 * A certificate authority: generated with an explicit validity, or adopted from a master.
 * Adoption reads cert + key once (on the first `up`) through a command whose output is kept in
 * state as a secret and never re-read: later runs use the stored copy, so a wiped or
 * replaced node cannot lose the CA. CAs are never rotated implicitly: a declared rotation
 * (src/pki/ca-rotation.ts) adds a second CA beside the old one, which stays declared.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { KeyAlgorithm, KeySource, NodeSpec } from "../spec";
import { CA_USAGES, type CaId } from "./catalog";
import { certNotAfter, KEEP_CA_CERT, KEEP_KEY, newPrivateKey, pemBlocks, yearsToHours } from "./keys";

export interface CertificateAuthorityArgs {
    /** Catalogue id ("ca", "front-proxy-ca", "etcd-ca"): names the resources and the files. */
    readonly id: CaId;
    /** Subject CN of a generated CA (kubeadm: "kubernetes", "front-proxy-ca", "etcd-ca"). */
    readonly commonName: string;
    /** "generate" a new CA, or "adopt" the one found on `adoptFrom`. */
    readonly source: KeySource;
    /** Key algorithm of a generated CA (kube-pki:authorities.keyAlgorithm; never changes an existing CA). */
    readonly keyAlgorithm: KeyAlgorithm;
    /** Validity of a generated CA in years. Ignored when adopting. */
    readonly validityYears: number;
    /** The master to read an adopted CA from. Required when `source` is "adopt". */
    readonly adoptFrom?: NodeSpec;
    /** Reads the files on `adoptFrom` (src/node/adopt.ts). Required when `source` is "adopt". */
    readonly readAdopted?: AdoptReader;
    /** Absolute paths of the CA's cert and key on `adoptFrom`. */
    readonly certPath: string;
    readonly keyPath: string;
    /** Subject O of a generated CA besides the CN (a rotation's new CA: rotationMarker(id)). */
    readonly organization?: string;
    /**
     * An adopted CA already read at program time (a rotation's new CA, from the operator's local
     * files): used instead of reading `certPath`/`keyPath` on `adoptFrom`. The key is made secret here.
     */
    readonly pems?: { readonly certPem: string; readonly keyPem: string };
}

export class CertificateAuthority extends pulumi.ComponentResource {
    /** The CA certificate (public). */
    public readonly certPem: pulumi.Output<string>;
    /** The CA private key (secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** notAfter of the CA, RFC 3339: no leaf it signs may outlive it. */
    public readonly validityEndTime: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:CertificateAuthority", name, {}, opts);
        const material = args.pems ? fromPems(args.pems) : args.source === "adopt" ? adopt(name, args, this) : generate(name, args, this);
        this.certPem = material.certPem;
        this.privateKeyPem = pulumi.secret(material.privateKeyPem);
        this.validityEndTime = material.validityEndTime;
        this.registerOutputs({
            certPem: this.certPem, privateKeyPem: this.privateKeyPem, validityEndTime: this.validityEndTime,
        });
    }
}

interface CaMaterial {
    certPem: pulumi.Output<string>;
    privateKeyPem: pulumi.Output<string>;
    validityEndTime: pulumi.Output<string>;
}

function generate(name: string, args: CertificateAuthorityArgs, parent: pulumi.Resource): CaMaterial {
    const key = newPrivateKey(`${name}-key`, args.keyAlgorithm, { parent, ...KEEP_KEY });
    const cert = new tls.SelfSignedCert(`${name}-cert`, {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: args.commonName, ...(args.organization ? { organization: args.organization } : {}) },
        isCaCertificate: true,
        setSubjectKeyId: true,
        validityPeriodHours: yearsToHours(args.validityYears),
        allowedUses: [...CA_USAGES],
    }, { parent: key, ...KEEP_CA_CERT });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem, validityEndTime: cert.validityEndTime };
}

/** A CA whose PEMs the program already holds: nothing to read or generate, the key secret from here on. */
function fromPems(pems: { certPem: string; keyPem: string }): CaMaterial {
    const certPem = pulumi.output(pems.certPem);
    return { certPem, privateKeyPem: pulumi.secret(pems.keyPem), validityEndTime: certPem.apply(certNotAfter) };
}

/**
 * Reads files on a node once and returns their text (src/node/adopt.ts implements it with the
 * kit). `name` and `parent` place the reading resource: src/pki owns them, so URNs stay stable.
 */
export type AdoptReader = (name: string, node: NodeSpec, paths: readonly string[], parent: pulumi.Resource) => pulumi.Output<string>;

/**
 * Read cert + key from the node once. The command's stdout is the only place the key passes
 * through: it is a secret output, never logged, and the reader keeps the first reading for good
 * (a changed connection or path must not silently re-read a different CA).
 */
export function adoptFiles(
    name: string,
    node: NodeSpec | undefined,
    paths: string[],
    what: string,
    parent: pulumi.Resource,
    read?: AdoptReader,
): pulumi.Output<string> {
    if (!node) throw new pulumi.ResourceError(`${what}: adopting needs kube-pki:authorities.adoptFrom to name a master`, parent);
    if (!read) {
        throw new pulumi.ResourceError(`${what}: adopting needs a reader of node files; pass readAdopted: adoptReader(kits) ` +
            "(src/node/adopt.ts) to ClusterPki", parent);
    }
    return pulumi.secret(read(`${name}-adopt`, node, paths, parent));
}

function adopt(name: string, args: CertificateAuthorityArgs, parent: pulumi.Resource): CaMaterial {
    const text = adoptFiles(name, args.adoptFrom, [args.certPath, args.keyPath], `CA "${args.id}"`, parent, args.readAdopted);
    const blocks = text.apply((t) => {
        const found = pemBlocks(t);
        const cert = found.find((b) => b.type === "CERTIFICATE");
        const key = found.find((b) => b.type.endsWith("PRIVATE KEY"));
        if (!cert || !key) {
            throw new pulumi.ResourceError(
                `CA "${args.id}": ${args.certPath} or ${args.keyPath} on ${args.adoptFrom?.name} is not a PEM ` +
                `certificate/key; fix the files or set kube-pki:authorities to "generate" for this CA`, parent);
        }
        return { cert: cert.pem, key: key.pem };
    });
    const certPem = pulumi.unsecret(blocks.apply((b) => b.cert));
    return { certPem, privateKeyPem: pulumi.secret(blocks.apply((b) => b.key)), validityEndTime: certPem.apply(certNotAfter) };
}
