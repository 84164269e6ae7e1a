// TLS stand-in for kube-apiserver. Serves --tls-cert-file/--tls-private-key-file (loaded once),
// authenticates client certs against --client-ca-file (a cert from another CA gets 401),
// lets anonymous users reach /healthz,/livez,/readyz,/version only, and first checks that it
// can reach etcd with --etcd-certfile/--etcd-keyfile/--etcd-cafile, exiting like the real one
// (crash-loop) when it cannot. Records every client certificate it is shown (recordClient).
"use strict";
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

function handle(req, res) {
    const who = identify(req);
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
        ] });
    }
    const admin = who.groups.some((g) => ADMIN_GROUPS.includes(g));
    if (!admin) return forbidden();
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
