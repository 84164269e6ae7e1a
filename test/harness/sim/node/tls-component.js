// TLS stand-in for kube-controller-manager / kube-scheduler: serves exactly the cert/key
// files named by --tls-cert-file/--tls-private-key-file, loaded once at start (a restart is
// needed to pick up new files), and checks its --kubeconfig client pair like the real ones.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const https = require("node:https");
const path = require("node:path");
const { parseFlags, readOrDie, sendJson, status, identify, listen, kubeconfigIdentity, presentKubeconfig } = require("./standin-common");

const component = process.argv[2];
const flags = parseFlags(process.argv.slice(3));
const defaultPort = component === "kube-scheduler" ? 10259 : 10257;

function checkKubeconfig(file) {
    const YAML = require(path.join(process.env.KPSIM_NODE_MODULES, "yaml"));
    const kc = YAML.parse(fs.readFileSync(file, "utf8"));
    const ctx = kc.contexts.find((c) => c.name === kc["current-context"]);
    const user = kc.users.find((u) => u.name === ctx.context.user).user;
    const read = (d, p) => (d ? Buffer.from(d, "base64").toString() : fs.readFileSync(p, "utf8"));
    const cert = new crypto.X509Certificate(read(user["client-certificate-data"], user["client-certificate"]));
    const key = crypto.createPrivateKey(read(user["client-key-data"], user["client-key"]));
    if (!cert.checkPrivateKey(key)) throw new Error("tls: private key does not match public key");
}

if (flags.kubeconfig) {
    try {
        checkKubeconfig(flags.kubeconfig);
    } catch (e) {
        console.error(`${component}: invalid --kubeconfig ${flags.kubeconfig}: ${e.message}`);
        process.exit(1);
    }
}
// Hand-built / RKE units and containers (KPSIM_PRESENT_CLIENT) also show their identity to the apiserver.
if (flags.kubeconfig && process.env.KPSIM_PRESENT_CLIENT) presentKubeconfig(component, kubeconfigIdentity(flags.kubeconfig));

if (!flags["tls-cert-file"] || !flags["tls-private-key-file"]) {
    // The real component would self-sign an in-memory cert nobody can verify; we serve nothing.
    console.error(`${component}: no --tls-cert-file/--tls-private-key-file; not serving (simulator generates nothing)`);
    setInterval(() => undefined, 1 << 30);
} else {
    const server = https.createServer({
        cert: readOrDie(component, flags["tls-cert-file"], "--tls-cert-file"),
        key: readOrDie(component, flags["tls-private-key-file"], "--tls-private-key-file"),
        ...(flags["client-ca-file"] ? { ca: readOrDie(component, flags["client-ca-file"], "--client-ca-file") } : {}),
        requestCert: true,
        rejectUnauthorized: false,
    }, (req, res) => {
        const who = identify(req);
        if (who.rejected) return status(res, 401, "Unauthorized", "Unauthorized");
        const p = new URL(req.url, "https://x").pathname;
        // Default --authorization-always-allow-paths of both components.
        if (["/healthz", "/readyz", "/livez"].includes(p)) {
            res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
            return res.end("ok");
        }
        if (p === "/configz" && !who.anonymous) return sendJson(res, 200, { component });
        return status(res, 403, "Forbidden", `forbidden: User "${who.name}" cannot get path "${p}"`);
    });
    listen(component, server, flags, defaultPort);
}
