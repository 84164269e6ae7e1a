#!/usr/bin/env node
// Fake kubelet for one simulated node. Runs inside the node's network + mount namespaces.
// Like the real kubelet it polls /etc/kubernetes/manifests and runs what the static pod
// manifests say: the real etcd binary, or TLS stand-ins for the other control-plane parts.
// crictl/systemctl shims reach it over a unix socket. Plain JS so no TS loader is needed.
"use strict";
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const YAML = require(path.join(cfg.nodeModules, "yaml"));

const MANIFESTS = "/etc/kubernetes/manifests";
const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
const POLL_MS = 200;
const STOP_GRACE_MS = 5000;
const CRICTL_STOP_RESTART_MS = 500;
const STANDINS = __dirname;

/** Which program stands in for a container, by the manifest's command[0]. */
const COMPONENTS = {
    etcd: { exe: () => cfg.etcdBinary, argv: (a) => a, certFlags: ["--cert-file", "--key-file"] },
    "kube-apiserver": { exe: () => process.execPath, argv: (a) => [path.join(STANDINS, "apiserver.js"), ...a], certFlags: ["--tls-cert-file", "--tls-private-key-file"] },
    "kube-controller-manager": { exe: () => process.execPath, argv: (a) => [path.join(STANDINS, "tls-component.js"), "kube-controller-manager", ...a], certFlags: ["--tls-cert-file", "--tls-private-key-file"] },
    "kube-scheduler": { exe: () => process.execPath, argv: (a) => [path.join(STANDINS, "tls-component.js"), "kube-scheduler", ...a], certFlags: ["--tls-cert-file", "--tls-private-key-file"] },
};

// ---------------------------------------------------------------------------- events + faults
function recordEvent(e) {
    const line = JSON.stringify({ ts: new Date().toISOString(), node: cfg.node, ...e });
    fs.appendFileSync(cfg.eventsPath, line + "\n");
}

function log(msg) {
    process.stderr.write(`${new Date().toISOString()} fake-kubelet ${cfg.node}: ${msg}\n`);
}

/** Faults are re-read at every decision so the test process can flip them at any time. */
function faultsFor(component) {
    try {
        const all = JSON.parse(fs.readFileSync(cfg.faultsPath, "utf8"));
        return Array.isArray(all[component]) ? all[component] : [];
    } catch {
        return [];
    }
}
function hasFault(component, kind) {
    return faultsFor(component).find((f) => f.kind === kind);
}
function slowReturnMs(component) {
    const f = hasFault(component, "slow-return");
    return f ? Math.max(0, Number(f.seconds) || 0) * 1000 : 0;
}

// ---------------------------------------------------------------------------- certificates
function firstCertSha256(file) {
    try {
        return new crypto.X509Certificate(fs.readFileSync(file)).fingerprint256.replace(/:/g, "").toLowerCase();
    } catch {
        return undefined;
    }
}
function flagValue(args, flag) {
    for (let i = 0; i < args.length; i++) {
        if (args[i].startsWith(flag + "=")) return args[i].slice(flag.length + 1);
        if (args[i] === flag) return args[i + 1];
    }
    return undefined;
}
function replaceFlag(args, flag, value) {
    return args.map((a) => (a.startsWith(flag + "=") ? `${flag}=${value}` : a));
}

/**
 * Decides which cert/key files the component is started with. Normally the manifest's own;
 * their content is cached so that under the keep-old-cert fault a restart gets the previous
 * PEMs instead (a component that "did not pick up" the new files).
 */
function servedFiles(component, args) {
    const spec = COMPONENTS[component];
    const certFile = flagValue(args, spec.certFlags[0]);
    const keyFile = flagValue(args, spec.certFlags[1]);
    if (!certFile || !keyFile) return { args, certSha256: undefined };
    const cacheDir = path.join(cfg.cacheDir, component);
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const cachedCert = path.join(cacheDir, "cert.pem");
    const cachedKey = path.join(cacheDir, "key.pem");
    if (hasFault(component, "keep-old-cert") && fs.existsSync(cachedCert)) {
        const kept = replaceFlag(replaceFlag(args, spec.certFlags[0], cachedCert), spec.certFlags[1], cachedKey);
        return { args: kept, certSha256: firstCertSha256(cachedCert), keptOldCert: true };
    }
    try {
        fs.copyFileSync(certFile, cachedCert);
        fs.copyFileSync(keyFile, cachedKey);
        fs.chmodSync(cachedKey, 0o600);
    } catch (e) {
        log(`cannot cache ${component} cert: ${e.message}`);
    }
    return { args, certSha256: firstCertSha256(certFile) };
}

function kubeconfigClientSha256(file) {
    try {
        const id = loadKubeconfigIdentity(file);
        return id.certSha256;
    } catch {
        return undefined;
    }
}

/** Reads a kubeconfig's current user: client cert (+ sha256), key, and cluster CA. */
function loadKubeconfigIdentity(file) {
    const kc = YAML.parse(fs.readFileSync(file, "utf8"));
    const ctx = (kc.contexts || []).find((c) => c.name === kc["current-context"]);
    if (!ctx) throw new Error(`${file}: current-context not found`);
    const user = ((kc.users || []).find((u) => u.name === ctx.context.user) || {}).user;
    const cluster = ((kc.clusters || []).find((c) => c.name === ctx.context.cluster) || {}).cluster;
    if (!user || !cluster) throw new Error(`${file}: user or cluster of the current context missing`);
    const read = (data, p) => (data ? Buffer.from(data, "base64").toString("utf8") : p ? fs.readFileSync(p, "utf8") : undefined);
    const certPem = read(user["client-certificate-data"], user["client-certificate"]);
    const keyText = read(user["client-key-data"], user["client-key"]);
    const caPem = read(cluster["certificate-authority-data"], cluster["certificate-authority"]);
    if (!certPem || !keyText) throw new Error(`${file}: no client certificate/key`);
    const keyBlock = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(keyText);
    if (!keyBlock) throw new Error(`${file}: client key is not a PEM private key`);
    const cert = new crypto.X509Certificate(certPem);
    const key = crypto.createPrivateKey(keyBlock[0]);
    return { cert, key, caPem, certSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(), server: cluster.server };
}

// ---------------------------------------------------------------------------- kubelet identity
let kubeletState = "active";
let kubeletMessage = "";

/** Loads kubelet.conf like the real kubelet at start: a bad pair is fatal, an untrusted cert is logged. */
function loadKubeletIdentity(event) {
    try {
        const id = loadKubeconfigIdentity(KUBELET_CONF);
        if (!id.cert.checkPrivateKey(id.key)) throw new Error("tls: private key does not match public key");
        let trusted = false;
        let trustError;
        try {
            trusted = id.caPem ? id.cert.verify(new crypto.X509Certificate(id.caPem).publicKey) : false;
            const now = Date.now();
            if (now < Date.parse(id.cert.validFrom) || now > Date.parse(id.cert.validTo)) {
                trusted = false;
                trustError = "client certificate expired or not yet valid";
            }
        } catch (e) {
            trustError = e.message;
        }
        kubeletState = "active";
        kubeletMessage = trusted ? "" : `client certificate not trusted by cluster CA: ${trustError || "signature mismatch"}`;
        const client = clientIdentity(id);
        recordEvent({ component: "kubelet", event, pid: process.pid, certSha256: id.certSha256, trusted, ...(kubeletMessage ? { error: kubeletMessage } : {}),
            clientSource: client.source, clientCertSha256: client.certSha256 });
        presentClientIdentity(client, id);
    } catch (e) {
        kubeletState = "failed";
        kubeletMessage = e.message;
        recordEvent({ component: "kubelet", event, pid: process.pid, error: e.message, failed: true });
    }
}

// ---------------------------------------------------------------------------- kubelet client identity (to the apiserver)
// Like the real kubelet: with rotateCertificates in its config, the certificate store
// (kubelet-client-current.pem, cert and key in one file) comes first and kubelet.conf's own
// pair is only the fallback. At every (re)start it talks to the apiserver named in
// kubelet.conf, as a TLS client with that identity, retrying until the apiserver answers; the
// apiserver stand-in records what it was shown and whether it accepted it.
const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";
const KUBELET_CLIENT_CURRENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";
const CLIENT_RETRY_MS = 1000;
const CLIENT_GIVE_UP_MS = 120_000;
let clientGeneration = 0;

function rotationOn() {
    try {
        const c = YAML.parse(fs.readFileSync(KUBELET_CONFIG, "utf8"));
        return !!c && c.rotateCertificates === true;
    } catch {
        return false;
    }
}

/** The pair the kubelet presents: kubelet-client-current.pem when rotating and readable, else kubelet.conf's. */
function clientIdentity(conf) {
    if (rotationOn()) {
        try {
            const text = fs.readFileSync(KUBELET_CLIENT_CURRENT, "utf8");
            const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
            const keyPem = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(text);
            if (certPem && keyPem) {
                const cert = new crypto.X509Certificate(certPem[0]);
                return { source: KUBELET_CLIENT_CURRENT, cert: certPem[0], key: keyPem[0], certSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase() };
            }
        } catch {
            /* the real kubelet falls back to kubelet.conf's pair */
        }
    }
    return { source: KUBELET_CONF, cert: conf.cert.toString(), key: conf.key.export({ type: "pkcs8", format: "pem" }), certSha256: conf.certSha256 };
}

/** Connects (retrying) until the apiserver answers; a newer (re)start supersedes this one. */
function presentClientIdentity(client, conf) {
    const generation = ++clientGeneration;
    const deadline = Date.now() + CLIENT_GIVE_UP_MS;
    let url;
    try {
        url = new URL(conf.server);
    } catch {
        return recordEvent({ component: "kubelet", event: "client-auth", pid: process.pid, clientCertSha256: client.certSha256, error: `bad server ${conf.server}`, failed: true });
    }
    const attempt = () => {
        if (generation !== clientGeneration || kubeletState !== "active") return;
        let req;
        try {
            req = request();
        } catch (e) {
            // A pair TLS cannot use (key does not match): logged, not retried, the kubelet keeps running.
            return recordEvent({ component: "kubelet", event: "client-auth", pid: process.pid, clientSource: client.source, clientCertSha256: client.certSha256, error: e.message, failed: true });
        }
        const retry = (why) => {
            if (generation !== clientGeneration) return;
            if (Date.now() < deadline) return setTimeout(attempt, CLIENT_RETRY_MS);
            recordEvent({ component: "kubelet", event: "client-auth", pid: process.pid, clientSource: client.source, clientCertSha256: client.certSha256, error: why, failed: true });
        };
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => retry(e.message));
        req.end();
    };
    const request = () => require("node:https").request({
        host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443), method: "GET", path: `/api/v1/nodes/${cfg.node}`,
        cert: client.cert, key: client.key, ca: conf.caPem, timeout: 3000, agent: false,
        headers: { "User-Agent": `kubelet/v${cfg.kubernetesVersion} (linux/amd64) kubernetes/sim` },
    }, (res) => {
        res.resume();
        if (generation !== clientGeneration) return;
        recordEvent({ component: "kubelet", event: "client-auth", pid: process.pid, clientSource: client.source, clientCertSha256: client.certSha256, code: res.statusCode });
    });
    attempt();
}

// ---------------------------------------------------------------------------- kubelet serving (:10250)
// Like the real kubelet without serverTLSBootstrap: the pair in its cert dir (tlsCertFile /
// tlsPrivateKeyFile default) is read at every (re)start and served on :10250 until the next one.
// A pair that cannot be read or does not match is logged and not served (the real one exits).
const KUBELET_SERVING = { cert: "/var/lib/kubelet/pki/kubelet.crt", key: "/var/lib/kubelet/pki/kubelet.key", port: 10250 };
let servingServer = null;

function loadServingPair(event) {
    let context;
    try {
        context = { cert: fs.readFileSync(KUBELET_SERVING.cert), key: fs.readFileSync(KUBELET_SERVING.key) };
        require("node:tls").createSecureContext(context); // throws on a key that does not match
    } catch (e) {
        stopServing();
        recordEvent({ component: "kubelet", event: "serving", pid: process.pid, trigger: event, error: e.message, failed: true });
        return;
    }
    if (servingServer) {
        servingServer.setSecureContext(context);
    } else {
        servingServer = require("node:tls").createServer(context, (sock) => {
            // No API behind it: any request is unauthorized, which is all a TLS probe needs.
            sock.on("error", () => undefined);
            sock.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        });
        servingServer.on("tlsClientError", () => undefined);
        servingServer.on("error", (e) => log(`:${KUBELET_SERVING.port}: ${e.message}`));
        servingServer.listen(KUBELET_SERVING.port, "0.0.0.0");
    }
    recordEvent({ component: "kubelet", event: "serving", pid: process.pid, trigger: event, certSha256: firstCertSha256(KUBELET_SERVING.cert) });
}

function stopServing() {
    if (servingServer) servingServer.close();
    servingServer = null;
}

// ---------------------------------------------------------------------------- pods + containers
/** @type {Map<string, any>} pod name -> pod */
const pods = new Map();
/** Every container ever started (crictl ps -a shows exited ones too). */
const containers = [];

function readManifests() {
    const wanted = new Map();
    let files = [];
    try {
        files = fs.readdirSync(MANIFESTS).filter((f) => !f.startsWith(".")).sort();
    } catch {
        return wanted;
    }
    for (const f of files) {
        const file = path.join(MANIFESTS, f);
        try {
            if (!fs.statSync(file).isFile()) continue;
            const text = fs.readFileSync(file, "utf8");
            const pod = YAML.parse(text);
            const c = pod && pod.spec && pod.spec.containers && pod.spec.containers[0];
            const name = pod && pod.metadata && pod.metadata.name;
            if (!name || !c || !Array.isArray(c.command)) throw new Error("no metadata.name or containers[0].command");
            if (wanted.has(name)) {
                log(`ignoring ${file}: duplicate static pod ${name}`);
                continue;
            }
            wanted.set(name, { file, hash: crypto.createHash("sha256").update(text).digest("hex"), command: c.command.map(String), image: String(c.image || "") });
        } catch (e) {
            // Real kubelet logs and skips a manifest it cannot parse; keep what already runs.
            const old = [...pods.values()].find((p) => p.spec && p.spec.file === file);
            if (old) wanted.set(old.name, old.spec);
            log(`cannot parse ${file}: ${e.message}`);
        }
    }
    return wanted;
}

function running(pod) {
    return pod.current && pod.current.state === "running";
}

function startContainer(pod) {
    const spec = pod.spec;
    const component = path.basename(spec.command[0]);
    const comp = COMPONENTS[component];
    if (!comp) {
        log(`no stand-in for command ${spec.command[0]} (pod ${pod.name}); not started`);
        pod.nextStartAt = Date.now() + 10_000;
        return;
    }
    const served = servedFiles(component, spec.command.slice(1));
    const kubeconfig = flagValue(spec.command, "--kubeconfig");
    const id = crypto.randomBytes(32).toString("hex");
    const logPath = path.join(cfg.logDir, `${pod.name}-${id.slice(0, 12)}.log`);
    const out = fs.openSync(logPath, "a", 0o600);
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", KPSIM_NODE: cfg.node,
        KPSIM_GIT_VERSION: (/:(v[\w.+-]+)$/.exec(spec.image) || [])[1] || `v${cfg.kubernetesVersion}`,
        KPSIM_NODES: JSON.stringify(cfg.nodes), KPSIM_NODE_MODULES: cfg.nodeModules,
        KPSIM_CLIENT_LOG: path.join(path.dirname(cfg.eventsPath), "apiserver-clients.jsonl") };
    const child = spawn(comp.exe(), comp.argv(served.args), { detached: true, stdio: ["ignore", out, out], env });
    fs.closeSync(out);
    const now = new Date().toISOString();
    const c = {
        id, name: pod.name, component, podName: `${pod.name}-${cfg.node}`, podId: pod.sandboxId, attempt: pod.attempt,
        state: "running", createdAt: now, startedAt: now, finishedAt: null, exitCode: null, pid: child.pid,
        image: spec.image, imageId: crypto.createHash("sha256").update(spec.image).digest("hex"), logPath, child, stopWaiters: [],
    };
    pod.attempt++;
    pod.current = c;
    containers.push(c);
    child.on("error", (e) => log(`${pod.name}: spawn failed: ${e.message}`));
    child.on("exit", (code, signal) => onExit(pod, c, code, signal));
    recordEvent({ component: pod.name, event: "start", pid: child.pid, containerId: id, attempt: c.attempt,
        ...(served.certSha256 ? { certSha256: served.certSha256 } : {}),
        ...(served.keptOldCert ? { keptOldCert: true } : {}),
        ...(kubeconfig ? { kubeconfigCertSha256: kubeconfigClientSha256(kubeconfig) } : {}) });
}

function onExit(pod, c, code, signal) {
    c.state = "exited";
    c.finishedAt = new Date().toISOString();
    c.exitCode = code != null ? code : 128 + (signal ? require("node:os").constants.signals[signal] || 0 : 0);
    clearTimeout(c.killTimer);
    if (pod.current === c) pod.current = null;
    if (c.stopReason) {
        recordEvent({ component: pod.name, event: "stop", pid: c.pid, containerId: c.id, reason: c.stopReason, code: c.exitCode });
    } else {
        // Crashed: restart with a short, growing back-off like the kubelet's CrashLoopBackOff.
        pod.backoffMs = Math.min(8000, pod.backoffMs ? pod.backoffMs * 2 : 1000);
        pod.nextStartAt = Date.now() + pod.backoffMs + slowReturnMs(pod.name);
        recordEvent({ component: pod.name, event: "exit", pid: c.pid, containerId: c.id, code: c.exitCode, signal: signal || undefined });
    }
    for (const w of c.stopWaiters) w();
}

/** SIGTERM, then SIGKILL after a bound; resolves when the process is gone. */
function stopContainer(c, reason) {
    return new Promise((resolve) => {
        if (c.state !== "running") return resolve();
        c.stopWaiters.push(resolve);
        if (c.stopReason) return;
        c.stopReason = reason;
        try { process.kill(-c.pid, "SIGTERM"); } catch { /* gone */ }
        c.killTimer = setTimeout(() => {
            try { process.kill(-c.pid, "SIGKILL"); } catch { /* gone */ }
        }, STOP_GRACE_MS);
    });
}

function newSandbox(pod) {
    pod.sandboxId = crypto.randomBytes(32).toString("hex");
    pod.sandboxCreatedAt = new Date().toISOString();
    pod.attempt = 0;
    pod.backoffMs = 0;
}

function reconcile() {
    if (kubeletState !== "active") return; // a dead kubelet does not react to manifests
    const wanted = readManifests();
    for (const pod of pods.values()) {
        if (wanted.has(pod.name) || !pod.desired) continue;
        pod.desired = false;
        if (pod.current) stopContainer(pod.current, "manifest-removed");
    }
    const now = Date.now();
    for (const [name, spec] of wanted) {
        let pod = pods.get(name);
        if (!pod) {
            pod = { name, desired: false, current: null, nextStartAt: 0 };
            pods.set(name, pod);
        }
        if (!pod.desired) {
            pod.desired = true;
            newSandbox(pod);
            pod.nextStartAt = now + slowReturnMs(name);
        } else if (pod.spec && pod.spec.hash !== spec.hash && pod.current) {
            // An edited manifest is a new pod for the kubelet: replace the running one.
            const old = pod.current;
            stopContainer(old, "manifest-changed").then(() => {
                newSandbox(pod);
                pod.nextStartAt = Date.now() + slowReturnMs(name);
            });
        }
        pod.spec = spec;
        if (pod.current || now < pod.nextStartAt) continue;
        if (hasFault(name, "never-return")) continue;
        if (pod.current === null && pod.lastRunningSince && now - pod.lastRunningSince > 10_000) pod.backoffMs = 0;
        startContainer(pod);
        pod.lastRunningSince = Date.now();
    }
}

// ---------------------------------------------------------------------------- crictl
function parseArgs(argv, valued) {
    const flags = {};
    const rest = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a.startsWith("--") && a.includes("=")) {
            const [k, ...v] = a.slice(2).split("=");
            flags[k] = v.join("=");
        } else if (a.startsWith("-") && a !== "-") {
            const k = a.replace(/^-+/, "");
            if (valued.includes(k)) flags[k] = argv[++i];
            else for (const ch of a.startsWith("--") ? [k] : k.split("")) flags[ch] = true;
        } else rest.push(a);
    }
    return { flags, rest };
}

function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s <= 1 ? "Less than a second ago" : `${s} seconds ago`;
    if (s < 120) return "About a minute ago";
    if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
    return `${Math.floor(s / 3600)} hours ago`;
}

function table(rows) {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
    return rows.map((r) => r.map((v, i) => (i === r.length - 1 ? String(v) : String(v).padEnd(widths[i] + 3))).join("")).join("\n") + "\n";
}

const STATE = { running: "CONTAINER_RUNNING", exited: "CONTAINER_EXITED" };

function findContainers(ids) {
    const found = [];
    for (const id of ids) {
        const m = containers.filter((c) => c.id.startsWith(id));
        if (m.length !== 1) return { error: `${m.length === 0 ? "not found" : "ambiguous"}: container "${id}"` };
        found.push(m[0]);
    }
    return { found };
}

function containerJson(c) {
    return {
        id: c.id, podSandboxId: c.podId, metadata: { name: c.name, attempt: c.attempt },
        image: { image: c.image }, imageRef: `sha256:${c.imageId}`, state: STATE[c.state],
        createdAt: String(Date.parse(c.createdAt) * 1e6),
        labels: { "io.kubernetes.container.name": c.name, "io.kubernetes.pod.name": c.podName, "io.kubernetes.pod.namespace": "kube-system" },
        annotations: {},
    };
}

async function crictl(argv) {
    // Global connection flags the real crictl accepts; irrelevant here.
    const { flags: g, rest } = parseArgs(argv, ["r", "runtime-endpoint", "i", "image-endpoint", "t", "timeout", "c", "config"]);
    if (g.version || g.v) return { stdout: "crictl version v1.30.0\n" };
    const sub = rest[0];
    const args = argv.slice(argv.indexOf(sub) + 1);
    if (sub === "ps") {
        const { flags } = parseArgs(args, ["name", "state", "s", "o", "output", "id", "pod", "p", "n", "last", "label"]);
        let list = containers.slice().reverse(); // newest first, like crictl
        const state = (flags.state || flags.s || (flags.a || flags.all ? "" : "running")).toLowerCase();
        if (state) list = list.filter((c) => c.state === state);
        if (flags.name) list = list.filter((c) => new RegExp(flags.name).test(c.name));
        if (flags.id) list = list.filter((c) => c.id.startsWith(flags.id));
        if (flags.pod || flags.p) list = list.filter((c) => c.podId.startsWith(flags.pod || flags.p));
        if (flags.l || flags.latest) list = list.slice(0, 1);
        const last = Number(flags.n || flags.last || 0);
        if (last > 0) list = list.slice(0, last);
        const out = flags.o || flags.output;
        if (out === "json") return { stdout: JSON.stringify({ containers: list.map(containerJson) }, null, 2) + "\n" };
        if (flags.q || flags.quiet) return { stdout: list.map((c) => c.id + "\n").join("") };
        const rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"]];
        for (const c of list) {
            rows.push([c.id.slice(0, 13), c.imageId.slice(0, 13), ago(c.createdAt), c.state === "running" ? "Running" : "Exited",
                c.name, c.attempt, c.podId.slice(0, 13), c.podName]);
        }
        return { stdout: table(rows) };
    }
    if (sub === "stop") {
        const { rest: ids } = parseArgs(args, ["t", "timeout"]);
        if (!ids.length) return { stderr: "ID cannot be empty\n", code: 1 };
        const r = findContainers(ids);
        if (r.error) return { stderr: `stopping the container: ${r.error}\n`, code: 1 };
        let stdout = "";
        for (const c of r.found) {
            const pod = pods.get(c.name);
            await stopContainer(c, "crictl-stop");
            // The kubelet brings a stopped static pod container back (new container, attempt+1).
            if (pod && pod.current === null) pod.nextStartAt = Date.now() + CRICTL_STOP_RESTART_MS + slowReturnMs(c.name);
            stdout += c.id + "\n";
        }
        return { stdout };
    }
    if (sub === "inspect") {
        const { rest: ids } = parseArgs(args, ["o", "output"]);
        const r = findContainers(ids);
        if (r.error) return { stderr: `getting the status of the container: ${r.error}\n`, code: 1 };
        const docs = r.found.map((c) => ({
            status: {
                id: c.id, metadata: { name: c.name, attempt: c.attempt }, state: STATE[c.state],
                createdAt: c.createdAt, startedAt: c.startedAt, finishedAt: c.finishedAt || "0001-01-01T00:00:00Z",
                exitCode: c.exitCode == null ? 0 : c.exitCode, image: { image: c.image }, imageRef: `sha256:${c.imageId}`,
                reason: c.state === "exited" ? (c.stopReason ? "Completed" : "Error") : "", message: "",
                labels: containerJson(c).labels, annotations: {}, logPath: c.logPath,
            },
            info: { sandboxID: c.podId, pid: c.state === "running" ? c.pid : 0, runtimeSpec: { process: { args: c.child.spawnargs.slice(1) } } },
        }));
        return { stdout: JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2) + "\n" };
    }
    if (sub === "pods") {
        const { flags } = parseArgs(args, ["name", "state", "s", "o", "output", "namespace"]);
        let list = [...pods.values()].filter((p) => p.sandboxId && p.desired);
        if (flags.name) list = list.filter((p) => new RegExp(flags.name).test(`${p.name}-${cfg.node}`));
        if (flags.q || flags.quiet) return { stdout: list.map((p) => p.sandboxId + "\n").join("") };
        const rows = [["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]];
        for (const p of list) rows.push([p.sandboxId.slice(0, 13), ago(p.sandboxCreatedAt), "Ready", `${p.name}-${cfg.node}`, "kube-system", 0, "(default)"]);
        return { stdout: table(rows) };
    }
    if (sub === "logs") {
        const r = findContainers(parseArgs(args, ["tail", "since"]).rest);
        if (r.error) return { stderr: `${r.error}\n`, code: 1 };
        return { stdout: fs.readFileSync(r.found[0].logPath, "utf8") };
    }
    return { stderr: `crictl (simulated): unsupported command "${argv.join(" ")}"\n`, code: 1 };
}

// ---------------------------------------------------------------------------- systemctl
async function systemctl(argv) {
    const { rest } = parseArgs(argv, []);
    const [verb, ...units] = rest;
    const unit = (units[0] || "").replace(/\.service$/, "");
    if (verb === "daemon-reload") return {};
    if (unit !== "kubelet") {
        if (verb === "is-active") return { stdout: "inactive\n", code: 3 };
        return { stderr: `Failed to ${verb} ${units[0] || ""}: Unit ${units[0] || ""} not found.\n`, code: 5 };
    }
    if (verb === "restart" || verb === "start" || verb === "reload-or-restart" || verb === "try-restart") {
        // The real kubelet re-reads kubelet.conf and re-adopts the running static pods.
        loadKubeletIdentity("kubelet-restart");
        loadServingPair("kubelet-restart");
        return {};
    }
    if (verb === "stop") {
        kubeletState = "inactive";
        stopServing();
        recordEvent({ component: "kubelet", event: "stop", pid: process.pid });
        return {};
    }
    if (verb === "is-active") return { stdout: `${kubeletState}\n`, code: kubeletState === "active" ? 0 : 3 };
    if (verb === "status") {
        const text = `● kubelet.service - kubelet: The Kubernetes Node Agent (simulated)\n     Active: ${kubeletState}${kubeletMessage ? ` (${kubeletMessage})` : ""}\n   Main PID: ${process.pid}\n`;
        return { stdout: text, code: kubeletState === "active" ? 0 : 3 };
    }
    return { stderr: `systemctl (simulated): unsupported "${argv.join(" ")}"\n`, code: 1 };
}

// ---------------------------------------------------------------------------- socket + lifecycle
const server = net.createServer((sock) => {
    let buf = "";
    sock.on("data", async (d) => {
        buf += d;
        if (!buf.includes("\n")) return;
        let res;
        try {
            const req = JSON.parse(buf.slice(0, buf.indexOf("\n")));
            res = req.cmd === "crictl" ? await crictl(req.args) : req.cmd === "systemctl" ? await systemctl(req.args) : { stderr: "unknown\n", code: 2 };
        } catch (e) {
            res = { stderr: `fake kubelet: ${e.message}\n`, code: 1 };
        }
        sock.end(JSON.stringify({ stdout: res.stdout || "", stderr: res.stderr || "", code: res.code || 0 }) + "\n");
    });
    sock.on("error", () => undefined);
});

let shuttingDown = false;
async function shutdown() {
    if (shuttingDown) return;
    shuttingDown = true;
    clearInterval(timer);
    await Promise.all([...pods.values()].filter((p) => p.current).map((p) => stopContainer(p.current, "node-shutdown")));
    server.close();
    stopServing();
    process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

fs.rmSync(cfg.socketPath, { force: true });
fs.mkdirSync(cfg.logDir, { recursive: true, mode: 0o700 });
server.listen(cfg.socketPath, () => {
    fs.chmodSync(cfg.socketPath, 0o600);
    loadKubeletIdentity("start");
    loadServingPair("start");
    reconcile();
});
const timer = setInterval(() => {
    try {
        reconcile();
    } catch (e) {
        log(`reconcile: ${e.stack}`);
    }
}, POLL_MS);
