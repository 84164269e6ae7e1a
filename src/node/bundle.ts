/**
 * A node's bundle: the wanted files of one node turned into the install script's stdin, plus
 * the per-file fingerprints that drive install and restart triggers. The bundle is secret
 * (it carries keys); fingerprints are SHA-256 digests and safe to show in a preview.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AllowedUse, Component } from "../pki/catalog";
import type { NodePki, WantedFile } from "../pki/cluster-pki";
import { canonicalSan, serializeBundle, sha256Hex, type BundleCheck, type CertPurpose } from "./bundle-format";

/** The checks install.sh runs on staged files before swapping anything. */
export function bundleChecks(files: readonly WantedFile[]): BundleCheck[] {
    const present = new Set(files.map((f) => f.path));
    const checks: BundleCheck[] = [];
    for (const f of files) {
        if (!f.expected) continue;
        if (f.key.endsWith(".conf") || f.kubeconfig) {
            checks.push({ kubeconfig: f.path, ca: f.expected.caPath });
            continue;
        }
        const { subject, keyPath, caPath, usages } = f.expected;
        checks.push({
            cert: f.path,
            ...(keyPath && present.has(keyPath) ? { key: keyPath } : {}),
            ca: caPath,
            sans: [...subject.dnsNames.map((d) => `DNS:${d}`), ...subject.ipAddresses.map((ip) => `IP:${ip}`)].map(canonicalSan),
            ...(purposes(usages).length > 0 ? { purpose: purposes(usages) } : {}),
        });
    }
    const saKey = files.find((f) => f.key === "sa.key");
    const saPub = files.find((f) => f.key === "sa.pub");
    if (saKey && saPub) checks.push({ key: saKey.path, pub: saPub.path });
    return checks;
}

function purposes(usages: readonly AllowedUse[]): CertPurpose[] {
    const out: CertPurpose[] = [];
    if (usages.includes("server_auth")) out.push("sslserver");
    if (usages.includes("client_auth")) out.push("sslclient");
    return out;
}

/** The install script's stdin for this node (secret). */
export function nodeBundle(pki: NodePki): pulumi.Output<string> {
    const checks = bundleChecks(pki.files);
    const contents = pulumi.all(pki.files.map((f) => f.content));
    return pulumi.secret(contents.apply((texts) => serializeBundle({
        files: pki.files.map((f, i) => ({ path: f.path, mode: f.mode, ...(f.owner ? { owner: f.owner } : {}), content: texts[i] })),
        checks,
    })));
}

/**
 * Per file path: "sha256:<hex>" of the wanted content, with " owner=<user:group>" when an owner is
 * set (a new owner re-installs the file and restarts its readers; without one the text is as before).
 * Not secret: a digest reveals nothing.
 */
export function fileFingerprints(files: readonly WantedFile[]): pulumi.Output<Record<string, string>> {
    const digests = pulumi.all(files.map((f) => f.content.apply((c) => `sha256:${sha256Hex(c)}${f.owner ? ` owner=${f.owner}` : ""}`)));
    return pulumi.unsecret(digests.apply((d) => Object.fromEntries(files.map((f, i) => [f.path, d[i]]))));
}

/** The files a component reads, out of a node's wanted files. */
export function filesReadBy(component: Component, files: readonly WantedFile[]): WantedFile[] {
    return files.filter((f) => f.consumers.includes(component));
}
