import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { generatePrivateKey } from "./tls-keys";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert, isReadyForRenewal, SUPPORTED_ALLOWED_USES } from "./tls-certs";

const OPENSSL = "/usr/bin/openssl";
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-certs-")); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input?: string): { ok: boolean; out: string } {
    const r = spawnSync(OPENSSL, args, { input, encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}
function file(name: string, content: string): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content, { mode: 0o600 });
    return f;
}

describe("tls-certs: provider semantics", () => {
    it("CSR carries the full subject and SANs, with a valid self-signature", async () => {
        const key = generatePrivateKey({ algorithm: "ECDSA", ecdsaCurve: "P384" });
        const { certRequestPem, keyAlgorithm } = await createCertRequest({
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "node-1", organization: "system:nodes", organizationalUnit: "ops", country: "DE", province: "BE", locality: "Berlin" },
            dnsNames: ["node-1"], ipAddresses: ["10.0.0.1", "fd00::1"], uris: ["spiffe://cluster/node-1"],
        });
        expect(keyAlgorithm).toBe("ECDSA");
        const r = openssl(["req", "-noout", "-verify", "-text"], certRequestPem);
        expect(r.ok).toBe(true);
        expect(r.out).toMatch(/verify OK|Certificate request self-signature verify OK/);
        expect(r.out).toMatch(/Subject: C ?= ?DE, ST ?= ?BE, L ?= ?Berlin, O ?= ?system:nodes, OU ?= ?ops, CN ?= ?node-1/);
        expect(r.out).toMatch(/DNS:node-1, IP Address:10.0.0.1, IP Address:FD00:0:0:0:0:0:0:1, URI:spiffe:\/\/cluster\/node-1/);
    });

    it("an ECDSA CA signs a leaf that copies the CSR subject; chain verifies; AKI = CA SKI", async () => {
        const now = new Date();
        const caKey = generatePrivateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const ca = await createSelfSignedCert({
            privateKeyPem: caKey.privateKeyPem, subject: { commonName: "etcd-ca", organization: "kube-pki" },
            isCaCertificate: true, validityPeriodHours: 100, allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        }, now);
        expect(ca.keyAlgorithm).toBe("ECDSA");
        const leafKey = generatePrivateKey({ algorithm: "RSA", rsaBits: 2048 });
        const csr = await createCertRequest({ privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "m1", organizationalUnit: "etcd" }, dnsNames: ["m1", "localhost"], ipAddresses: ["127.0.0.1", "::1"] });
        const leaf = await createLocallySignedCert({
            certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: caKey.privateKeyPem,
            validityPeriodHours: 10, allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        }, now);
        expect(leaf.caKeyAlgorithm).toBe("ECDSA");
        const caFile = file("eca.pem", ca.certPem);
        const leafFile = file("eleaf.pem", leaf.certPem);
        expect(openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver", leafFile]).ok).toBe(true);
        const text = openssl(["x509", "-noout", "-text", "-in", leafFile]).out;
        expect(text).toMatch(/Subject: OU ?= ?etcd, CN ?= ?m1\n/);
        expect(text).toMatch(/Issuer: O ?= ?kube-pki, CN ?= ?etcd-ca\n/);
        expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
        expect(text).toMatch(/DNS:m1, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
        expect(text).not.toMatch(/Subject Key Identifier/); // setSubjectKeyId not set
        const caSki = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(openssl(["x509", "-noout", "-text", "-in", caFile]).out)![1];
        expect(text).toMatch(new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${caSki}`));
        // Validity: notBefore = now, notAfter = + validityPeriodHours; the certificate keeps whole
        // seconds while validityEndTime keeps Go's sub-second digits.
        expect(Date.parse(leaf.validityEndTime) - Date.parse(leaf.validityStartTime)).toBe(10 * 3_600_000);
        expect(Math.abs(Date.parse(leaf.validityStartTime) - now.getTime())).toBeLessThan(1000);
        const dates = openssl(["x509", "-noout", "-startdate", "-enddate", "-in", leafFile]).out;
        expect(Date.parse(/notAfter=(.*)/.exec(dates)![1])).toBe(Math.floor(Date.parse(leaf.validityEndTime) / 1000) * 1000);
    });

    it("self-signed: SANs, setAuthorityKeyId, maxPathLength; CA without subject is refused", async () => {
        const key = generatePrivateKey({ algorithm: "ED25519" });
        const cert = await createSelfSignedCert({
            privateKeyPem: key.privateKeyPem, subject: { commonName: "front-proxy-ca" }, isCaCertificate: true,
            setAuthorityKeyId: true, maxPathLength: 1, validityPeriodHours: 1, allowedUses: ["cert_signing"],
            dnsNames: ["front-proxy-ca"],
        }, new Date());
        const text = openssl(["x509", "-noout", "-text"], cert.certPem).out;
        expect(text).toMatch(/CA:TRUE, pathlen:1/);
        const ski = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(text)![1];
        expect(text).toMatch(new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${ski}`));
        expect(text).toMatch(/DNS:front-proxy-ca/);
        await expect(createSelfSignedCert({ privateKeyPem: key.privateKeyPem, isCaCertificate: true, validityPeriodHours: 1, allowedUses: [] }, new Date()))
            .rejects.toThrow(/at least one Distinguished Name/);
    });

    it("knows the provider's allowedUses list and its renewal rule", () => {
        expect(SUPPORTED_ALLOWED_USES).toHaveLength(23);
        const end = "2030-01-01T00:00:00Z";
        expect(isReadyForRenewal(end, 24, new Date("2029-12-30T23:59:59Z"))).toBe(false);
        expect(isReadyForRenewal(end, 24, new Date("2029-12-31T00:00:00Z"))).toBe(true);
        expect(isReadyForRenewal(end, undefined, new Date("2030-01-01T00:00:00Z"))).toBe(true);
    });
});
