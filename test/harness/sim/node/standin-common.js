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

process.on("SIGTERM", () => process.exit(0));

module.exports = { parseFlags, readOrDie, sendJson, status, identify, listen };
