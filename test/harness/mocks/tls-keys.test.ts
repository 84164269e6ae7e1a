import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { generatePrivateKey } from "./tls-keys";
import { itNeeding } from "../sim/tools";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";
// Skips with a printed reason without ssh-keygen; fails instead under KUBE_PKI_REQUIRE_SIM=1.
const keygenMissing = fs.existsSync(SSH_KEYGEN) ? undefined : `${SSH_KEYGEN} missing (Debian: openssh-client)`;

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-keys-")); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cases = [
    { algorithm: "RSA", rsaBits: 2048, pem: "RSA PRIVATE KEY" },
    { algorithm: "RSA", rsaBits: 3072, pem: "RSA PRIVATE KEY" },
    { algorithm: "ECDSA", ecdsaCurve: "P256", pem: "EC PRIVATE KEY" },
    { algorithm: "ECDSA", ecdsaCurve: "P384", pem: "EC PRIVATE KEY" },
    { algorithm: "ED25519", pem: "PRIVATE KEY" },
];

describe("tls-keys: provider-shaped private keys", () => {
    it.each(cases)("$algorithm $rsaBits$ecdsaCurve: PEM forms agree with openssl", (c) => {
        const k = generatePrivateKey(c);
        expect(k.privateKeyPem.startsWith(`-----BEGIN ${c.pem}-----\n`)).toBe(true);
        expect(k.privateKeyPemPkcs8.startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
        const pubOf = (pem: string) => execFileSync("/usr/bin/openssl", ["pkey", "-pubout"], { input: pem, encoding: "utf8" });
        expect(pubOf(k.privateKeyPem)).toBe(k.publicKeyPem);
        expect(pubOf(k.privateKeyPemPkcs8)).toBe(k.publicKeyPem);
        if (c.algorithm === "RSA") {
            expect(execFileSync("/usr/bin/openssl", ["rsa", "-noout", "-text"], { input: k.privateKeyPem, encoding: "utf8" }))
                .toContain(`Private-Key: (${c.rsaBits} bit`);
        }
    });

    for (const c of cases) {
        itNeeding(keygenMissing, `${c.algorithm} ${c.rsaBits ?? ""}${c.ecdsaCurve ?? ""}: OpenSSH forms and fingerprints agree with ssh-keygen`, () => {
            const k = generatePrivateKey(c);
            const keyFile = path.join(dir, "id");
            fs.rmSync(keyFile, { force: true });
            fs.writeFileSync(keyFile, k.privateKeyOpenssh, { mode: 0o600 });
            expect(execFileSync(SSH_KEYGEN, ["-y", "-f", keyFile], { encoding: "utf8" }).trim()).toBe(k.publicKeyOpenssh.trim());
            fs.writeFileSync(`${keyFile}.pub`, k.publicKeyOpenssh);
            expect(execFileSync(SSH_KEYGEN, ["-l", "-E", "sha256", "-f", `${keyFile}.pub`], { encoding: "utf8" })).toContain(` ${k.publicKeyFingerprintSha256} `);
            expect(execFileSync(SSH_KEYGEN, ["-l", "-E", "md5", "-f", `${keyFile}.pub`], { encoding: "utf8" })).toContain(` MD5:${k.publicKeyFingerprintMd5} `);
        });
    }

    it("has no OpenSSH forms for P224 (OpenSSH cannot represent it) and rejects unknown algorithms", () => {
        const k = generatePrivateKey({ algorithm: "ECDSA" }); // provider default curve: P224
        expect(spawnSync("/usr/bin/openssl", ["ec", "-noout", "-text"], { input: k.privateKeyPem, encoding: "utf8" }).stdout).toMatch(/secp224r1/);
        expect(k.publicKeyOpenssh).toBe("");
        expect(() => generatePrivateKey({ algorithm: "DSA" })).toThrow(/DSA/);
    });
});
