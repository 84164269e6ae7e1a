// TLS stand-in for kube-apiserver. Serves --tls-cert-file/--tls-private-key-file (loaded once),
// authenticates client certs against --client-ca-file (a cert from another CA gets 401),
// lets anonymous users reach /healthz,/livez,/readyz,/version only, and first checks that it
// can reach etcd with --etcd-certfile/--etcd-keyfile/--etcd-cafile, exiting like the real one
// (crash-loop) when it cannot. Records every client certificate it is shown (recordClient).
// Service-account tokens as the real one: keys loaded at start (exit 1 when it cannot), TokenRequest
// mints JWTs with the signing key, bearer tokens are verified against every --service-account-key-file key.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const https = require("node:https");
const tls = require("node:tls");
const { parseFlags, readOrDie, sendJson, status, identify, listen } = require("./standin-common");

const C = "kube-apiserver";
const flags = parseFlags(process.argv.slice(2));
const gitVersion = process.env.KPSIM_GIT_VERSION || "v1.30.0";
const nodes = JSON.parse(process.env.KPSIM_NODES || "[]");
const ETCD_ATTEMPTS = 20;
const ETCD_RETRY_MS = 500;

function need(flag) {
    if (!flags[flag]) {
        console.error(`${C}: missing --${flag}`);
        process.exit(1);
    }
    return readOrDie(C, flags[flag], `--${flag}`);
}

const serving = { cert: need("tls-cert-file"), key: need("tls-private-key-file") };
const clientCa = need("client-ca-file");
const etcdTls = { cert: need("etcd-certfile"), key: need("etcd-keyfile"), ca: need("etcd-cafile") };

// ---- Service-account tokens -------------------------------------------------------------------

/** Every value of a repeatable string-slice flag (--f=a --f=b,c → [a, b, c]), in order. */
function sliceFlag(argv, name, split) {
    const prefix = `--${name}=`;
    return argv.filter((a) => a.startsWith(prefix)).flatMap((a) => (split ? a.slice(prefix.length).split(",") : [a.slice(prefix.length)]))
        .map((v) => v.trim()).filter(Boolean);
}

/** Go's os.ReadFile error text ("open <f>: no such file or directory"), never the file's content. */
function goReadError(file, e) {
    const why = { ENOENT: "no such file or directory", EACCES: "permission denied", EISDIR: "is a directory" }[e.code] || e.message;
    return e.code === "EISDIR" ? `read ${file}: ${why}` : `open ${file}: ${why}`;
}

/** The DER bodies of a file's PEM blocks with their type; text between blocks and headers are skipped (encoding/pem). */
function pemBlocks(text) {
    const out = [];
    for (const m of text.matchAll(/-----BEGIN ([^\r\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/g)) {
        const body = m[2].split(/\r?\n/).filter((l) => !l.includes(":")).join("");
        out.push({ type: m[1], der: Buffer.from(body, "base64") });
    }
    return out;
}

const attempt = (f) => { try { return f(); } catch { return undefined; } };
const ofType = (key, t) => (key && key.asymmetricKeyType === t ? key : undefined);
/** The DER layout each Go parser insists on; OpenSSL's decoders also take the other forms (sec1 accepts PKCS#8). */
function derShape(der) {
    if (der[0] !== 0x30) return undefined;
    const off = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
    if (der[off] !== 0x02 || der[off + 1] !== 0x01) return undefined;
    return { version: der[off + 2], next: der[off + 3] };
}
const SHAPES = { pkcs1: (v) => v.version === 0 && v.next === 0x02, sec1: (v) => v.version === 1 && v.next === 0x04, pkcs8: (v) => v.next === 0x30 };
const derPrivate = (der, type) => {
    const shape = derShape(der);
    return shape && SHAPES[type](shape) ? attempt(() => crypto.createPrivateKey({ key: der, format: "der", type })) : undefined;
};
/** x509.ParsePKIXPublicKey, else the public key of x509.ParseCertificate. */
const derPublic = (der) => attempt(() => crypto.createPublicKey({ key: der, format: "der", type: "spki" }))
    || attempt(() => new crypto.X509Certificate(der).publicKey);

/**
 * keyutil.ParsePublicKeysPEM (staging/src/k8s.io/client-go/util/keyutil/key.go): every block, whatever
 * its label, is tried as an RSA private key (PKCS#1/PKCS#8), an RSA SPKI key or certificate, an EC
 * private key (SEC1 only) and an EC SPKI key or certificate; private keys give their public half.
 * A PKCS#1 "RSA PUBLIC KEY" body is not SPKI, so keyutil (and this) skips it.
 */
function publicKeysOf(text) {
    const keys = [];
    for (const { der } of pemBlocks(text)) {
        const rsaPriv = ofType(derPrivate(der, "pkcs1"), "rsa") || ofType(derPrivate(der, "pkcs8"), "rsa");
        const pub = derPublic(der);
        const ecPriv = ofType(derPrivate(der, "sec1"), "ec");
        const key = rsaPriv ? crypto.createPublicKey(rsaPriv) : ofType(pub, "rsa") || (ecPriv ? crypto.createPublicKey(ecPriv) : ofType(pub, "ec"));
        if (key) keys.push(key);
    }
    return keys;
}

/** keyutil.ParsePrivateKeyPEM: the first "EC PRIVATE KEY" / "RSA PRIVATE KEY" / "PRIVATE KEY" block that parses. */
function signingKeyOf(text) {
    const types = { "EC PRIVATE KEY": "sec1", "RSA PRIVATE KEY": "pkcs1", "PRIVATE KEY": "pkcs8" };
    for (const { type, der } of pemBlocks(text)) {
        const key = types[type] && derPrivate(der, types[type]);
        if (key) return key;
    }
    return undefined;
}

/** jwt.go signerFromRSAPrivateKey / signerFromECDSAPrivateKey: RS256, or ES256/384/512 by curve. */
const EC_ALGS = { "prime256v1": ["ES256", "sha256"], "secp384r1": ["ES384", "sha384"], "secp521r1": ["ES512", "sha512"] };
function jwsAlgOf(key) {
    if (key.asymmetricKeyType === "rsa") return ["RS256", "sha256"];
    if (key.asymmetricKeyType === "ec") return EC_ALGS[key.asymmetricKeyDetails.namedCurve];
    return undefined;
}

/** jwt.go keyIDFromPublicKey: base64url (no padding) of sha256 over the DER SubjectPublicKeyInfo. */
const keyIdOf = (pub) => crypto.createHash("sha256").update(pub.export({ type: "spki", format: "der" })).digest("base64url");

/**
 * Flag checks and key loading of the real start-up, exiting 1 like it (cmd/kube-apiserver options
 * Complete/Validate, pkg/kubeapiserver/options/authentication.go, pkg/controlplane/apiserver/config.go):
 * issuers (--service-account-issuer, repeatable; the first signs), verification keys of every
 * --service-account-key-file (default: the TLS key when that is a key, as Complete does), the signing key.
 */
function loadServiceAccountConfig(argv) {
    const die = (msg) => {
        console.error(`${C}: Error: ${msg}`);
        process.exit(1);
    };
    const issuers = sliceFlag(argv, "service-account-issuer", false);
    let keyFiles = sliceFlag(argv, "service-account-key-file", false);
    const signingFile = flags["service-account-signing-key-file"];
    if (!issuers.length) die("service-account-issuer is a required flag");
    if (!signingFile) die("--service-account-signing-key-file and --service-account-issuer are required flags");
    if (!keyFiles.length && attempt(() => publicKeysOf(fs.readFileSync(flags["tls-private-key-file"], "utf8")).length)) keyFiles = [flags["tls-private-key-file"]];
    if (!keyFiles.length) die("service-account-key-file is a required flag");
    let signing;
    try {
        signing = signingKeyOf(fs.readFileSync(signingFile, "utf8"));
    } catch (e) {
        die(`failed to parse service-account-issuer-key-file: ${goReadError(signingFile, e)}`);
    }
    if (!signing) die(`failed to parse service-account-issuer-key-file: error reading private key file ${signingFile}: data does not contain a valid RSA or ECDSA private key`);
    const alg = jwsAlgOf(signing);
    if (!alg) {
        die(signing.asymmetricKeyType === "ec" ? "failed to build token generator: could not generate signer for ECDSA keypair: unknown private key curve, must be 256, 384, or 521"
            : `failed to build token generator: unknown private key type ${signing.asymmetricKeyType}, must be *rsa.PrivateKey, *ecdsa.PrivateKey, or jose.OpaqueSigner`);
    }
    const verify = [];
    for (const f of keyFiles) {
        let text;
        try {
            text = fs.readFileSync(f, "utf8");
        } catch (e) {
            die(`failed to parse key file "${f}": ${goReadError(f, e)}`);
        }
        const keys = publicKeysOf(text);
        if (!keys.length) die(`failed to parse key file "${f}": error reading public key file ${f}: data does not contain any valid RSA or ECDSA public keys`);
        verify.push(...keys.map((k) => ({ key: k, kid: keyIdOf(k) })));
    }
    // authentication.go: --api-audiences defaults to the issuers.
    const audiences = sliceFlag(argv, "api-audiences", true);
    const pub = crypto.createPublicKey(signing);
    console.log(`${C}: service-account issuer ${issuers[0]}, ${verify.length} verification key(s), signing kid ${keyIdOf(pub)}`);
    return { issuers, audiences: audiences.length ? audiences : issuers, verify, signing, alg: alg[0], hash: alg[1], kid: keyIdOf(pub) };
}

const b64json = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** A stable uid per service account: the stand-in has no storage, claims.go only needs it to match. */
function saUid(ns, name) {
    const h = crypto.createHash("sha256").update(`${ns}/${name}`).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** claims.go Claims + jwt.go GenerateToken: header {alg, kid}, claims in Go's (sorted) key order. */
function mintToken(ns, name, audiences, expirationSeconds) {
    const now = Math.floor(Date.now() / 1000);
    const header = b64json({ alg: sa.alg, kid: sa.kid });
    const payload = b64json({ aud: audiences, exp: now + expirationSeconds, iat: now, iss: sa.issuers[0], jti: crypto.randomUUID(),
        "kubernetes.io": { namespace: ns, serviceaccount: { name, uid: saUid(ns, name) } }, nbf: now, sub: `system:serviceaccount:${ns}:${name}` });
    const sig = crypto.sign(sa.hash, Buffer.from(`${header}.${payload}`), { key: sa.signing, dsaEncoding: "ieee-p1363" });
    return { token: `${header}.${payload}.${sig.toString("base64url")}`, exp: now + expirationSeconds };
}

/** The verify parameters go-jose uses for a header alg with a key of that type (none, HS*, mismatches: none). */
function verifyParams(alg, key) {
    const m = /^(RS|PS|ES)(256|384|512)$/.exec(String(alg));
    if (!m) return undefined;
    const hash = `sha${m[2]}`;
    if (m[1] === "ES") return key.asymmetricKeyType === "ec" && EC_ALGS[key.asymmetricKeyDetails.namedCurve][0] === alg ? { hash, dsaEncoding: "ieee-p1363" } : undefined;
    if (key.asymmetricKeyType !== "rsa") return undefined;
    return m[1] === "PS" ? { hash, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(m[2]) / 8 } : { hash };
}

const LEEWAY_S = 60; // go-jose jwt.DefaultLeeway, used by claims.go Validate

/**
 * jwt.go AuthenticateToken + claims.go Validate: iss among the issuers, the keys of the header's kid
 * (all keys when it has none; none found → refused), signature, audiences meeting --api-audiences,
 * exp/nbf/iat within a minute's leeway, bound-token claims present. Returns the user or an error text.
 */
function authenticateToken(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return { error: "not a JWT" };
    const header = attempt(() => JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")));
    const claims = attempt(() => JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")));
    if (!header || !claims) return { error: "malformed JWT" };
    if (!sa.issuers.includes(claims.iss)) return { error: "issuer not recognised" };
    const keys = header.kid ? sa.verify.filter((k) => k.kid === header.kid) : sa.verify;
    if (!keys.length) return { error: "invalid signature, no keys found" };
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2], "base64url");
    const ok = keys.some(({ key }) => {
        const p = verifyParams(header.alg, key);
        return p !== undefined && attempt(() => crypto.verify(p.hash, signed, { key, ...p }, sig)) === true;
    });
    if (!ok) return { error: "square/go-jose: error in cryptographic primitive" };
    const auds = Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [];
    if (!auds.some((a) => sa.audiences.includes(a))) return { error: `token audiences ${JSON.stringify(auds)} is invalid for the target audiences ${JSON.stringify(sa.audiences)}` };
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp === "number" && now > claims.exp + LEEWAY_S) return { error: "service account token has expired" };
    if (typeof claims.nbf === "number" && now + LEEWAY_S < claims.nbf) return { error: "service account token is not valid yet" };
    if (typeof claims.iat === "number" && now + LEEWAY_S < claims.iat) return { error: "service account token is issued in the future" };
    const k = claims["kubernetes.io"];
    // Legacy secret-based tokens need a Secret lookup the stand-in has no storage for: refused.
    if (!k || typeof k.namespace !== "string" || !k.serviceaccount || typeof k.serviceaccount.name !== "string") return { error: "service account token claims are missing" };
    const { namespace: ns, serviceaccount: { name, uid } } = k;
    if (claims.sub !== `system:serviceaccount:${ns}:${name}`) return { error: "sub does not match the service account" };
    if (uid !== saUid(ns, name)) return { error: `service account UID (${saUid(ns, name)}) does not match claim (${uid})` };
    return { name: claims.sub, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"], anonymous: false };
}

/** The request body as JSON (TokenRequest; empty → {}), or undefined when it does not parse. */
function readJson(req) {
    return new Promise((resolve) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").trim();
            resolve(text ? attempt(() => JSON.parse(text)) : {});
        });
        req.on("error", () => resolve(undefined));
    });
}

/**
 * POST …/serviceaccounts/<name>/token (pkg/registry/core/serviceaccount/storage/token.go): audiences
 * default to the API audiences, expirationSeconds to 3600 and at least 600 (validation); 201 TokenRequest.
 */
async function createToken(req, res, ns, name) {
    const body = await readJson(req);
    if (!body || typeof body !== "object") return status(res, 400, "BadRequest", "the request body is not a TokenRequest");
    const spec = body.spec || {};
    if (spec.boundObjectRef) return status(res, 400, "BadRequest", "spec.boundObjectRef: the stand-in mints unbound tokens only");
    const expirationSeconds = spec.expirationSeconds == null ? 3600 : Number(spec.expirationSeconds);
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600 || expirationSeconds > 2 ** 32) {
        const why = expirationSeconds < 600 ? "may not specify a duration less than 10 minutes" : "may not specify a duration larger than 2^32 seconds";
        return status(res, 422, "Invalid", `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${spec.expirationSeconds}: ${why}`);
    }
    const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences : sa.audiences;
    const { token, exp } = mintToken(ns, name, audiences, expirationSeconds);
    return sendJson(res, 201, { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1",
        metadata: { name, namespace: ns, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
        spec: { audiences, expirationSeconds, boundObjectRef: null },
        status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, "Z") } });
}

const sa = loadServiceAccountConfig(process.argv.slice(2));

function tryEtcd(url) {
    return new Promise((resolve) => {
        const u = new URL(url);
        const sock = tls.connect({ host: u.hostname, port: Number(u.port || 2379), ...etcdTls, timeout: 2000 });
        const done = (err) => {
            sock.destroy();
            resolve(err);
        };
        sock.once("secureConnect", () => done(sock.authorized ? undefined : sock.authorizationError));
        sock.once("error", (e) => done(e.message));
        sock.once("timeout", () => done("timeout"));
    });
}

async function waitForEtcd() {
    const servers = (flags["etcd-servers"] || "").split(",").filter(Boolean);
    if (!servers.length) {
        console.error(`${C}: --etcd-servers must be specified`);
        process.exit(1);
    }
    let last;
    for (let i = 0; i < ETCD_ATTEMPTS; i++) {
        for (const s of servers) {
            last = await tryEtcd(s);
            if (!last) return s;
        }
        await new Promise((r) => setTimeout(r, ETCD_RETRY_MS));
    }
    console.error(`${C}: Error creating storage: cannot reach etcd ${servers.join(",")}: ${last}`);
    process.exit(1);
}

const ADMIN_GROUPS = ["system:masters", "kubeadm:cluster-admins"];
const PUBLIC = ["/healthz", "/livez", "/readyz", "/version"];

function versionInfo() {
    const [, major, minor] = /^v(\d+)\.(\d+)/.exec(gitVersion) || [, "1", "30"];
    return { major, minor, gitVersion, gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean",
        buildDate: "2024-04-17T17:27:03Z", goVersion: "go1.22.2", compiler: "gc", platform: "linux/amd64" };
}

function nodeList() {
    return {
        kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: "1" },
        items: nodes.map((n) => ({
            kind: "Node", apiVersion: "v1",
            metadata: { name: n.name, labels: { "kubernetes.io/hostname": n.name, ...(n.role === "master" ? { "node-role.kubernetes.io/control-plane": "" } : {}) } },
            status: { addresses: [{ type: "InternalIP", address: n.ip }, { type: "Hostname", address: n.name }],
                conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }], nodeInfo: { kubeletVersion: gitVersion } },
        })),
    };
}

// What each client certificate presented here was judged: one JSON line per request that shows
// one, in KPSIM_CLIENT_LOG (set by the fake kubelet). Tests read this, not kube-pki's output.
const clientLog = process.env.KPSIM_CLIENT_LOG;

/** The node a request comes from: system:node:<name> in the certificate, else by source address (loopback: this node). */
function clientNode(cert, ip) {
    const m = /^system:node:(.+)$/.exec(String(cert.subject && cert.subject.CN || ""));
    if (m) return m[1];
    // A client on this node's loopback (RKE's and hand-built masters' kubeconfigs name 127.0.0.1) is this node.
    if (ip === "127.0.0.1" || ip === "::1") return process.env.KPSIM_NODE || ip;
    return (nodes.find((n) => n.ip === ip) || {}).name || ip;
}

/** The TLS facts of a request, read when it arrives: by "finish" a client that already hung up has taken its socket's handle along. */
function peerOf(req) {
    return { cert: req.socket.getPeerCertificate(), authorized: req.socket.authorized === true, error: req.socket.authorizationError,
        address: String(req.socket.remoteAddress || "").replace(/^::ffff:/, "") };
}

function recordClient(req, code, peer) {
    const cert = peer.cert;
    if (!clientLog || !cert || !Object.keys(cert).length) return;
    const accepted = peer.authorized;
    const line = { ts: new Date().toISOString(), node: clientNode(cert, peer.address), certSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
        accepted, reason: accepted ? "verified against --client-ca-file" : String(peer.error || "not verified"),
        code, subject: cert.subject && cert.subject.CN, userAgent: req.headers["user-agent"] || "", path: req.url, apiserver: process.env.KPSIM_NODE };
    try {
        require("node:fs").appendFileSync(clientLog, JSON.stringify(line) + "\n");
    } catch (e) {
        console.error(`${C}: cannot record client ${line.node}: ${e.message}`);
    }
}

/** The client certificate decides as before; without one, a bearer token (401 when it does not verify). */
function authenticate(req) {
    const who = identify(req);
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization || ""));
    if (!who.anonymous || !bearer) return who;
    const user = authenticateToken(bearer[1]);
    if (user.error) console.error(`${C}: Unable to authenticate the request: invalid bearer token: ${user.error}`);
    return user.error ? { rejected: true, error: user.error } : user;
}

function handle(req, res) {
    const who = authenticate(req);
    const peer = peerOf(req);
    res.on("finish", () => recordClient(req, res.statusCode, peer));
    if (who.rejected) return status(res, 401, "Unauthorized", "Unauthorized");
    const p = new URL(req.url, "https://x").pathname.replace(/\/+$/, "") || "/";
    if (PUBLIC.some((x) => p === x || p.startsWith(x + "/"))) {
        if (p === "/version") return sendJson(res, 200, versionInfo());
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        return res.end("ok");
    }
    const forbidden = () => status(res, 403, "Forbidden", `forbidden: User "${who.name}" cannot get path "${p}"`);
    if (who.anonymous) return forbidden();
    // Discovery is open to every authenticated user (system:discovery).
    if (p === "/api") return sendJson(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `${flags["advertise-address"]}:${flags["secure-port"] || 6443}` }] });
    if (p === "/apis") return sendJson(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [] });
    if (p === "/api/v1") {
        return sendJson(res, 200, { kind: "APIResourceList", groupVersion: "v1", resources: [
            { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["get", "list"], shortNames: ["no"] },
            { name: "namespaces", singularName: "namespace", namespaced: false, kind: "Namespace", verbs: ["get", "list"], shortNames: ["ns"] },
            { name: "serviceaccounts", singularName: "serviceaccount", namespaced: true, kind: "ServiceAccount", verbs: ["get"], shortNames: ["sa"] },
            { name: "serviceaccounts/token", singularName: "", namespaced: true, group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] },
        ] });
    }
    const admin = who.groups.some((g) => ADMIN_GROUPS.includes(g));
    const tokenPath = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(p);
    if (tokenPath && req.method === "POST") {
        if (!admin) return status(res, 403, "Forbidden", `serviceaccounts "${tokenPath[2]}" is forbidden: User "${who.name}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${tokenPath[1]}"`);
        return createToken(req, res, decodeURIComponent(tokenPath[1]), decodeURIComponent(tokenPath[2]));
    }
    if (!admin) return forbidden();
    const saPath = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(p);
    if (saPath) {
        const [ns, name] = [decodeURIComponent(saPath[1]), decodeURIComponent(saPath[2])];
        return sendJson(res, 200, { kind: "ServiceAccount", apiVersion: "v1", metadata: { name, namespace: ns, uid: saUid(ns, name) } });
    }
    if (p === "/api/v1/nodes") return sendJson(res, 200, nodeList());
    if (p.startsWith("/api/v1/nodes/")) {
        const n = nodeList().items.find((x) => x.metadata.name === p.split("/")[4]);
        return n ? sendJson(res, 200, n) : status(res, 404, "NotFound", `nodes "${p.split("/")[4]}" not found`);
    }
    if (p === "/api/v1/namespaces") {
        return sendJson(res, 200, { kind: "NamespaceList", apiVersion: "v1", metadata: {}, items: ["default", "kube-node-lease", "kube-public", "kube-system"]
            .map((name) => ({ kind: "Namespace", apiVersion: "v1", metadata: { name }, status: { phase: "Active" } })) });
    }
    return status(res, 404, "NotFound", "the server could not find the requested resource");
}

(async () => {
    const via = await waitForEtcd();
    console.log(`${C}: etcd reachable at ${via}`);
    const server = https.createServer({ ...serving, ca: clientCa, requestCert: true, rejectUnauthorized: false }, handle);
    listen(C, server, flags, 6443);
})();
