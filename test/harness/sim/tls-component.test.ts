/**
 * node/tls-component.js as kube-controller-manager: like the real csrsigning controller it refuses
 * a --cluster-signing-cert-file that holds more or less than one certificate, or a key that does not
 * match it, and exits 1 at start; a single CA with its own key serves.
 */
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCert } from "../mocks/tls-certs";
import { freePort } from "../free-port";

const SCRIPT = path.join(__dirname, "node", "tls-component.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-tls-component-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const file = (name: string, text: string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text, { mode: 0o600 });
    return p;
};

async function selfSigned(cn: string, isCa: boolean): Promise<{ cert: string; key: string }> {
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const { certPem } = await createSelfSignedCert({
        privateKeyPem: key, subject: { commonName: cn }, isCaCertificate: isCa, validityPeriodHours: 24,
        allowedUses: isCa ? ["cert_signing", "digital_signature"] : ["digital_signature", "server_auth"],
        ...(isCa ? {} : { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }),
    }, new Date());
    return { cert: certPem, key };
}

interface Run { code: number | null; stdout: string; stderr: string; healthz?: number }

/** Starts the stand-in; resolves on exit, or once it serves (then probes /healthz and stops it). */
function startControllerManager(args: string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [SCRIPT, "kube-controller-manager", ...args], { stdio: ["ignore", "pipe", "pipe"] });
        const out = { stdout: "", stderr: "" };
        let healthz: number | undefined;
        const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`neither exited nor served in 10 s: ${out.stderr}`)); }, 10_000);
        child.stderr.on("data", (d) => (out.stderr += d));
        child.stdout.on("data", (d) => {
            out.stdout += d;
            const m = /serving on 127\.0\.0\.1:(\d+)/.exec(out.stdout);
            if (!m || healthz !== undefined) return;
            healthz = 0;
            https.get({ host: "127.0.0.1", port: Number(m[1]), path: "/healthz", rejectUnauthorized: false }, (res) => {
                healthz = res.statusCode;
                res.resume();
                child.kill("SIGTERM");
            }).on("error", (e) => { child.kill("SIGKILL"); reject(e); });
        });
        child.on("error", reject);
        child.on("exit", (code) => { clearTimeout(timer); resolve({ code, ...out, healthz }); });
    });
}

describe("tls-component.js kube-controller-manager signing files", () => {
    let caA: { cert: string; key: string };
    let caB: { cert: string; key: string };
    let serving: string[];

    beforeAll(async () => {
        caA = await selfSigned("kubernetes-a", true);
        caB = await selfSigned("kubernetes-b", true);
        const srv = await selfSigned("kube-controller-manager", false);
        serving = [`--tls-cert-file=${file("serving.crt", srv.cert)}`, `--tls-private-key-file=${file("serving.key", srv.key)}`,
            "--bind-address=127.0.0.1"];
    });

    const signing = (cert: string, key: string) => [`--cluster-signing-cert-file=${cert}`, `--cluster-signing-key-file=${key}`];

    it("serves with one CA certificate and its own key", async () => {
        const r = await startControllerManager([...signing(file("a.crt", caA.cert), file("a.key", caA.key)), ...serving,
            `--secure-port=${await freePort()}`]);
        expect(r.stderr).toBe("");
        expect(r.healthz).toBe(200);
        expect(r.code).toBe(0); // stopped by our SIGTERM
    });

    it("exits 1 on a two-certificate bundle, with the real controller's message, before serving", async () => {
        const cert = file("bundle.crt", caA.cert + caB.cert);
        const key = file("a2.key", caA.key);
        const r = await startControllerManager([...signing(cert, key), ...serving, `--secure-port=${await freePort()}`]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`failed to start kubernetes.io/kubelet-serving certificate controller: error reading CA cert file "csr-controller::${cert}::${key}": expected 1 certificate, found 2`);
        expect(r.stdout).not.toContain("serving on");
    });

    it("exits 1 when the key belongs to another CA (also a bundle whose first certificate is not the key's)", async () => {
        const cert = file("a3.crt", caA.cert);
        const r = await startControllerManager([...signing(cert, file("b.key", caB.key)), ...serving, `--secure-port=${await freePort()}`]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`error reading CA cert file "${cert}": tls: private key does not match public key`);
        expect(r.stderr).toContain("--cluster-signing-key-file");

        // tls.X509KeyPair checks the key against the first certificate, before the count.
        const bundle = file("bundle-ab.crt", caA.cert + caB.cert);
        const r2 = await startControllerManager(signing(bundle, file("b2.key", caB.key)));
        expect(r2.code).toBe(1);
        expect(r2.stderr).toContain("tls: private key does not match public key");
    });

    it("exits 1 naming the flag when the key file is missing", async () => {
        const missing = path.join(tmp, "nope.key");
        const r = await startControllerManager(signing(file("a4.crt", caA.cert), missing));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`open ${missing}: no such file or directory (--cluster-signing-key-file)`);
    });

    it("does not load the signing files when csrsigning is disabled with --controllers", async () => {
        const bundle = file("bundle-off.crt", caA.cert + caB.cert);
        const r = await startControllerManager([...signing(bundle, file("a5.key", caA.key)), "--controllers=*,-csrsigning",
            ...serving, `--secure-port=${await freePort()}`]);
        expect(r.healthz).toBe(200);
        expect(r.code).toBe(0);
    });
});
