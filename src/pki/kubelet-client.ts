/**
 * The kubelet's client certificate in `kube-pki:kubelet.clientCertificate: rotate` mode: the
 * kubelet rotates it itself (kubelet-client-current.pem, renewed by CSR at 70–90 % of its
 * lifetime); kube-pki steps in only when that file is unusable or overdue. This module decides,
 * per node and from the program-time inventory, whether kube-pki declares a certificate for it.
 * Pure: no Pulumi, no I/O.
 */
import { createHash } from "node:crypto";
import { issuedBy, parseCert, type CertInfo } from "../drift/cert-info";
import type { InventoryFile, NodeInventory } from "../drift/inventory";
import type { ClusterSpec, NodeSpec } from "../spec";
import { rotationMarker, type RotationDecision, type RotationPhase } from "./ca-rotation";
import { filePath, KUBELET_CLIENT_CURRENT } from "./layout";

/** The kubelet's certificate directory (kubeadm's --cert-dir default). */
export const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";
/** The kubelet's config file (kubeadm writes rotateCertificates: true there). */
export const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";
/** Name prefix of the files kube-pki installs beside the kubelet's own kubelet-client-<stamp>.pem. */
export const KUBE_PKI_CLIENT_PREFIX = "kubelet-client-kube-pki-";
/** The kubelet asks for a new certificate somewhere in 70–90 % of the lifetime: past 90 % it failed. */
export const ROTATION_OVERDUE_FRACTION = 0.9;

export type KubeletClientAction = "keep" | "reissue";

export interface KubeletClientDecision {
    /** keep: the node's certificate is left alone; reissue: kube-pki installs a fresh one this run. */
    readonly action: KubeletClientAction;
    /** Why, with the values ("expired 3 d ago", "signed by another CA (issuer CN=foreign)"). */
    readonly reason: string;
    /**
     * Whether kube-pki declares a certificate for the node: when it reissues, and for as long as
     * kubelet-client-current.pem still points at kube-pki's file (so the next run changes nothing).
     */
    readonly declare: boolean;
    /** The certificate kubelet-client-current.pem holds now, when readable. */
    readonly cert?: CertInfo;
    /** Where kubelet-client-current.pem points. */
    readonly linkTarget?: string;
    /** rotateCertificates in the kubelet config; undefined when the file could not be read. */
    readonly rotation?: boolean;
    /** What the kubelet trusts now: SHA-256 of ca.crt and of kubelet.conf's CA data, kubelet.conf's server. */
    readonly trust: { caCrt?: string; kubeconfigCa?: string; server?: string };
}

const DAY = 86_400_000;

/**
 * The cluster CA's rotation, for the decision: the kubelet's own certificate is signed by the
 * controller-manager with ca.key and would stay from the old CA until the kubelet rotates it
 * (months), so from the reissue phase on kube-pki replaces one that is not from the phase's signer.
 */
export interface KubeletClientRotation {
    /** decideRotation's answer for the cluster CA ("ca"). */
    readonly decision: RotationDecision;
    /** The new CA's certificate when it is adopted (RotationInputs.newCaCertPem); absent: generated, known by rotationMarker(id). */
    readonly newCaCertPem?: string;
}

/** Which CA must have signed the kubelet's certificate in each phase (trust-both: either, as without rotation). */
const EXPECTED_SIGNER: Readonly<Record<RotationPhase, "old" | "new" | undefined>> = {
    "trust-both": undefined,
    "reissue": "new",
    "drop-old": "new",
    "abort-trust": "old",
    "abort-drop-new": "old",
};

/** What the phase asks of the certificate's issuer, and how the new CA is recognised. */
export interface IssuerExpectation {
    readonly id: string;
    readonly want: "old" | "new";
    /** Is the certificate from the new CA? */
    readonly isNew: (cert: CertInfo) => boolean;
    /** isNew checked the signature (adopted new CA), not only the issuer's name. */
    readonly verified: boolean;
}

let parsedNewCa: { pem: string; cert: CertInfo } | undefined;

function expectationOf(rotation: KubeletClientRotation | undefined): IssuerExpectation | undefined {
    if (!rotation) return undefined;
    const { decision, newCaCertPem } = rotation;
    if (decision.ca !== "ca") throw new Error(`kubelet client certificates follow the cluster CA's rotation, not ${decision.ca}'s`);
    const want = EXPECTED_SIGNER[decision.phase];
    if (!want) return undefined;
    if (newCaCertPem) {
        // Adopted: known by its certificate (same CN as the old one, no marker).
        if (parsedNewCa?.pem !== newCaCertPem) parsedNewCa = { pem: newCaCertPem, cert: parseCert(newCaCertPem) };
        const ca = parsedNewCa.cert;
        return { id: decision.id, want, isNew: (cert) => issuedBy(cert, ca), verified: true };
    }
    // Generated: a leaf's issuer DN carries the new CA's subject O.
    const marker = rotationMarker(decision.id);
    return { id: decision.id, want, isNew: (cert) => cert.issuerO.includes(marker), verified: false };
}

/** Why the certificate's issuer is not the one the cluster CA (or its rotation phase) asks for. */
function issuerProblem(cert: CertInfo, caPath: string, expect: IssuerExpectation | undefined): string | undefined {
    const foreign = `signed by another CA (issuer CN=${cert.issuerCN ?? "(none)"}, not ${caPath})`;
    if (!expect) return cert.signedBy !== caPath ? foreign : undefined;
    const isNew = expect.isNew(cert);
    if (expect.want === "new" && isNew) return expect.verified || cert.signedBy === caPath ? undefined : foreign;
    if (expect.want === "old" && isNew) return `signed by the new CA during the abort of the rotation to ${expect.id}`;
    // Not from the new CA: from the old one when a CA in ca.crt verified it, else foreign.
    if (cert.signedBy !== caPath) return foreign;
    return expect.want === "new" ? `signed by the old CA during the rotation to ${expect.id}` : undefined;
}

function span(ms: number): string {
    const abs = Math.abs(ms);
    return abs >= DAY ? `${Math.floor(abs / DAY)} d` : `${Math.floor(abs / 3_600_000)} h`;
}

/** Is this the file kube-pki installed (by name: kube-pki never writes the kubelet's own names)? */
export function isKubePkiClientFile(path: string | undefined): boolean {
    return !!path && path.slice(path.lastIndexOf("/") + 1).startsWith(KUBE_PKI_CLIENT_PREFIX);
}

/** The inventory's record of kubelet-client-current.pem (its link target when it is a link). */
export function currentPemOf(inventory: NodeInventory): InventoryFile | undefined {
    return inventory.files.find((f) => f.key === "kubelet-client-current") ??
        inventory.files.find((f) => f.path === KUBELET_CLIENT_CURRENT);
}

/** Why the node's current certificate cannot be left to the kubelet, or undefined when it can. */
export function unusableReason(file: InventoryFile | undefined, node: NodeSpec, caPath: string, now: Date, renewBeforeDays: number, expect?: IssuerExpectation): string | undefined {
    if (!file || !file.exists) return `missing (${KUBELET_CLIENT_CURRENT})`;
    if (file.unreadable) return "not readable";
    if (!file.cert) return file.parseError ?? "no certificate in the file";
    if (file.keyMatches === false) return "its key does not match the certificate";
    const cert = file.cert;
    const left = cert.notAfter.getTime() - now.getTime();
    if (left <= 0) return `expired ${span(left)} ago`;
    const issuer = issuerProblem(cert, caPath, expect);
    if (issuer) return issuer;
    const want = `system:node:${node.name}`;
    if (cert.subjectCN !== want || !cert.subjectO.includes("system:nodes")) {
        return `subject CN=${cert.subjectCN ?? "(none)"} O=${cert.subjectO.join(",") || "(none)"}, not CN=${want} O=system:nodes`;
    }
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    const used = lifetime > 0 ? (now.getTime() - cert.notBefore.getTime()) / lifetime : 1;
    if (used > ROTATION_OVERDUE_FRACTION) {
        return `${Math.floor(used * 100)} % of its lifetime used (expires in ${span(left)}): the kubelet's own rotation (at 70–90 %) has not happened`;
    }
    if (left <= renewBeforeDays * DAY) return `expires in ${span(left)}, inside renew-before ${renewBeforeDays} d`;
    return undefined;
}

/**
 * One node's decision; undefined for `embedded` stacks and nodes that were not read. With the
 * cluster CA's `rotation`, a certificate not from the CA the phase signs with is replaced too, and
 * kube-pki's own stays declared until the link points at one from that CA.
 */
export function decideKubeletClient(cluster: ClusterSpec, node: NodeSpec, inventory: NodeInventory | undefined, now: Date, rotation?: KubeletClientRotation): KubeletClientDecision | undefined {
    if (cluster.kubelet.clientCertificate !== "rotate" || !inventory?.reachable) return undefined;
    const file = currentPemOf(inventory);
    const linkTarget = file?.linkTarget;
    const rotates = inventory.kubeletConfig?.rotateCertificates;
    const caPath = filePath(cluster.layout, "ca.crt", node);
    const conf = inventory.files.find((f) => f.path === filePath(cluster.layout, "kubelet.conf", node));
    const trust = {
        caCrt: inventory.files.find((f) => f.path === caPath)?.cert?.sha256,
        kubeconfigCa: conf?.kubeconfig?.ca?.sha256,
        server: conf?.kubeconfig?.server,
    };
    const base = { trust, ...(file?.cert ? { cert: file.cert } : {}), ...(linkTarget ? { linkTarget } : {}), ...(rotates !== undefined ? { rotation: rotates } : {}) };
    const expect = expectationOf(rotation);
    const problem = unusableReason(file, node, caPath, now, cluster.validity.renewBeforeDays, expect);
    if (isKubePkiClientFile(linkTarget)) {
        // Ours from the other side of a rotation: the phase's signer replaces it (the engine sees
        // another CA), so preview says so.
        const issuer = expect && file?.cert ? issuerProblem(file.cert, caPath, expect) : undefined;
        if (issuer) return { ...base, action: "reissue", declare: true, reason: `${issuer} (kube-pki's certificate in use)` };
        // Ours is in use: it stays declared (the engine renews it inside renew-before) until the
        // kubelet has rotated away from it.
        return { ...base, action: "keep", declare: true, reason: `kube-pki's certificate in use${problem ? ` (${problem}: the engine reissues it when due)` : ""}; kept until the kubelet rotates it` };
    }
    if (problem) return { ...base, action: "reissue", declare: true, reason: problem };
    const left = file!.cert!.notAfter.getTime() - now.getTime();
    const how = rotates === true ? "the kubelet rotates it" : rotates === false
        ? "rotateCertificates is off: kube-pki reissues it once overdue" : "rotateCertificates unknown";
    return { ...base, action: "keep", declare: false, reason: `ok (expires in ${span(left)}; ${how})` };
}

/**
 * Does a rotating kubelet already run with what a new kubelet.conf/ca.crt would give it? Then
 * rewriting kubelet.conf (the one-time move to kubeadm's form) needs no restart: a kubelet with
 * rotateCertificates takes its identity from kubelet-client-current.pem whatever kubelet.conf
 * embeds, and the CA and endpoint it trusts are unchanged. Whether its certificate is usable does
 * not matter here: when it is not, the kubelet-client step restarts the kubelet itself. Keeping
 * the answer independent of that decision keeps the restart command's text the same in the run
 * that reissues and in the runs after it, so those runs change nothing.
 */
export function kubeletTrustsAlready(decision: KubeletClientDecision | undefined, caSha256: string, server: string): boolean {
    if (!decision || decision.rotation !== true) return false;
    const t = decision.trust;
    return t.caCrt === caSha256 && t.kubeconfigCa === caSha256 && t.server === server;
}

/** SHA-256 (hex) of a PEM certificate's DER: its fingerprint, as the inventory reports it. */
export function pemSha256(pem: string): string {
    const body = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/.exec(pem)?.[1] ?? pem;
    return createHash("sha256").update(Buffer.from(body.replace(/\s+/g, ""), "base64")).digest("hex");
}

/** Decisions for every node of a `rotate` stack that was read (by node name); `rotation`: the cluster CA's, when it rotates. */
export function decideKubeletClients(cluster: ClusterSpec, inventories: readonly NodeInventory[] | undefined, now: Date, rotation?: KubeletClientRotation): Record<string, KubeletClientDecision> {
    const out: Record<string, KubeletClientDecision> = {};
    for (const node of cluster.nodes) {
        const d = decideKubeletClient(cluster, node, inventories?.find((i) => i.node === node.name), now, rotation);
        if (d) out[node.name] = d;
    }
    return out;
}
