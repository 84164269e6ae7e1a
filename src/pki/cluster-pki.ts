/**
 * ClusterPki: turns the per-node plan (src/pki/plan.ts: every file, its material, what its
 * certificate must look like) into resources: the CAs, the sa key pair and one LeafCertificate
 * per planned certificate (shared ones once, per-node ones per node), and for each node the
 * files it must hold with their content. A CA under rotation gets its new CA beside the old one,
 * and the phase (src/pki/ca-rotation.ts PHASE_CONTENTS) says which of the two its trust anchors
 * carry, whose key its key file holds and which one signs its leaves.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseCert, shortFingerprint } from "../drift/cert-info";
import { spkiPem } from "../drift/script-output";
import type { CaRotationSpec, ClusterSpec, KeySource, NodeSpec } from "../spec";
import { CertificateAuthority, type AdoptReader } from "./authority";
import { PHASE_CONTENTS, rotationMarker, type RotationDecision } from "./ca-rotation";
import { SA_ROTATION_KEY, type SaRotationDecision } from "./sa-rotation";
import { CA_CONFIG_KEY, type AllowedUse, type CaEntry, type CaId, type KubeconfigEntry, type ResolvedSubject } from "./catalog";
import type { Component } from "./components";
import { daysToHours } from "./keys";
import { renderKubeconfig, renderRotatingKubeletConfig } from "./kubeconfig";
import type { KubeletClientDecision } from "./kubelet-client";
import { filePath, KUBELET_CLIENT_CURRENT, signingCertPath, type FileKey } from "./layout";
import { LeafCertificate, type Signer } from "./leaf";
import { planCluster, type NodePlan, type PlanFileKey, type PlannedCertificate, type PlannedFile } from "./plan";
import { ServiceAccountKeys } from "./service-account";

/** What a certificate file is expected to look like, for verification on the node and drift. */
export interface ExpectedCert {
    readonly subject: ResolvedSubject;
    /** CN of the signing CA (the cert's issuer). */
    readonly issuerCommonName: string;
    readonly usages: readonly AllowedUse[];
    /** Path of the private key that must match, and of the CA that must verify it. */
    readonly keyPath?: string;
    readonly caPath: string;
}

/** One file a node must hold. */
export interface WantedFile {
    /** Layout key ("apiserver.crt", "admin.conf"), or a kube-pki:certificates id. */
    readonly key: PlanFileKey;
    /** Absolute path on the node. */
    readonly path: string;
    readonly mode: "0600" | "0644";
    /** user:group install.sh chowns it to (absent: left as created, root:root). */
    readonly owner?: string;
    /** File content; secret for keys and kubeconfigs. */
    readonly content: pulumi.Output<string>;
    /** Components that read it: a change restarts exactly these. */
    readonly consumers: readonly Component[];
    /** Readers outside the component table (kube-pki:certificates consumers), restarted after them. */
    readonly extraConsumers?: readonly string[];
    /** A kubeconfig (install checks it as one, whatever its key). */
    readonly kubeconfig?: true;
    /** Catalogue id the file comes from ("apiserver", "ca", "sa", "admin.conf"). */
    readonly source: string;
    /** Set on certificate files and kubeconfigs (the embedded client cert). */
    readonly expected?: ExpectedCert;
    /** notAfter of the certificate in this file (certs and kubeconfigs). */
    readonly notAfter?: pulumi.Output<string>;
}

/** A kubelet client certificate kube-pki installs beside the kubelet's own (rotate mode). */
export interface KubeletClientPki {
    /** Certificate then key, as the kubelet keeps them in one .pem (secret). */
    readonly pem: pulumi.Output<string>;
    readonly certPem: pulumi.Output<string>;
    readonly notAfter: pulumi.Output<string>;
}

/**
 * A master's controller-manager signing file during a cluster CA rotation (src/scripts/signing-file.sh):
 * `point` while ca.crt holds two CAs (the flag names `signing`, one certificate), `unpoint` once it holds one again.
 */
export interface SigningFileStep {
    readonly mode: "point" | "unpoint";
    readonly caCert: string;
    readonly caKey: string;
    readonly signing: string;
}

export interface NodePki {
    readonly node: NodeSpec;
    readonly files: readonly WantedFile[];
    /** Set on masters holding the cluster CA key while the cluster CA rotates. */
    readonly signing?: SigningFileStep;
    /** Set while kube-pki declares this node's kubelet client certificate (rotate mode). */
    readonly kubeletClient?: KubeletClientPki;
}

export interface ClusterPkiArgs {
    /** The validated cluster description (see src/config.ts). */
    readonly cluster: ClusterSpec;
    /** Reads adopted CAs and the sa key pair from the adoptFrom master (src/node/adopt.ts: adoptReader(kits)). */
    readonly readAdopted?: AdoptReader;
    /** rotate mode: per node, whether kube-pki declares its kubelet client certificate (src/pki/kubelet-client.ts). */
    readonly kubeletClients?: Readonly<Record<string, KubeletClientDecision>>;
    /** CA rotations under way: per CA, the phase this run declares (decideRotation, src/pki/ca-rotation.ts). */
    readonly rotations?: Partial<Record<CaId, RotationDecision>>;
    /** The service-account key rotation under way: the phase this run declares (src/pki/sa-rotation.ts). */
    readonly saRotation?: SaRotationDecision;
}

export class ClusterPki extends pulumi.ComponentResource {
    /** Per node name: the files it must hold. */
    public readonly nodes: Record<string, NodePki>;
    /** admin.conf (secret). */
    public readonly adminKubeconfig: pulumi.Output<string>;
    /** Per CA id: the CA certificate (under rotation: the one whose key signs this phase). */
    public readonly caCertificates: Record<string, pulumi.Output<string>>;
    /** Per CA id: what its trust anchors carry (the certificate; under rotation the phase's old/new bundle). */
    public readonly caBundles: Record<string, pulumi.Output<string>>;
    /** kube-pki:certificates kubeconfigs kept only as stack outputs, by id (secret). */
    public readonly userKubeconfigs: Record<string, pulumi.Output<string>>;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:ClusterPki", name, {}, opts);
        const built = createClusterPki(name, this, args.cluster, args.readAdopted, args.kubeletClients, args.rotations, args.saRotation);
        this.nodes = built.nodes;
        this.adminKubeconfig = built.adminKubeconfig;
        this.caCertificates = built.caCertificates;
        this.caBundles = built.caBundles;
        this.userKubeconfigs = built.userKubeconfigs;
        this.registerOutputs({ adminKubeconfig: this.adminKubeconfig, caCertificates: this.caCertificates });
    }
}

/** Names of child resources: one pure function so names stay stable (they are URNs). */
export function childName(component: string, ...parts: string[]): string {
    return [component, ...parts].join("-");
}

interface Built {
    nodes: Record<string, NodePki>;
    adminKubeconfig: pulumi.Output<string>;
    caCertificates: Record<string, pulumi.Output<string>>;
    caBundles: Record<string, pulumi.Output<string>>;
    userKubeconfigs: Record<string, pulumi.Output<string>>;
}

/** What one CA's files and certificates carry this run: the CA alone, or a rotation phase's mix. */
interface CaUse {
    /** Trust anchors (CA file, kubeconfig CA data, cluster-info): PEMs, first one first. */
    readonly bundle: pulumi.Output<string>;
    /** Whose key the CA key file holds (its certificate is the bundle's first). */
    readonly keyCa: CertificateAuthority;
    /** Who signs the leaves and kubeconfig client certificates. */
    readonly signerCa: CertificateAuthority;
}

/** PEM certificates one after another, each ending in a newline (a CA bundle file). */
export function joinPems(pems: readonly string[]): string {
    return pems.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
}

/**
 * The new CA of a rotation (`<cluster>-<ca id>-<rotation id>`, beside the old one, which keeps its
 * name and stays declared) and what the decided phase puts where.
 */
function rotationUse(
    name: string, parent: pulumi.Resource, cluster: ClusterSpec, entry: CaEntry, old: CertificateAuthority, decision: RotationDecision,
): CaUse {
    const at = `kube-pki:authorities.rotate.${CA_CONFIG_KEY[entry.id]}`;
    const spec = cluster.authorities.rotate?.[CA_CONFIG_KEY[entry.id]];
    if (!spec || spec.id !== decision.id) throw new Error(`${at}: a rotation to "${decision.id}" was decided but the config asks for ${spec ? `"${spec.id}"` : "none"}`);
    const adopted = spec.source === "adopt" ? pemsOf(spec) : undefined;
    if (spec.source === "adopt" && !adopted) throw new Error(`${at}.certFile: source "adopt" needs the new CA's certificate and key files read (set certFile and keyFile)`);
    const fresh = new CertificateAuthority(childName(name, entry.id, decision.id), {
        id: entry.id,
        // Same CN as kubeadm's (components ignore a CA's O): a generated new CA is told apart by its O.
        commonName: entry.commonName,
        source: spec.source,
        keyAlgorithm: cluster.authorities.keyAlgorithm,
        validityYears: cluster.validity.caYears,
        certPath: spec.certFile ?? "",
        keyPath: spec.keyFile ?? "",
        ...(adopted ? { pems: adopted } : { organization: rotationMarker(decision.id) }),
    }, { parent });
    const contents = PHASE_CONTENTS[decision.phase];
    const pick = (which: "old" | "new") => (which === "old" ? old : fresh);
    // The old CA in state must be one the nodes still trust: else they trust an earlier rotation's
    // CA (a changed id after a finished rotation), and this phase would hand them one they do not.
    const known = old.certPem.apply((pem) => {
        const seen = decision.oldSeen ?? [];
        if (seen.length === 0) return pem;
        const own = parseCert(pem).sha256;
        if (!seen.includes(own)) {
            throw new pulumi.ResourceError(`${at}.id: the nodes trust ${seen.map(shortFingerprint).join(", ")} besides the new CA, not this stack's ${entry.id} ` +
                `(${shortFingerprint(own)}, kube-pki:authorities.${CA_CONFIG_KEY[entry.id]}): an earlier rotation's CA? A second rotation of the same CA is not ` +
                `supported yet; set id back to the rotation the nodes finished (its entry must stay), and change nothing on the nodes until then`, parent);
        }
        return pem;
    });
    return {
        bundle: pulumi.all(contents.trust.map((w) => (w === "old" ? known : fresh.certPem))).apply(joinPems),
        keyCa: pick(contents.key),
        signerCa: pick(contents.signer),
    };
}

/**
 * sa.key and sa.pub in a phase of the service-account key rotation: the phase's signing key, and
 * its public keys in order (the signing key's first: install.sh checks the pair by sa.pub's first key).
 * The old pair stays the stack's ServiceAccountKeys (adopted once, or generated), so an abort has it.
 */
function saRotationFiles(cluster: ClusterSpec, sa: ServiceAccountKeys, decision: SaRotationDecision): { privateKeyPem: pulumi.Output<string>; publicKeyPem: pulumi.Output<string> } {
    const spec = cluster.authorities.serviceAccountRotation;
    if (!spec || spec.id !== decision.id) throw new Error(`${SA_ROTATION_KEY}: a rotation to "${decision.id}" was decided but the config asks for ${spec ? `"${spec.id}"` : "none"}`);
    const contents = PHASE_CONTENTS[decision.phase];
    const withNewline = (pem: string) => (pem.endsWith("\n") ? pem : `${pem}\n`);
    // The stack's old key must be one the masters' sa.pub still holds (see rotationUse).
    const checked = sa.publicKeyPem.apply((oldPub) => {
        const seen = decision.oldSeen ?? [];
        if (seen.length > 0 && !seen.includes(spkiPem(oldPub) ?? "")) {
            throw new pulumi.ResourceError(`${SA_ROTATION_KEY}: the masters' sa.pub holds ${seen.length === 1 ? "a key" : "keys"} besides the new one that ` +
                "this stack's service-account pair is not (an earlier rotation's key?); a second rotation is not supported yet: set id and keyFile " +
                "back to the rotation the masters finished (its entry must stay), and change nothing on the nodes until then", sa);
        }
        return oldPub;
    });
    return {
        privateKeyPem: contents.key === "new" ? pulumi.secret(spec.keyPem) : pulumi.secret(checked.apply(() => sa.privateKeyPem)),
        publicKeyPem: checked.apply((oldPub) => contents.trust.map((side) => withNewline(side === "new" ? spec.publicKeyPem : oldPub)).join("")),
    };
}

/** The PEMs of an adopted new CA, as the config read them (src/config/rotation.ts). */
function pemsOf(spec: CaRotationSpec): { certPem: string; keyPem: string } | undefined {
    return spec.certPem && spec.keyPem ? { certPem: spec.certPem, keyPem: spec.keyPem } : undefined;
}

/** @internal */
export function createClusterPki(
    name: string, parent: pulumi.ComponentResource, cluster: ClusterSpec, readAdopted?: AdoptReader,
    kubeletClients?: Readonly<Record<string, KubeletClientDecision>>, rotations: Partial<Record<CaId, RotationDecision>> = {},
    saRotation?: SaRotationDecision,
): Built {
    const plan = planCluster(cluster);
    const masters = cluster.nodes.filter((n) => n.role === "master");
    const adoptFrom = masters.find((n) => n.name === cluster.authorities.adoptFrom);
    // Adopted files are read on adoptFrom: per-node paths are filled for it.
    const path = (key: FileKey) => filePath(cluster.layout, key, adoptFrom);
    const earlyRenewalHours = daysToHours(cluster.validity.renewBeforeDays);

    const cas = new Map<CaId, CertificateAuthority & { entry: CaEntry }>();
    const uses = new Map<CaId, CaUse>();
    for (const entry of plan.cas) {
        const ca = new CertificateAuthority(childName(name, entry.id), {
            id: entry.id,
            commonName: entry.commonName,
            // plan.cas holds no same-as-ca CA: the source here is adopt or generate.
            source: cluster.authorities[CA_CONFIG_KEY[entry.id]] as KeySource,
            keyAlgorithm: cluster.authorities.keyAlgorithm,
            validityYears: cluster.validity.caYears,
            adoptFrom,
            readAdopted,
            certPath: path(entry.certFile),
            keyPath: path(entry.keyFile),
        }, { parent });
        cas.set(entry.id, Object.assign(ca, { entry }));
        const decision = rotations[entry.id];
        uses.set(entry.id, decision ? rotationUse(name, parent, cluster, entry, ca, decision) : { bundle: ca.certPem, keyCa: ca, signerCa: ca });
    }
    for (const id of Object.keys(rotations) as CaId[]) {
        if (!cas.has(id)) {
            throw new Error(`kube-pki:authorities.rotate.${CA_CONFIG_KEY[id]}: ${id} is no CA of its own in this stack (same-as-ca, omitted or ` +
                "external); rotate the CA it is (kube-pki:authorities.rotate.ca) or remove the rotation");
        }
    }
    const use = (id: CaId): CaUse => uses.get(id)!;
    const signer = (id: CaId): Signer => {
        const ca = use(id).signerCa;
        return { certPem: ca.certPem, privateKeyPem: ca.privateKeyPem, validityEndTime: ca.validityEndTime, id };
    };

    // layout.omit: [sa] leaves the pair to whoever made it: nothing read, nothing declared.
    const sa = plan.entries.some((e) => e.id === "sa") ? new ServiceAccountKeys(childName(name, "sa"), {
        source: cluster.authorities.serviceAccount,
        keyAlgorithm: cluster.authorities.keyAlgorithm,
        adoptFrom,
        readAdopted,
        privateKeyPath: path("sa.key"),
        publicKeyPath: path("sa.pub"),
    }, { parent }) : undefined;
    const saFiles = sa && (saRotation ? saRotationFiles(cluster, sa, saRotation) : { privateKeyPem: sa.privateKeyPem, publicKeyPem: sa.publicKeyPem });
    if (saRotation && !sa) throw new Error(`${SA_ROTATION_KEY}: kube-pki manages no sa.key/sa.pub in this stack (kube-pki:layout.omit names sa); remove the rotation`);

    // One LeafCertificate per planned certificate, shared or per node as the plan says.
    const issued = new Map<string, LeafCertificate>();
    const certificate = (cert: PlannedCertificate): LeafCertificate => {
        const known = issued.get(cert.id);
        if (known) return known;
        const leaf = new LeafCertificate(childName(name, ...cert.nameParts), {
            subject: cert.subject,
            usages: cert.usages,
            keyAlgorithm: cluster.keyAlgorithm,
            validityHours: daysToHours(cert.validityDays),
            earlyRenewalHours,
            signer: signer(cert.issuer),
        }, { parent: cas.get(cert.issuer)! });
        issued.set(cert.id, leaf);
        return leaf;
    };
    const byId = (id: string) => certificate(plan.certificates.get(id)!);

    /** The content and notAfter of one planned file. */
    const materialOf = (f: PlannedFile, node: NodeSpec): { content: pulumi.Output<string>; notAfter?: pulumi.Output<string> } => {
        const m = f.material;
        switch (m.kind) {
            // The first certificate of the file is the key's (the controller-manager signs with the pair).
            case "ca-cert": return { content: use(m.ca).bundle, notAfter: use(m.ca).keyCa.validityEndTime };
            case "ca-key": return { content: use(m.ca).keyCa.privateKeyPem };
            case "sa-private-key": return { content: saFiles!.privateKeyPem };
            case "sa-public-key": return { content: saFiles!.publicKeyPem };
            case "leaf-cert": return { content: byId(m.certificate).certPem, notAfter: byId(m.certificate).validityEndTime };
            case "leaf-key": return { content: byId(m.certificate).privateKeyPem };
            case "rotating-kubeconfig":
                // No client certificate of ours inside: the kubelet's rotated one is referenced.
                return { content: use("ca").bundle.apply((caPem) => renderRotatingKubeletConfig({
                    clusterName: cluster.name, server: m.server, caCertPem: caPem, nodeName: node.name, clientPemPath: KUBELET_CLIENT_CURRENT,
                })) };
            case "kubeconfig": {
                const leaf = byId(m.certificate);
                const user = m.user ?? plan.entries.find((e): e is KubeconfigEntry => e.kind === "kubeconfig" && e.id === f.source)!.user;
                const content = pulumi.all([use("ca").bundle, leaf.certPem, leaf.privateKeyPem]).apply(([caPem, certPem, keyPem]) =>
                    renderKubeconfig({ clusterName: cluster.name, server: m.server, caCertPem: caPem, user, clientCertPem: certPem, clientKeyPem: keyPem }));
                return { content, notAfter: leaf.validityEndTime };
            }
        }
    };

    const wantedFile = (f: PlannedFile, node: NodeSpec): WantedFile => {
        const { content, notAfter } = materialOf(f, node);
        const expected = f.expected && {
            subject: f.expected.subject, issuerCommonName: f.expected.issuerCommonName, usages: f.expected.usages,
            ...(f.expected.keyPath ? { keyPath: f.expected.keyPath } : {}), caPath: f.expected.caPath,
        };
        return {
            key: f.key, path: f.path, mode: f.mode, ...(f.owner ? { owner: f.owner } : {}), content: f.mode === "0600" ? pulumi.secret(content) : content,
            consumers: f.consumers, ...(f.extraConsumers ? { extraConsumers: f.extraConsumers } : {}),
            ...(f.material.kind === "kubeconfig" ? { kubeconfig: true as const } : {}), source: f.source, ...(expected ? { expected } : {}), ...(notAfter ? { notAfter } : {}),
        };
    };

    // rotate mode: a client certificate only for nodes whose own is unusable (or still ours).
    const kubeletClientOf = (planned: NodePlan): KubeletClientPki | undefined => {
        if (!planned.kubeletClient || !kubeletClients?.[planned.node.name]?.declare) return undefined;
        const leaf = certificate(planned.kubeletClient);
        const pem = pulumi.secret(pulumi.all([leaf.certPem, leaf.privateKeyPem]).apply(([c, k]) => `${c.trimEnd()}\n${k.trimEnd()}\n`));
        return { pem, certPem: leaf.certPem, notAfter: leaf.validityEndTime };
    };

    // Cluster CA rotation: masters with the CA key also hold the signing CA's certificate alone
    // (kube-controller-manager refuses a two-certificate --cluster-signing-cert-file), installed with ca.key.
    const signingOf = (planned: NodePlan): { file: WantedFile; step: SigningFileStep } | undefined => {
        const decision = rotations.ca;
        const keyFile = planned.files.find((f) => f.material.kind === "ca-key" && f.material.ca === "ca");
        const certFile = planned.files.find((f) => f.material.kind === "ca-cert" && f.material.ca === "ca");
        if (!decision || !keyFile || !certFile) return undefined;
        const signing = signingCertPath(cluster.layout, planned.node);
        const keyCa = use("ca").keyCa;
        return {
            file: { key: "kube-pki-ca-signing.crt" as PlanFileKey, path: signing, mode: "0644", content: keyCa.certPem,
                consumers: ["kube-controller-manager"], source: "ca", notAfter: keyCa.validityEndTime },
            step: { mode: PHASE_CONTENTS[decision.phase].trust.length > 1 ? "point" : "unpoint", caCert: certFile.path, caKey: keyFile.path, signing },
        };
    };

    const nodes: Record<string, NodePki> = {};
    for (const node of cluster.nodes) {
        const planned = plan.nodes[node.name];
        const kubeletClient = kubeletClientOf(planned);
        const signing = signingOf(planned);
        const files = planned.files.map((f) => wantedFile(f, node));
        nodes[node.name] = {
            node, files: signing ? [...files, signing.file] : files,
            ...(kubeletClient ? { kubeletClient } : {}), ...(signing ? { signing: signing.step } : {}),
        };
    }
    const adminOwner = masters[0];
    const admin = nodes[adminOwner.name].files.find((f) => f.key === "admin.conf")!;
    const caCertificates = Object.fromEntries([...cas.keys()].map((id) => [id, use(id).keyCa.certPem]));
    const caBundles = Object.fromEntries([...cas.keys()].map((id) => [id, use(id).bundle]));
    // A cluster user's kubeconfig: a secret stack output, on no node.
    const userKubeconfigs = Object.fromEntries(plan.outputs.map((o) => {
        const leaf = byId(o.certificate);
        return [o.id, pulumi.secret(pulumi.all([use("ca").bundle, leaf.certPem, leaf.privateKeyPem]).apply(([caPem, certPem, keyPem]) =>
            renderKubeconfig({ clusterName: cluster.name, server: o.server, caCertPem: caPem, user: o.user, clientCertPem: certPem, clientKeyPem: keyPem })))];
    }));
    return { nodes, adminKubeconfig: pulumi.secret(admin.content), caCertificates, caBundles, userKubeconfigs };
}
