/**
 * Builds a kubeadm-like tree for local-transport nodes with the openssl CLI (a judge nobody here
 * wrote), at fixed dates via libfaketime so expiry columns are exact. EC P-256 keys keep it fast.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { findLibfaketime, missingTools } from "../harness/sim/tools";

export const OPENSSL = "/usr/bin/openssl";
export const LIBFAKETIME = findLibfaketime() ?? "/usr/lib/<triplet>/faketime/libfaketime.so.1";

export function fixturePrerequisites(): string | undefined {
    return missingTools({ openssl: OPENSSL, "libfaketime (Debian: faketime)": findLibfaketime(), sh: "/bin/sh", sha256sum: "/usr/bin/sha256sum" });
}

export interface CertOrder {
    cn: string;
    o?: string[];
    /** Layout key of the issuing CA cert in this tree, or "self", or a path of a foreign CA dir. */
    issuer: "self" | string;
    /** Absolute UTC start, frozen with faketime: "2024-01-01 00:00:00". */
    issuedAt: string;
    days: number;
    serial: number;
    dns?: string[];
    ips?: string[];
    eku?: string;
}

const frozen = (at: string) => ({ ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME: at, FAKETIME_DONT_FAKE_MONOTONIC: "1" });

function ssl(args: string[], env?: NodeJS.ProcessEnv): void {
    execFileSync(OPENSSL, args, { env: env ?? process.env, stdio: ["ignore", "ignore", "pipe"] });
}

export function newKey(keyPath: string): void {
    fs.mkdirSync(path.dirname(keyPath), { recursive: true });
    ssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath]);
    fs.chmodSync(keyPath, 0o600);
}

/** Issues certPath for the key at keyPath; `ca` is { cert, key } paths, or undefined for self-signed CAs. */
export function issue(order: CertOrder, keyPath: string, certPath: string, ca?: { cert: string; key: string }): void {
    fs.mkdirSync(path.dirname(certPath), { recursive: true });
    const subj = "/" + [`CN=${order.cn}`, ...(order.o ?? []).map((o) => `O=${o}`)].join("/");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kp-issue-"));
    try {
        const ext = path.join(tmp, "ext.cnf");
        const sans = [...(order.dns ?? []).map((d) => `DNS:${d}`), ...(order.ips ?? []).map((i) => `IP:${i}`)];
        const lines = ca
            ? ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", `extendedKeyUsage=${order.eku ?? "clientAuth"}`,
               ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : [])]
            : ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment", "subjectKeyIdentifier=hash"];
        fs.writeFileSync(ext, lines.join("\n") + "\n");
        if (!ca) {
            ssl(["req", "-x509", "-new", "-key", keyPath, "-subj", subj, "-days", String(order.days), "-set_serial", String(order.serial),
                 "-config", "/dev/null", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment", "-out", certPath],
                frozen(order.issuedAt));
            return;
        }
        const csr = path.join(tmp, "req.csr");
        ssl(["req", "-new", "-key", keyPath, "-subj", subj, "-config", "/dev/null", "-out", csr]);
        ssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", String(order.serial), "-days", String(order.days),
             "-extfile", ext, "-out", certPath], frozen(order.issuedAt));
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

export function kubeconfigText(caCert: string, clientCert: string, clientKey: string | undefined, user: string, server: string, clientCertFile?: string): string {
    const b64 = (p: string) => fs.readFileSync(p).toString("base64");
    return stringify({
        apiVersion: "v1", kind: "Config",
        clusters: [{ cluster: { "certificate-authority-data": b64(caCert), server }, name: "kubernetes" }],
        contexts: [{ context: { cluster: "kubernetes", user }, name: `${user}@kubernetes` }],
        "current-context": `${user}@kubernetes`,
        preferences: {},
        users: [{
            name: user,
            user: clientCertFile
                ? { "client-certificate": clientCertFile, "client-key": clientCertFile }
                : { "client-certificate-data": b64(clientCert), "client-key-data": b64(clientKey!) },
        }],
    });
}
