/**
 * Judges of what the nodes hold during a CA rotation, by openssl (fingerprints of every certificate
 * of a bundle, in order; `openssl verify` against one CA at a time for a leaf's signer; public keys
 * of CA key files) and kubectl run inside a node with each kubeconfig as the node's components use it.
 * Never kube-pki's own readers. No vitest here: the bench imports it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { SIM_BINARIES, type SimCluster, type SimNode } from "../harness/sim";
import { run } from "../harness/sim/proc";

const OPENSSL = "/usr/bin/openssl";
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function pemCerts(text: string): string[] {
    return text.match(PEM_CERT) ?? [];
}

async function openssl(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
    return run(OPENSSL, args, { input, check: false, timeoutMs: 15_000, env: { PATH: "/usr/bin:/bin" } });
}

/** SHA-256 fingerprint (lowercase hex) of one PEM certificate, by openssl. */
export async function fingerprintOf(pem: string): Promise<string> {
    const r = await openssl(["x509", "-noout", "-fingerprint", "-sha256"], pem);
    const fp = r.stdout.trim().split("=")[1];
    if (r.code !== 0 || !fp) throw new Error(`openssl x509 -fingerprint: ${r.stderr.trim()}`);
    return fp.replace(/:/g, "").toLowerCase();
}

/** The fingerprints of every certificate in a PEM text, in file order. */
export async function bundleFingerprints(text: string): Promise<string[]> {
    const out: string[] = [];
    for (const pem of pemCerts(text)) out.push(await fingerprintOf(pem));
    return out;
}

/** A CA the judges tell apart: its certificate (PEM) in a file for `openssl verify -CAfile`. */
export interface KnownCa { name: string; pem: string; fingerprint: string; file: string }

/** Writes `pem` to a private temp file (a CA certificate: public) and fingerprints it. */
export async function knownCa(name: string, pem: string): Promise<KnownCa> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-ca-judge-"));
    const file = path.join(dir, `${name}.crt`);
    fs.writeFileSync(file, pemCerts(pem)[0] + "\n");
    return { name, pem: pemCerts(pem)[0], fingerprint: await fingerprintOf(pem), file };
}

/** Names of the CAs (of `cas`) that `openssl verify -CAfile` accepts as the signer of `leafPem`. */
export async function signersOf(leafPem: string, cas: readonly KnownCa[]): Promise<string[]> {
    const ok = await Promise.all(cas.map(async (ca) => (await openssl(["verify", "-CAfile", ca.file], leafPem)).code === 0));
    return cas.filter((_, i) => ok[i]).map((c) => c.name);
}

/** SHA-256 of the public key of a CA key file on the node (openssl pkey -pubout; the key never leaves the file). */
export async function keyFilePublic(node: SimNode, nodePath: string): Promise<string> {
    const r = await run(OPENSSL, ["pkey", "-in", node.realHostPath(nodePath), "-pubout"], { check: false, timeoutMs: 15_000, env: { PATH: "/usr/bin:/bin" } });
    if (r.code !== 0) throw new Error(`openssl pkey ${nodePath} on ${node.name}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** The public key (PEM) of a certificate, by openssl. */
export async function certPublic(pem: string): Promise<string> {
    return (await openssl(["x509", "-noout", "-pubkey"], pem)).stdout.trim();
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
export async function placesHolding(node: SimNode, fingerprint: string): Promise<string[]> {
    const places: string[] = [];
    const texts = { ...pemFiles(node, "/etc/kubernetes"), ...pemFiles(node, "/var/lib/kubelet") };
    for (const kc of kubeconfigsOf(node)) texts[`${kc.file} certificate-authority-data`] = kc.caPem;
    for (const [where, text] of Object.entries(texts)) {
        if ((await bundleFingerprints(text)).includes(fingerprint)) places.push(where);
    }
    return places;
}

/**
 * The leaves a node presents or serves: every non-CA certificate under /etc/kubernetes/pki (first
 * certificate of each file), the kubelet's current client certificate, and every kubeconfig's client
 * certificate. node-path → PEM.
 */
export async function leavesOf(node: SimNode): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [where, text] of Object.entries(pemFiles(node, "/etc/kubernetes/pki"))) {
        const first = pemCerts(text)[0];
        if (!first) continue;
        const ext = (await openssl(["x509", "-noout", "-ext", "basicConstraints"], first)).stdout;
        if (/CA:TRUE/.test(ext)) continue;
        out[where] = first;
    }
    const current = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    if (fs.existsSync(node.realHostPath(current))) out[current] = pemCerts(fs.readFileSync(node.realHostPath(current), "utf8"))[0];
    for (const kc of kubeconfigsOf(node)) if (kc.clientPem) out[`${kc.file} client`] = kc.clientPem;
    return out;
}

/** Per leaf of the node: which of `cas` signed it ("" when none of them). */
export async function leafSigners(node: SimNode, cas: readonly KnownCa[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [where, pem] of Object.entries(await leavesOf(node))) out[where] = (await signersOf(pem, cas)).join("+");
    return out;
}

/** Names (of `cas`) of the certificates of a trust anchor, in order ("?" for one of no known CA). */
export async function anchorOrder(text: string, cas: readonly KnownCa[]): Promise<string[]> {
    return (await bundleFingerprints(text)).map((fp) => cas.find((c) => c.fingerprint === fp)?.name ?? `?${fp.slice(0, 12)}`);
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
