/**
 * The service-account token signing key pair (sa.key / sa.pub). Adopted by default and never
 * rotated implicitly: a new key invalidates every service-account token in the cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import type { KeyAlgorithm, KeySource, NodeSpec } from "../spec";
import { adoptFiles, type AdoptReader } from "./authority";
import { certPublicKeyPem, KEEP_KEY, newPrivateKey, pemBlocks } from "./keys";

export interface ServiceAccountKeysArgs {
    readonly source: KeySource;
    readonly keyAlgorithm: KeyAlgorithm;
    /** The master to read sa.key/sa.pub from when adopting. */
    readonly adoptFrom?: NodeSpec;
    /** Reads the files on `adoptFrom` (src/node/adopt.ts). Required when adopting. */
    readonly readAdopted?: AdoptReader;
    readonly privateKeyPath: string;
    readonly publicKeyPath: string;
}

export class ServiceAccountKeys extends pulumi.ComponentResource {
    /** sa.key (secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** sa.pub. */
    public readonly publicKeyPem: pulumi.Output<string>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: ServiceAccountKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:ServiceAccountKeys", name, {}, opts);
        if (args.source === "generate") {
            const key = newPrivateKey(`${name}-key`, args.keyAlgorithm, { parent: this, ...KEEP_KEY });
            this.privateKeyPem = pulumi.secret(key.privateKeyPem);
            this.publicKeyPem = key.publicKeyPem;
        } else {
            const text = adoptFiles(name, args.adoptFrom, [args.privateKeyPath, args.publicKeyPath], "service-account key pair", this, args.readAdopted);
            const blocks = text.apply((t) => {
                const found = pemBlocks(t);
                const priv = found.find((b) => b.type.endsWith("PRIVATE KEY"));
                // RKE keeps the public half as a certificate (kube-service-account-token.pem): its key is taken.
                const cert = found.find((b) => b.type === "CERTIFICATE");
                const pub = found.find((b) => b.type === "PUBLIC KEY") ?? (cert && { pem: certPublicKeyPem(cert.pem) });
                if (!priv || !pub) {
                    throw new pulumi.ResourceError(
                        `service-account keys: ${args.privateKeyPath} or ${args.publicKeyPath} on ${args.adoptFrom?.name} ` +
                        `is not a PEM key; fix the files or set kube-pki:authorities.serviceAccount to "generate"`, this);
                }
                return { priv: priv.pem, pub: pub.pem };
            });
            this.privateKeyPem = pulumi.secret(blocks.apply((b) => b.priv));
            this.publicKeyPem = pulumi.unsecret(blocks.apply((b) => b.pub));
        }
        this.registerOutputs({ privateKeyPem: this.privateKeyPem, publicKeyPem: this.publicKeyPem });
    }
}
