/**
 * Issues keys and certificates with the openssl CLI, backdated with libfaketime, so the
 * simulator's seed is produced by a tool nobody on this project wrote (the code under test
 * never seeds itself). Keys are written straight to 0600 files; nothing secret enters argv/env.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SIM_BINARIES } from "./prereq";
import { run } from "./proc";

export type SeedKeyType = "rsa-2048" | "ecdsa-p256";

export interface CertPaths {
    cert: string;
    key: string;
}

export interface IssueRequest {
    cn: string;
    /** Organisations, in subject order. */
    o?: string[];
    isCa?: boolean;
    eku?: Array<"serverAuth" | "clientAuth">;
    dns?: string[];
    ips?: string[];
    /** Signing CA; omitted = self-signed. */
    issuer?: CertPaths;
    /** notBefore is this many days in the past (may be 0; negative: in the future, a not-yet-valid certificate). */
    issuedDaysAgo: number;
    /** Validity from notBefore, in days. */
    validDays: number;
    keyType?: SeedKeyType;
    /** Where to write the certificate and its new key. */
    out: CertPaths;
}

// Two cores are shared with other helpers: keep openssl parallelism small.
const MAX_PARALLEL = 3;
let running = 0;
const queue: Array<() => void> = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
    if (running >= MAX_PARALLEL) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
        return await fn();
    } finally {
        running--;
        queue.shift()?.();
    }
}

/** Environment that makes openssl believe it is `daysAgo` days in the past (negative: in the future). */
export function backdatedEnv(daysAgo: number): NodeJS.ProcessEnv {
    if (daysAgo === 0) return { PATH: "/usr/bin:/bin" };
    return {
        PATH: "/usr/bin:/bin",
        LD_PRELOAD: SIM_BINARIES.libfaketime,
        FAKETIME: `${daysAgo > 0 ? "-" : "+"}${Math.round(Math.abs(daysAgo) * 86400)}s`,
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
    };
}

function extensionsFor(req: IssueRequest): string {
    const lines: string[] = [];
    if (req.isCa) {
        lines.push("basicConstraints = critical, CA:TRUE");
        lines.push("keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign");
        lines.push("subjectKeyIdentifier = hash");
    } else {
        lines.push("basicConstraints = critical, CA:FALSE");
        lines.push("keyUsage = critical, digitalSignature, keyEncipherment");
        if (req.eku?.length) lines.push(`extendedKeyUsage = ${req.eku.join(", ")}`);
        if (req.issuer) lines.push("authorityKeyIdentifier = keyid");
    }
    const sans = [...(req.dns ?? []).map((d) => `DNS:${d}`), ...(req.ips ?? []).map((i) => `IP:${i}`)];
    if (sans.length) lines.push(`subjectAltName = ${sans.join(", ")}`);
    return ["[req]", "distinguished_name = dn", "x509_extensions = ext", "[dn]", "[ext]", ...lines, ""].join("\n");
}

function subjectOf(req: IssueRequest): string {
    const esc = (v: string) => v.replace(/[/\\=+,]/g, (c) => `\\${c}`);
    return [...(req.o ?? []).map((o) => `/O=${esc(o)}`), `/CN=${esc(req.cn)}`].join("");
}

function newKeyArgs(keyType: SeedKeyType): string[] {
    return keyType === "ecdsa-p256" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"];
}

/** Issues one certificate with a fresh key (openssl req -x509 [-CA]), backdated via faketime. */
export function issueCert(req: IssueRequest): Promise<void> {
    return limited(async () => {
        fs.mkdirSync(path.dirname(req.out.cert), { recursive: true });
        fs.mkdirSync(path.dirname(req.out.key), { recursive: true });
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kpsim-openssl-"));
        try {
            const cfg = path.join(tmp, "req.cnf");
            fs.writeFileSync(cfg, extensionsFor(req));
            const serial = `0x${crypto.randomBytes(8).toString("hex").replace(/^./, "1")}`;
            const args = [
                "req", "-x509", "-new", ...newKeyArgs(req.keyType ?? "rsa-2048"), "-noenc",
                "-keyout", req.out.key, "-out", req.out.cert, "-config", cfg,
                "-subj", subjectOf(req), "-days", String(req.validDays), "-set_serial", serial,
            ];
            if (req.issuer) args.push("-CA", req.issuer.cert, "-CAkey", req.issuer.key);
            // umask-free: create the key file 0600 before openssl writes it.
            fs.writeFileSync(req.out.key, "", { mode: 0o600 });
            fs.chmodSync(req.out.key, 0o600);
            await run(SIM_BINARIES.openssl, args, { env: backdatedEnv(req.issuedDaysAgo), timeoutMs: 60_000 });
            fs.chmodSync(req.out.key, 0o600);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
}

/** Generates an RSA-2048 key pair like kubeadm's sa.key / sa.pub (PKCS#8 / PKIX PEM). */
export function generateKeyPair(keyPath: string, pubPath: string): Promise<void> {
    return limited(async () => {
        fs.mkdirSync(path.dirname(keyPath), { recursive: true });
        fs.writeFileSync(keyPath, "", { mode: 0o600 });
        fs.chmodSync(keyPath, 0o600);
        await run(SIM_BINARIES.openssl, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath]);
        await run(SIM_BINARIES.openssl, ["pkey", "-in", keyPath, "-pubout", "-out", pubPath]);
        fs.chmodSync(keyPath, 0o600);
    });
}

/** SHA-256 fingerprint (lowercase hex, no colons) of the first certificate in a PEM text. */
export function certSha256(pem: string): string {
    return new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();
}
