/**
 * Fast mocks without crypto or I/O: each resource echoes its inputs plus outputs shaped like
 * the real provider's, filled with deterministic, recognizable fake text. Fake key material
 * reads `FAKE-PRIVATE-KEY:<name>` so a test can search every non-secret value for it.
 * They plan like the executing mocks (provider-contract.ts via planned-mocks.ts); with a
 * MockStateStore two echo runs behave like successive `pulumi up`s, without one every run
 * starts from an empty stack.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MockStateStore } from "./state-store";
import { goTimeText, K8S_PATCH_TYPES, TYPES } from "./provider-contract";
import { createPlannedMocks, type PlannedMocks } from "./planned-mocks";

export const FAKE_KEY_MARK = "FAKE-PRIVATE-KEY:";

function pem(label: string, body: string): string {
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Fixed clock so echo outputs are deterministic across runs (sub-second part as Go keeps it). */
const ECHO_START = new Date("2025-01-01T00:00:00.123Z");
const ECHO_NANOS = 456_789;

function fakeOutputs(type: string, name: string, inputs: Record<string, any>, now: Date): Record<string, unknown> {
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
            return {
                certPem: pem("CERTIFICATE", `FAKE-CERTIFICATE:${name}`),
                validityStartTime: goTimeText(now, ECHO_NANOS),
                validityEndTime: goTimeText(new Date(now.getTime() + hours * 3_600_000), ECHO_NANOS),
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

export interface EchoMocksOptions {
    /** Keeps state between runs (like successive `pulumi up`s); without it every run creates everything. */
    store?: MockStateStore;
    /** Clock for validity times and renewal decisions (default: a fixed 2025-01-01 instant). */
    now?: () => Date;
}

export function createEchoMocks(opts: EchoMocksOptions = {}): PlannedMocks {
    const now = opts.now ?? (() => ECHO_START);
    return createPlannedMocks({
        store: opts.store,
        now,
        executor: {
            async execute(ctx) {
                // In-place tls updates issue nothing; a command update "runs" and replaces stdout/stderr.
                if (ctx.op === "update" && ctx.type !== TYPES.remote && ctx.type !== TYPES.local) return {};
                const out = fakeOutputs(ctx.type, ctx.name, ctx.inputs, ctx.now);
                return ctx.type === TYPES.privateKey ? { ...out, id: `${ctx.name}-id` } : { ...out, id: ctx.op === "update" ? undefined : `${ctx.name}-id` };
            },
            // A Patch's delete relinquishes its fields in the cluster (kubernetes.patchDeleteRelinquishes):
            // recorded, so a test sees whether it would have happened. Other types' deletes do nothing here.
            async delete(_urn, old, timed) {
                if (K8S_PATCH_TYPES.includes(old.type)) await timed("delete", () => undefined);
            },
        },
    });
}

/** A fixed CA certificate, CA key and sa.pub (test/fixtures/registrations/adopted-test-ca.pem): what an adopt reading answers. */
export const ADOPTED_FIXTURE = readFileSync(join(__dirname, "..", "..", "fixtures", "registrations", "adopted-test-ca.pem"), "utf8").replace(/^#.*\n/, "");

/** Echo mocks whose adopt readings (`*-adopt` commands, outside preview) answer `adopted` on stdout, as a node holding those files would. */
export function createAdoptingEchoMocks(opts: EchoMocksOptions = {}, adopted = ADOPTED_FIXTURE): PlannedMocks {
    const mocks = createEchoMocks(opts);
    return {
        ...mocks,
        async newResource(args: Parameters<PlannedMocks["newResource"]>[0] & { preview?: boolean }) {
            const result = await mocks.newResource(args) as { id: string; state: Record<string, unknown> };
            if (args.name.endsWith("-adopt") && !args.preview) result.state.stdout = adopted;
            return result;
        },
    };
}
