/**
 * kube-pki:kubelet.clientCertificate rotate: which kubelets get a client certificate from kube-pki
 * (src/pki/kubelet-client.ts), the preview row, and kubelet.conf in kubeadm's post-finalize form.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { CertInfo } from "../../src/drift/cert-info";
import type { InventoryFile, NodeInventory } from "../../src/drift/inventory";
import { kubeletClientRow } from "../../src/drift/actions";
import { renderRotatingKubeletConfig } from "../../src/pki/kubeconfig";
import { decideKubeletClient, kubeletTrustsAlready, pemSha256 } from "../../src/pki/kubelet-client";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T00:00:00Z");
const CA = "/etc/kubernetes/pki/ca.crt";
const rotate: ClusterSpec = { ...haCluster("1.30.4", 1), kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" } };
const worker = rotate.nodes.find((n) => n.name === "worker-1")!;

function cert(over: Partial<CertInfo> & { issued: number; days: number }): CertInfo {
    const notBefore = new Date(NOW.getTime() - over.issued * DAY);
    return {
        subjectCN: "system:node:worker-1", subjectO: ["system:nodes"], issuerCN: "kubernetes", issuerO: [],
        dnsNames: [], ipAddresses: [], notBefore, notAfter: new Date(notBefore.getTime() + over.days * DAY),
        sha256: "ab".repeat(32), serialNumber: "1", isCa: false, selfSigned: false, signedBy: CA, pem: "", ...over,
    };
}

function inventory(current: Partial<InventoryFile> | undefined, rotation: boolean | "no config" = true): NodeInventory {
    const rotateCertificates = rotation === "no config" ? undefined : rotation;
    const files: InventoryFile[] = current === undefined ? [] : [{
        key: "kubelet-client-current", path: "/var/lib/kubelet/pki/kubelet-client-2025-09-01-00-00-00.pem", kind: "kubelet-pem", exists: true,
        linkTarget: "/var/lib/kubelet/pki/kubelet-client-2025-09-01-00-00-00.pem", ...current,
    }];
    return {
        node: "worker-1", role: "worker", reachable: true, files, served: [],
        kubeletConfig: { present: rotateCertificates !== undefined, ...(rotateCertificates !== undefined ? { rotateCertificates } : {}) },
    };
}

const decide = (inv: NodeInventory | undefined, spec = rotate) => decideKubeletClient(spec, worker, inv, NOW);

describe("which kubelet client certificates kube-pki replaces", () => {
    it("embedded stacks and nodes that were not read: no decision (nothing declared)", () => {
        expect(decide(inventory({ cert: cert({ issued: 500, days: 365 }) }), haCluster("1.30.4", 1))).toBeUndefined();
        expect(decide(undefined)).toBeUndefined();
        expect(decide({ ...inventory(undefined), reachable: false })).toBeUndefined();
    });

    it("a healthy rotated certificate is left to the kubelet", () => {
        const d = decide(inventory({ cert: cert({ issued: 100, days: 365 }) }))!;
        expect(d).toMatchObject({ action: "keep", declare: false, rotation: true });
        expect(d.reason).toBe("ok (expires in 265 d; the kubelet rotates it)");
    });

    const cases: Array<[string, Partial<InventoryFile> | undefined, RegExp]> = [
        ["missing", undefined, /^missing \(\/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem\)$/],
        ["unreadable", { unreadable: true }, /^not readable$/],
        ["not a certificate", { parseError: "no PEM certificate in file" }, /^no PEM certificate in file$/],
        ["key mismatch", { cert: cert({ issued: 10, days: 365 }), keyMatches: false }, /key does not match/],
        ["expired", { cert: cert({ issued: 400, days: 365 }) }, /^expired 35 d ago$/],
        ["foreign CA", { cert: cert({ issued: 10, days: 365, issuerCN: "other-ca", signedBy: undefined }) }, /^signed by another CA \(issuer CN=other-ca, not \/etc\/kubernetes\/pki\/ca\.crt\)$/],
        ["another node's identity", { cert: cert({ issued: 10, days: 365, subjectCN: "system:node:worker-9" }) }, /CN=system:node:worker-9 .*not CN=system:node:worker-1/],
        ["past 90 % of its lifetime", { cert: cert({ issued: 335, days: 365 }) }, /^91 % of its lifetime used \(expires in 30 d\): the kubelet's own rotation/],
        ["inside renew-before (short lifetime)", { cert: cert({ issued: 100, days: 120 }) }, /^expires in 20 d, inside renew-before 30 d$/],
    ];
    for (const [what, file, reason] of cases) {
        it(`${what}: reissued`, () => {
            const d = decide(inventory(file))!;
            expect(d.action).toBe("reissue");
            expect(d.declare).toBe(true);
            expect(d.reason).toMatch(reason);
        });
    }

    it("kube-pki's own file stays declared while the link points at it, and is dropped once the kubelet rotated", () => {
        const ours = "/var/lib/kubelet/pki/kubelet-client-kube-pki-2026-05-01-00-00-00.pem";
        const d = decide(inventory({ path: ours, linkTarget: ours, cert: cert({ issued: 31, days: 365 }) }))!;
        expect(d).toMatchObject({ action: "keep", declare: true });
        expect(d.reason).toBe("kube-pki's certificate in use; kept until the kubelet rotates it");
        expect(decide(inventory({ cert: cert({ issued: 1, days: 365 }) }))!.declare).toBe(false);
    });
});

describe("the preview row", () => {
    it("names expiry, issuer, rotation and the action with its reason", () => {
        const row = kubeletClientRow(rotate, decide(inventory({ cert: cert({ issued: 10, days: 365, issuerCN: "old-ca", signedBy: undefined }) }, false)), "2027-06-01T00:00:00.000Z")!;
        expect(row).toEqual({
            action: "reissue", expires: "2027-06-01T00:00:00.000Z",
            reason: "signed by another CA (issuer CN=old-ca, not /etc/kubernetes/pki/ca.crt) [issuer CN=old-ca; rotation off]",
        });
        const keep = kubeletClientRow(rotate, decide(inventory({ cert: cert({ issued: 10, days: 365 }) }, "no config")), "x")!;
        expect(keep.action).toBe("keep");
        expect(keep.reason).toBe("ok (expires in 355 d; rotateCertificates unknown) [issuer CN=kubernetes; rotation unknown (no kubelet config)]");
        expect(keep.expires).toBe(cert({ issued: 10, days: 365 }).notAfter.toISOString());
    });
});

describe("no kubelet restart for kubelet.conf's new form", () => {
    const base = decide(inventory({ cert: cert({ issued: 10, days: 365 }) }))!;
    const trusting = { ...base, trust: { caCrt: "c", kubeconfigCa: "c", server: "https://k8s:6443" } };
    it("only a rotating kubelet that trusts the same CA and endpoint", () => {
        expect(kubeletTrustsAlready(trusting, "c", "https://k8s:6443")).toBe(true);
        expect(kubeletTrustsAlready({ ...trusting, rotation: false }, "c", "https://k8s:6443")).toBe(false);
        expect(kubeletTrustsAlready(trusting, "new-ca", "https://k8s:6443")).toBe(false);
        expect(kubeletTrustsAlready(trusting, "c", "https://other:6443")).toBe(false);
        // Reissuing does not change the answer: the kubelet-client step restarts the kubelet itself.
        expect(kubeletTrustsAlready({ ...trusting, action: "reissue" }, "c", "https://k8s:6443")).toBe(true);
        expect(kubeletTrustsAlready(undefined, "c", "https://k8s:6443")).toBe(false);
    });
});

describe("kubelet.conf in kubeadm's post-kubelet-finalize form", () => {
    it("names kubelet-client-current.pem for certificate and key and holds no key material", () => {
        const text = renderRotatingKubeletConfig({
            clusterName: "prod", server: "https://k8s:6443", caCertPem: "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n",
            nodeName: "worker-1", clientPemPath: "/var/lib/kubelet/pki/kubelet-client-current.pem",
        });
        expect(parse(text)).toEqual({
            apiVersion: "v1", kind: "Config", preferences: {},
            clusters: [{ name: "prod", cluster: { "certificate-authority-data": Buffer.from("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n").toString("base64"), server: "https://k8s:6443" } }],
            contexts: [{ name: "system:node:worker-1@prod", context: { cluster: "prod", user: "system:node:worker-1" } }],
            "current-context": "system:node:worker-1@prod",
            users: [{ name: "system:node:worker-1", user: {
                "client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem", "client-key": "/var/lib/kubelet/pki/kubelet-client-current.pem",
            } }],
        });
        expect(text).not.toMatch(/-data: .*\n.*key-data|client-key-data|client-certificate-data/);
    });

    it("pemSha256 is the certificate's DER fingerprint (what the inventory reports)", () => {
        const dir = mkdtempSync(join(tmpdir(), "kpki-kc-"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=kubernetes",
            "-keyout", join(dir, "k"), "-out", join(dir, "c"), "-days", "1"], { stdio: "ignore" });
        const pem = readFileSync(join(dir, "c"), "utf8");
        expect(pemSha256(pem)).toBe(new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase());
    });
});
