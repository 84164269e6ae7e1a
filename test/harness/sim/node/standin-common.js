// Shared bits of the TLS stand-ins (apiserver, controller-manager, scheduler): flag parsing,
// loading the files their flags name, and Kubernetes-style JSON responses.
"use strict";
const fs = require("node:fs");

/** "--a=b --c" -> { a: "b", c: "true" } (kube components only use the --flag=value form). */
function parseFlags(argv) {
    const flags = {};
    for (const a of argv) {
        const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
        if (m) flags[m[1]] = m[2] === undefined ? "true" : m[2];
    }
    return flags;
}

function readOrDie(component, file, what) {
    try {
        return fs.readFileSync(file);
    } catch (e) {
        console.error(`${component}: cannot read ${what} ${file}: ${e.message}`);
        process.exit(1);
    }
}

function sendJson(res, code, body) {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
}

function status(res, code, reason, message) {
    sendJson(res, code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
}

/** Client identity from a verified client certificate, or anonymous; `rejected` when a cert failed verification. */
function identify(req) {
    const cert = req.socket.getPeerCertificate();
    const presented = cert && Object.keys(cert).length > 0;
    if (!presented) return { name: "system:anonymous", groups: ["system:unauthenticated"], anonymous: true };
    if (!req.socket.authorized) return { rejected: true, error: req.socket.authorizationError };
    const o = cert.subject.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { name: cert.subject.CN, groups: [...groups, "system:authenticated"], anonymous: false };
}

/** Listens on --bind-address (default all addresses, like the real components). */
function listen(component, server, flags, defaultPort) {
    const port = Number(flags["secure-port"] || defaultPort);
    const host = flags["bind-address"] || "0.0.0.0";
    server.on("error", (e) => {
        console.error(`${component}: listen ${host}:${port}: ${e.message}`);
        process.exit(1);
    });
    server.listen(port, host, () => console.log(`${component}: serving on ${host}:${port}`));
}

/**
 * Reads a kubeconfig's current user and cluster (client cert/key and CA inline or as files):
 * { certPem, keyPem, caPem, server }; throws on a missing or mismatched pair, like client-go.
 */
function kubeconfigIdentity(file) {
    const crypto = require("node:crypto");
    const path = require("node:path");
    const YAML = require(path.join(process.env.KPSIM_NODE_MODULES, "yaml"));
    const kc = YAML.parse(fs.readFileSync(file, "utf8"));
    const ctx = (kc.contexts || []).find((c) => c.name === kc["current-context"]);
    if (!ctx) throw new Error(`${file}: current-context not found`);
    const user = ((kc.users || []).find((u) => u.name === ctx.context.user) || {}).user;
    const cluster = ((kc.clusters || []).find((c) => c.name === ctx.context.cluster) || {}).cluster;
    if (!user || !cluster) throw new Error(`${file}: user or cluster of the current context missing`);
    const read = (d, p) => (d ? Buffer.from(d, "base64").toString("utf8") : p ? fs.readFileSync(p, "utf8") : undefined);
    const certPem = read(user["client-certificate-data"], user["client-certificate"]);
    const keyText = read(user["client-key-data"], user["client-key"]);
    const caPem = read(cluster["certificate-authority-data"], cluster["certificate-authority"]);
    if (!certPem || !keyText) throw new Error(`${file}: no client certificate/key`);
    const keyPem = (/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(keyText) || [])[0];
    if (!keyPem) throw new Error(`${file}: client key is not a PEM private key`);
    const cert = new crypto.X509Certificate(certPem);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) throw new Error("tls: private key does not match public key");
    return { certPem, keyPem, caPem, server: cluster.server };
}

/**
 * Shows the kubeconfig's client identity to the apiserver once per start (GET /api, retried
 * while the apiserver does not answer, for up to two minutes); the apiserver stand-in records
 * the verdict in apiserver-clients.jsonl. Only when KPSIM_PRESENT_CLIENT is set (units and
 * docker containers of the hand-built and RKE layouts), so kubeadm runs record what they did.
 */
function presentKubeconfig(component, id) {
    if (!process.env.KPSIM_PRESENT_CLIENT) return;
    let url;
    try {
        url = new URL(id.server);
    } catch {
        return console.error(`${component}: bad server ${id.server}`);
    }
    const deadline = Date.now() + 120_000;
    const attempt = () => {
        const req = require("node:https").request({
            host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443), method: "GET", path: "/api",
            cert: id.certPem, key: id.keyPem, ca: id.caPem, timeout: 3000, agent: false,
            headers: { "User-Agent": `${component}/${process.env.KPSIM_GIT_VERSION || "v1.30.0"} (linux/amd64) kubernetes/sim` },
        }, (res) => {
            res.resume();
            console.log(`${component}: apiserver ${id.server} answered ${res.statusCode}`);
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => {
            if (Date.now() < deadline) return setTimeout(attempt, 1000);
            console.error(`${component}: apiserver ${id.server}: ${e.message}`);
        });
        req.end();
    };
    attempt();
}

process.on("SIGTERM", () => process.exit(0));

module.exports = { parseFlags, readOrDie, sendJson, status, identify, listen, kubeconfigIdentity, presentKubeconfig };
