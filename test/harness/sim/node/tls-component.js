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

// kube-controller-manager's csrsigning controller, as in Kubernetes
// cmd/kube-controller-manager/app/certificates.go (startCertificateSigningRequestSigningController) and
// pkg/controller/certificates/signer/ca_provider.go (newCAProvider, setCA): each signer loads its pair
// with dynamiccertificates.NewDynamicServingContentFromFiles (read both files, tls.X509KeyPair: the key
// must match the FIRST certificate), then setCA wants exactly one certificate:
//   fmt.Errorf("error reading CA cert file %q: expected 1 certificate, found %d", p.caLoader.Name(), len(certs))
// where Name() is "csr-controller::<cert file>::<key file>". The error fails the controller and the
// process exits 1. The real one does this after it serves and wins the leader election (seconds after
// start); the stand-in checks before serving, so a bad pair fails every replica at once.
const SIGNERS = ["kubelet-serving", "kubelet-client", "kube-apiserver-client", "legacy-unknown"];
const CSR_SIGNING = "certificatesigningrequest-signing-controller";

function csrSigningEnabled() {
    const list = (flags.controllers || "*").split(",").map((c) => c.trim());
    const names = [CSR_SIGNING, "csrsigning"];
    if (names.some((n) => list.includes(n))) return true;
    if (names.some((n) => list.includes(`-${n}`))) return false;
    return list.includes("*");
}

function failController(signer, message) {
    console.error(`${component}: "Error starting controller" err="failed to start kubernetes.io/${signer} certificate controller: ${message}" controller="${CSR_SIGNING}"`);
    process.exit(1);
}

/** One signer's pair, checked in the order of the real loader; exits 1 with its message. */
function checkSignerPair(signer, certFile, keyFile, certFlag, keyFlag) {
    if (!certFile || !keyFile) failController(signer, "missing filename for serving cert");
    const read = (file, flag) => {
        try {
            return fs.readFileSync(file, "utf8");
        } catch (e) {
            return failController(signer, `error reading CA cert file "${certFile}": open ${file}: ${e.code === "ENOENT" ? "no such file or directory" : e.message} (${flag})`);
        }
    };
    const certPem = read(certFile, certFlag);
    const keyPem = read(keyFile, keyFlag);
    const name = `csr-controller::${certFile}::${keyFile}`;
    if (!certPem || !keyPem) failController(signer, `error reading CA cert file "${certFile}": missing content for serving cert "${name}"`);
    const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || [];
    const pairError = (() => {
        if (blocks.length === 0) return "tls: failed to find any PEM data in certificate input";
        let cert, key;
        try {
            cert = new crypto.X509Certificate(blocks[0]);
        } catch (e) {
            return `x509: ${e.message}`;
        }
        try {
            key = crypto.createPrivateKey(keyPem);
        } catch {
            return "tls: failed to parse private key";
        }
        if (cert.publicKey.asymmetricKeyType !== key.asymmetricKeyType) return "tls: private key type does not match public key type";
        return cert.checkPrivateKey(key) ? undefined : "tls: private key does not match public key";
    })();
    if (pairError) failController(signer, `error reading CA cert file "${certFile}": ${pairError} (${certFlag} / ${keyFlag})`);
    if (blocks.length !== 1) failController(signer, `error reading CA cert file "${name}": expected 1 certificate, found ${blocks.length} (${certFlag})`);
}

function checkSigningFiles() {
    if (!csrSigningEnabled()) return;
    const flagOf = (s, kind) => `cluster-signing-${s}-${kind}-file`;
    const specific = SIGNERS.some((s) => flags[flagOf(s, "cert")] || flags[flagOf(s, "key")]);
    const cert = flags["cluster-signing-cert-file"];
    const key = flags["cluster-signing-key-file"];
    if (!specific && (!cert || !key)) return; // "Skipping CSR signer controller because no csr cert/key was specified"
    if (specific && cert && key) {
        console.error(`${component}: "Error starting controller" err="cannot specify default and per controller certs at the same time" controller="${CSR_SIGNING}"`);
        process.exit(1);
    }
    for (const s of SIGNERS) {
        const [c, k] = specific ? [flagOf(s, "cert"), flagOf(s, "key")] : ["cluster-signing-cert-file", "cluster-signing-key-file"];
        if (flags[c] || flags[k]) checkSignerPair(s, flags[c], flags[k], `--${c}`, `--${k}`);
    }
}

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

if (component === "kube-controller-manager") checkSigningFiles();

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
