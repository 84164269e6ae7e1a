/**
 * Judges of what the nodes hold during a CA rotation, read from the node files by OpenSSL through
 * node:crypto's X509Certificate (fingerprints of every certificate of a bundle, in order; a leaf's
 * signer by issuer name and signature; public keys of CA key files) and kubectl run inside a node with
 * each kubeconfig as the node's components use it. Never kube-pki's own readers (its inventory).
 * In-process on purpose: a judgement of 4 nodes with the openssl CLI took 10-15 s on 2 loaded cores.
 * No vitest here: the bench imports it.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { SIM_BINARIES, type SimCluster, type SimNode } from "../harness/sim";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function pemCerts(text: string): string[] {
    return text.match(PEM_CERT) ?? [];
}

/** SHA-256 fingerprint (lowercase hex) of one PEM certificate. */
export function fingerprintOf(pem: string): string {
    return new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();
}

/** The fingerprints of every certificate in a PEM text, in file order. */
export function bundleFingerprints(text: string): string[] {
    return pemCerts(text).map(fingerprintOf);
}

/** A CA the judges tell apart; `file` holds its certificate (for etcdctl --cacert and openssl). */
export interface KnownCa { name: string; pem: string; fingerprint: string; file: string }

/** Writes `pem` to a private temp file (a CA certificate: public) and fingerprints it. */
export async function knownCa(name: string, pem: string): Promise<KnownCa> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-ca-judge-"));
    const file = path.join(dir, `${name}.crt`);
    fs.writeFileSync(file, pemCerts(pem)[0] + "\n");
    return { name, pem: pemCerts(pem)[0], fingerprint: fingerprintOf(pem), file };
}

/** Names of the CAs (of `cas`) that signed `leafPem`: issuer name and signature both check. */
export function signersOf(leafPem: string, cas: readonly KnownCa[]): string[] {
    const leaf = new crypto.X509Certificate(leafPem);
    return cas.filter((ca) => {
        const c = new crypto.X509Certificate(ca.pem);
        return leaf.checkIssued(c) && leaf.verify(c.publicKey);
    }).map((c) => c.name);
}

/** The public key (SPKI PEM) of a CA key file on the node; the key itself is never copied. */
export function keyFilePublic(node: SimNode, nodePath: string): string {
    return crypto.createPublicKey(fs.readFileSync(node.realHostPath(nodePath))).export({ type: "spki", format: "pem" }).toString().trim();
}

/** The public key (SPKI PEM) of a certificate. */
export function certPublic(pem: string): string {
    return new crypto.X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" }).toString().trim();
}

/** One kubeconfig of a node: its CA data and client certificate (inline or the file it names, as the node sees it). */
export interface NodeKubeconfig { file: string; server: string; caPem: string; clientPem?: string }

export function kubeconfigsOf(node: SimNode): NodeKubeconfig[] {
    const dir = node.hostPath("/etc/kubernetes");
    return fs.readdirSync(dir).filter((f) => f.endsWith(".conf")).sort().map((f) => {
        const kc = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
        const ctx = (kc.contexts ?? []).find((c: any) => c.name === kc["current-context"])?.context ?? {};
        const cluster = (kc.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster ?? {};
        const user = (kc.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {};
        const b64 = (s?: string) => (s ? Buffer.from(s, "base64").toString("utf8") : undefined);
        const fromFile = (p?: string) => (p && fs.existsSync(node.realHostPath(p)) ? fs.readFileSync(node.realHostPath(p), "utf8") : undefined);
        const caPem = b64(cluster["certificate-authority-data"]) ?? fromFile(cluster["certificate-authority"]) ?? "";
        const clientText = b64(user["client-certificate-data"]) ?? fromFile(user["client-certificate"]);
        return { file: `/etc/kubernetes/${f}`, server: String(cluster.server ?? ""), caPem, clientPem: clientText ? pemCerts(clientText)[0] : undefined };
    });
}

/** Every PEM file under a node directory (recursively), as node path → text. */
function pemFiles(node: SimNode, nodeDir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const root = node.hostPath(nodeDir);
    if (!fs.existsSync(root)) return out;
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full);
            else if (e.isFile() && /\.(crt|pem|conf)$/.test(e.name)) out[path.posix.join(nodeDir, path.relative(root, full))] = fs.readFileSync(full, "utf8");
        }
    };
    walk(root);
    return out;
}

/**
 * Every place a certificate of `ca` (by fingerprint) is trusted or shown on the node: any PEM file
 * under /etc/kubernetes and /var/lib/kubelet, and every kubeconfig's CA data. [] when none.
 */
export function placesHolding(node: SimNode, fingerprint: string): string[] {
    const texts = { ...pemFiles(node, "/etc/kubernetes"), ...pemFiles(node, "/var/lib/kubelet") };
    for (const kc of kubeconfigsOf(node)) texts[`${kc.file} certificate-authority-data`] = kc.caPem;
    return Object.entries(texts).filter(([, text]) => bundleFingerprints(text).includes(fingerprint)).map(([where]) => where);
}

/**
 * The leaves a node presents or serves: every non-CA certificate under /etc/kubernetes/pki (first
 * certificate of each file), the kubelet's current client certificate, and every kubeconfig's client
 * certificate. node-path → PEM.
 */
export function leavesOf(node: SimNode): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [where, text] of Object.entries(pemFiles(node, "/etc/kubernetes/pki"))) {
        const first = pemCerts(text)[0];
        if (first && !new crypto.X509Certificate(first).ca) out[where] = first;
    }
    const current = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    if (fs.existsSync(node.realHostPath(current))) out[current] = pemCerts(fs.readFileSync(node.realHostPath(current), "utf8"))[0];
    for (const kc of kubeconfigsOf(node)) if (kc.clientPem) out[`${kc.file} client`] = kc.clientPem;
    return out;
}

/** Per leaf of the node: which of `cas` signed it ("" when none of them). */
export function leafSigners(node: SimNode, cas: readonly KnownCa[]): Record<string, string> {
    return Object.fromEntries(Object.entries(leavesOf(node)).map(([where, pem]) => [where, signersOf(pem, cas).join("+")]));
}

/** Names (of `cas`) of the certificates of a trust anchor, in order ("?" for one of no known CA). */
export function anchorOrder(text: string, cas: readonly KnownCa[]): string[] {
    return bundleFingerprints(text).map((fp) => cas.find((c) => c.fingerprint === fp)?.name ?? `?${fp.slice(0, 12)}`);
}

/**
 * kubectl inside the node (the kubeconfig's file references resolve as for the node's components)
 * against one apiserver: `get --raw /api`, which the apiserver stand-in answers only to a client
 * certificate it verified (anonymous: 403, unverified: 401). Returns "" when it answered, else why not.
 */
export async function kubectlWorks(node: SimNode, kubeconfig: string, server: string): Promise<string> {
    const cmd = `h=$(mktemp -d) && HOME=$h ${SIM_BINARIES.kubectl} --kubeconfig ${kubeconfig} --server ${server} --request-timeout=10s get --raw /api; c=$?; rm -rf "$h"; exit $c`;
    const r = await node.exec(cmd, { timeoutMs: 30_000 });
    return r.code === 0 && r.stdout.includes("APIVersions") ? "" : `${node.name} ${kubeconfig} → ${server}: exit ${r.code} ${r.stderr.trim().slice(0, 300)}`;
}

/** kubectlWorks for every kubeconfig of every node against every apiserver; the failures ([] when all work). */
export async function everyKubeconfigWorks(sim: SimCluster): Promise<{ checked: number; failures: string[] }> {
    const jobs = sim.nodes.flatMap((n) => kubeconfigsOf(n).flatMap((kc) => sim.masters.map((m) => () => kubectlWorks(n, kc.file, `https://${m.ip}:6443`))));
    const failures: string[] = [];
    for (let i = 0; i < jobs.length; i += 3) {
        for (const f of await Promise.all(jobs.slice(i, i + 3).map((j) => j()))) if (f) failures.push(f);
    }
    return { checked: jobs.length, failures };
}
