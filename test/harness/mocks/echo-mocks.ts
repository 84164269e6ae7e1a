/**
 * Fast mocks without crypto or I/O: each resource echoes its inputs plus outputs shaped like
 * the real provider's, filled with deterministic, recognizable fake text. Fake key material
 * reads `FAKE-PRIVATE-KEY:<name>` so a test can search every non-secret value for it.
 */
import type { MockCallArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedResourceArgs, RunAwareMocks } from "./records";

export const FAKE_KEY_MARK = "FAKE-PRIVATE-KEY:";

function pem(label: string, body: string): string {
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Fixed clock so echo outputs are deterministic across runs. */
const ECHO_START = "2025-01-01T00:00:00Z";

function fakeOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey": {
            const secret = `${FAKE_KEY_MARK}${name}`;
            return {
                privateKeyPem: pem(inputs.algorithm === "ECDSA" ? "EC PRIVATE KEY" : inputs.algorithm === "ED25519" ? "PRIVATE KEY" : "RSA PRIVATE KEY", secret),
                privateKeyPemPkcs8: pem("PRIVATE KEY", secret),
                privateKeyOpenssh: pem("OPENSSH PRIVATE KEY", secret),
                publicKeyPem: pem("PUBLIC KEY", `FAKE-PUBLIC-KEY:${name}`),
                publicKeyOpenssh: `ssh-fake FAKE-PUBLIC-KEY:${name}\n`,
                publicKeyFingerprintSha256: `SHA256:FAKE-FINGERPRINT:${name}`,
                publicKeyFingerprintMd5: `FAKE-MD5:${name}`,
            };
        }
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert": {
            const hours = Number(inputs.validityPeriodHours ?? 0);
            const end = new Date(Date.parse(ECHO_START) + hours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
            return {
                certPem: pem("CERTIFICATE", `FAKE-CERTIFICATE:${name}`),
                validityStartTime: ECHO_START,
                validityEndTime: end,
                readyForRenewal: false,
            };
        }
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: pem("CERTIFICATE REQUEST", `FAKE-CSR:${name}`) };
        case "command:remote:Command":
        case "command:local:Command":
            return { stdout: "", stderr: "" };
        default:
            return {};
    }
}

export function createEchoMocks(): RunAwareMocks {
    return {
        newResource(args: RecordedResourceArgs | any): MockResourceResult {
            if (args.custom === false) return { id: undefined, state: {} };
            // Previews: outputs stay unknown (left out), as the engine reports for creates.
            const outputs = args.preview ? {} : fakeOutputs(args.type, args.name, args.inputs);
            return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
        },
        call(args: MockCallArgs): Record<string, any> {
            throw new Error(`Mock not implemented: ${args.token}`);
        },
    };
}
