import { describe, expect, it } from "vitest";
import * as crypto from "node:crypto";
import { findLeaks, haystack, keyLeakNeedles } from "./leaks";

const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }) as string;
const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }) as string;
const other = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

describe("leak needles and search", () => {
    const needles = keyLeakNeedles([rsa, ec]);

    it("catches a kubeconfig's client-key-data, at any alignment inside a base64 stream", () => {
        const kubeconfig = `apiVersion: v1\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${b64("cert")}\n    client-key-data: ${b64(ec)}\n`;
        expect(findLeaks(needles, [{ where: "admin.conf", text: kubeconfig }])).toContainEqual({ where: "admin.conf", kind: expect.stringMatching(/^key #1: base64 of PEM/) });
        for (const prefix of ["", "a", "ab", "abc"]) {
            const bundleLine = `pki/ca.key ${b64(`${prefix}${rsa}`)}`;
            expect(findLeaks(needles, [{ where: `bundle+${prefix.length}`, text: bundleLine }]).length, prefix).toBeGreaterThan(0);
        }
    });

    it("catches PEM text, JSON-escaped PEM, and base64 DER in every key encoding", () => {
        const der = crypto.createPrivateKey(rsa).export({ type: "pkcs8", format: "der" });
        const sec1 = crypto.createPrivateKey(ec).export({ type: "sec1", format: "der" });
        const found = findLeaks(needles, [
            haystack("stdout", `installing\n${ec}`),
            haystack("state", { stdout: rsa }),
            { where: "pkcs8", text: `key=${b64(der)}` },
            { where: "sec1", text: `key=${b64(sec1)}` },
            // One PEM body line is enough.
            { where: "partial", text: `oops ${rsa.split("\n").slice(-4)[0]}` },
        ]);
        expect([...new Set(found.map((l) => l.where))].sort()).toEqual(["partial", "pkcs8", "sec1", "state", "stdout"]);
        expect(found.find((l) => l.where === "pkcs8")!.kind).toBe("key #0: base64 DER (pkcs8)");
        // Reports never carry the secret text.
        expect(JSON.stringify(found)).not.toContain(rsa.split("\n")[1]);
    });

    it("does not flag unrelated text: another key, certificates, ordinary output", () => {
        const unrelated = [
            { where: "other-key", text: other },
            { where: "other-key-b64", text: b64(other) },
            { where: "public", text: crypto.createPublicKey(rsa).export({ type: "spki", format: "pem" }) as string },
            { where: "log", text: "etcd: restarted, served sha256 4f:aa:01, 3 members healthy" },
        ];
        expect(findLeaks(needles, unrelated).map((l) => `${l.where} ${l.kind}`)).toEqual([]);
    });

    it("handles the echo mocks' fake key text", () => {
        const fake = "-----BEGIN RSA PRIVATE KEY-----\nFAKE-PRIVATE-KEY:ca-key\n-----END RSA PRIVATE KEY-----\n";
        const n = keyLeakNeedles([fake]);
        expect(findLeaks(n, [{ where: "kubeconfig", text: `client-key-data: ${b64(fake)}` }])).toHaveLength(1);
        expect(findLeaks(n, [{ where: "stdout", text: "FAKE-PRIVATE-KEY:ca-key" }])).toEqual([{ where: "stdout", kind: "key #0: PEM body line" }]);
        expect(findLeaks(n, [{ where: "other", text: "FAKE-PRIVATE-KEY:sa-key" }])).toEqual([]);
    });
});

it("a public key of a watched private key is not a leak, its private lines are", () => {
    const needles = keyLeakNeedles([rsa]);
    const pub = crypto.createPublicKey(rsa).export({ type: "pkcs1", format: "pem" }) as string;
    expect(findLeaks(needles, [{ where: "pub", text: pub }])).toEqual([]);
    expect(needles.filter((n) => n.kind.endsWith("PEM body line")).length).toBeGreaterThan(10);
});
