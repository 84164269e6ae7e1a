/**
 * node/apiserver.js service-account tokens, against the real stand-in process with real files:
 * start refused without a verification key, TokenRequest minting with the signing key (kid as
 * jwt.go), bearer tokens verified against every sa.pub key (a key rotation: old+new, then new only),
 * expired and tampered tokens refused, and `kubectl create token` against it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert } from "../mocks/tls-certs";
import { freePort } from "../free-port";
import { requestToken, tokenAccepted, tokenKeyId } from "./sa-tokens";
import { findKubectl } from "./tools";

const SCRIPT = path.join(__dirname, "node", "apiserver.js");
const ISSUER = "https://kubernetes.default.svc.cluster.local";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-apiserver-tokens-"));
const file = (name: string, text: string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text, { mode: 0o600 });
    return p;
};

const ecKey = (): string => crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const spki = (privPem: string): string => crypto.createPublicKey(privPem).export({ type: "spki", format: "pem" }).toString();
const kid = (privPem: string): string =>
    crypto.createHash("sha256").update(crypto.createPublicKey(privPem).export({ type: "spki", format: "der" })).digest("base64url");

interface Pki { ca: string; serving: { cert: string; key: string }; admin: { cert: string; key: string }; viewer: { cert: string; key: string } }

async function issue(ca: { cert: string; key: string }, cn: string, o: string | undefined, server: boolean): Promise<{ cert: string; key: string }> {
    const key = ecKey();
    const { certRequestPem } = await createCertRequest({ privateKeyPem: key, subject: { commonName: cn, organization: o },
        ...(server ? { ipAddresses: ["127.0.0.1"] } : {}) });
    const { certPem } = await createLocallySignedCert({ certRequestPem, caCertPem: ca.cert, caPrivateKeyPem: ca.key, validityPeriodHours: 24,
        allowedUses: ["digital_signature", server ? "server_auth" : "client_auth"] }, new Date());
    return { cert: certPem, key };
}

async function makePki(): Promise<Pki> {
    const caKey = ecKey();
    const { certPem } = await createSelfSignedCert({ privateKeyPem: caKey, subject: { commonName: "kubernetes" }, isCaCertificate: true,
        validityPeriodHours: 24, allowedUses: ["cert_signing", "digital_signature"] }, new Date());
    const ca = { cert: certPem, key: caKey };
    return { ca: certPem, serving: await issue(ca, "kube-apiserver", undefined, true),
        admin: await issue(ca, "kubernetes-admin", "system:masters", false), viewer: await issue(ca, "viewer", undefined, false) };
}

/** An etcd stand-in for the apiserver's start-up check: a TLS listener with a serving cert of the same CA. */
async function fakeEtcd(p: Pki): Promise<{ url: string; server: tls.Server }> {
    const port = await freePort();
    const server = tls.createServer({ cert: p.serving.cert, key: p.serving.key }, (s) => s.end());
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    return { url: `https://127.0.0.1:${port}`, server };
}

interface Api { child: ChildProcess; server: string; stop: () => Promise<void> }
interface Refused { code: number | null; stderr: string }

/** Starts apiserver.js; resolves once it serves, or with its exit code and stderr when it exits first. */
function startApiserver(args: string[]): Promise<Api | Refused> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`neither exited nor served in 10 s: ${stderr}`)); }, 10_000);
        child.stderr.on("data", (d) => (stderr += d));
        child.stdout.on("data", (d) => {
            stdout += d;
            const m = /serving on 127\.0\.0\.1:(\d+)/.exec(stdout);
            if (!m) return;
            clearTimeout(timer);
            const exited = new Promise<void>((r) => child.once("exit", () => r()));
            resolve({ child, server: `https://127.0.0.1:${m[1]}`, stop: async () => { child.kill("SIGTERM"); await exited; } });
        });
        child.on("error", reject);
        child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stderr }); });
    });
}

describe("apiserver.js service-account tokens", () => {
    let pki: Pki;
    let etcd: { url: string; server: tls.Server };
    const oldKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const newKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
    let oldToken = "";
    let newToken = "";

    beforeAll(async () => {
        pki = await makePki();
        etcd = await fakeEtcd(pki);
    });
    afterAll(async () => {
        etcd?.server.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    async function flags(saPub: string, saKey: string): Promise<string[]> {
        return [`--tls-cert-file=${file("apiserver.crt", pki.serving.cert)}`, `--tls-private-key-file=${file("apiserver.key", pki.serving.key)}`,
            `--client-ca-file=${file("ca.crt", pki.ca)}`, `--etcd-cafile=${file("etcd-ca.crt", pki.ca)}`,
            `--etcd-certfile=${file("etcd-client.crt", pki.admin.cert)}`, `--etcd-keyfile=${file("etcd-client.key", pki.admin.key)}`,
            `--etcd-servers=${etcd.url}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${await freePort()}`,
            `--service-account-issuer=${ISSUER}`, `--service-account-key-file=${saPub}`, `--service-account-signing-key-file=${saKey}`];
    }

    async function serving(saPub: string, saKey: string): Promise<Api> {
        const r = await startApiserver(await flags(saPub, saKey));
        if (!("server" in r)) throw new Error(`apiserver exited ${r.code}: ${r.stderr}`);
        return r;
    }

    const admin = (server: string) => ({ server, caPem: pki.ca, clientCertPem: pki.admin.cert, clientKeyPem: pki.admin.key });

    it("(a) refuses to start when sa.pub holds no key, or the signing key is missing, naming the file", async () => {
        const empty = file("sa-empty.pub", "just text\n-----BEGIN RSA PUBLIC KEY-----\n"
            + crypto.createPublicKey(oldKey).export({ type: "pkcs1", format: "der" }).toString("base64") + "\n-----END RSA PUBLIC KEY-----\n");
        const r = await startApiserver(await flags(empty, file("sa-a.key", oldKey)));
        expect("code" in r && r.code).toBe(1);
        expect((r as Refused).stderr).toContain(`failed to parse key file "${empty}": error reading public key file ${empty}: data does not contain any valid RSA or ECDSA public keys`);

        const missing = path.join(tmp, "nope.key");
        const r2 = await startApiserver(await flags(file("sa-a.pub", spki(oldKey)), missing));
        expect((r2 as Refused).code).toBe(1);
        expect((r2 as Refused).stderr).toContain(`failed to parse service-account-issuer-key-file: open ${missing}: no such file or directory`);
        for (const s of [(r as Refused).stderr, (r2 as Refused).stderr]) expect(s).not.toMatch(/BEGIN|MII/);
    });

    it("reads keys as keyutil: a certificate-only file (hand-built) and an RSA private key (RKE) verify; a PKCS#8 EC private key does not", async () => {
        const api = await serving(file("sa-cert.pub", "# service-account.pem\n" + pki.viewer.cert), file("sa-cert.key", oldKey));
        await api.stop();
        const api2 = await serving(file("sa-rke.pem", oldKey), file("sa-rke.key", oldKey));
        await api2.stop();
        const ecPkcs8 = file("sa-ec.pem", ecKey());
        const r = await startApiserver(await flags(ecPkcs8, file("sa-ec.key", newKey)));
        expect((r as Refused).code).toBe(1);
        expect((r as Refused).stderr).toContain(`failed to parse key file "${ecPkcs8}"`);
    });

    it("(b) mints a token with sa.pub = [old], signing key old, and accepts it", async () => {
        const api = await serving(file("sa-b.pub", spki(oldKey)), file("sa-b.key", oldKey));
        try {
            oldToken = await requestToken({ ...admin(api.server), namespace: "kube-system", name: "rotator" });
            const [h, c] = oldToken.split(".").slice(0, 2).map((x) => JSON.parse(Buffer.from(x, "base64url").toString()));
            expect(h).toEqual({ alg: "RS256", kid: kid(oldKey) });
            expect(c.iss).toBe(ISSUER);
            expect(c.sub).toBe("system:serviceaccount:kube-system:rotator");
            expect(c.aud).toEqual([ISSUER]);
            expect(c.exp - c.iat).toBe(3600);
            expect(c["kubernetes.io"]).toMatchObject({ namespace: "kube-system", serviceaccount: { name: "rotator" } });
            expect(await tokenAccepted({ server: api.server, caPem: pki.ca, token: oldToken })).toBe(200);
            // The service account is authenticated, not an admin: discovery yes, nodes no.
            const nodes = await new Promise<number>((resolve, reject) => https.get(`${api.server}/api/v1/nodes`,
                { ca: pki.ca, headers: { Authorization: `Bearer ${oldToken}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject));
            expect(nodes).toBe(403);
            // Minting is for admins: a client certificate outside the admin groups is forbidden.
            const viewer = await requestToken({ ...admin(api.server), clientCertPem: pki.viewer.cert, clientKeyPem: pki.viewer.key }).catch((e: Error) => e.message);
            expect(viewer).toContain("HTTP 403");
        } finally {
            await api.stop();
        }
    });

    it("(c) sa.pub = [old, new], signing key new: the old token and a new one (new kid, ES256) are accepted", async () => {
        const api = await serving(file("sa-c.pub", spki(oldKey) + spki(newKey)), file("sa-c.key", newKey));
        try {
            newToken = await requestToken({ ...admin(api.server), namespace: "kube-system", name: "rotator" });
            expect(tokenKeyId(newToken)).toBe(kid(newKey));
            expect(JSON.parse(Buffer.from(newToken.split(".")[0], "base64url").toString()).alg).toBe("ES256");
            expect(await tokenAccepted({ server: api.server, caPem: pki.ca, token: oldToken })).toBe(200);
            expect(await tokenAccepted({ server: api.server, caPem: pki.ca, token: newToken })).toBe(200);
        } finally {
            await api.stop();
        }
    });

    it("(d)(e) sa.pub = [new]: the old token 401, the new 200; expired, tampered and foreign-issuer tokens 401", async () => {
        const api = await serving(file("sa-d.pub", spki(newKey)), file("sa-d.key", newKey));
        const accepted = (token: string) => tokenAccepted({ server: api.server, caPem: pki.ca, token });
        try {
            expect(await accepted(oldToken)).toBe(401);
            expect(await accepted(newToken)).toBe(200);

            const [h, c] = newToken.split(".").slice(0, 2).map((x) => JSON.parse(Buffer.from(x, "base64url").toString()));
            const sign = (claims: object) => {
                const data = `${Buffer.from(JSON.stringify(h)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
                return `${data}.${crypto.sign("sha256", Buffer.from(data), { key: newKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
            };
            const now = Math.floor(Date.now() / 1000);
            expect(await accepted(sign(c))).toBe(200); // the forger itself is sound
            expect(await accepted(sign({ ...c, iat: now - 7200, nbf: now - 7200, exp: now - 120 }))).toBe(401);
            expect(await accepted(sign({ ...c, iss: "https://elsewhere" }))).toBe(401);
            const parts = newToken.split(".");
            const tampered = Buffer.from(JSON.stringify({ ...c, sub: "system:serviceaccount:kube-system:other" })).toString("base64url");
            expect(await accepted(`${parts[0]}.${tampered}.${parts[2]}`)).toBe(401);
            expect(await accepted("not-a-jwt")).toBe(401);
        } finally {
            await api.stop();
        }
    });

    it("(f) kubectl create token works against the stand-in", async () => {
        const kubectl = findKubectl();
        if (!kubectl) throw new Error("kubectl not found (see tools.ts)");
        const api = await serving(file("sa-f.pub", spki(newKey)), file("sa-f.key", newKey));
        try {
            const b64 = (s: string) => Buffer.from(s).toString("base64");
            const kubeconfig = file("admin.conf", [
                "apiVersion: v1", "kind: Config", "current-context: sim",
                `clusters: [{name: sim, cluster: {server: "${api.server}", certificate-authority-data: ${b64(pki.ca)}}}]`,
                `users: [{name: admin, user: {client-certificate-data: ${b64(pki.admin.cert)}, client-key-data: ${b64(pki.admin.key)}}}]`,
                "contexts: [{name: sim, context: {cluster: sim, user: admin}}]", ""].join("\n"));
            const r = spawnSync(kubectl, ["--kubeconfig", kubeconfig, "create", "token", "builder", "-n", "ci", "--duration=20m"],
                { encoding: "utf8", timeout: 15_000, env: { ...process.env, HOME: tmp } });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            const token = r.stdout.trim();
            const c = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
            expect(c.sub).toBe("system:serviceaccount:ci:builder");
            expect(c.exp - c.iat).toBe(1200);
            expect(await tokenAccepted({ server: api.server, caPem: pki.ca, token })).toBe(200);
        } finally {
            await api.stop();
        }
    });
});
