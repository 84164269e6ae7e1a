#!/usr/bin/env node
// Fake kubelet for one simulated node. Runs inside the node's network + mount namespaces.
// Like the real kubelet it polls /etc/kubernetes/manifests and runs what the static pod
// manifests say: the real etcd binary, or TLS stand-ins for the other control-plane parts.
// crictl/systemctl shims reach it over a unix socket. Plain JS so no TS loader is needed.
// Hand-built and RKE-style nodes also get systemd units and docker containers it runs the same
// way (sections "systemd units" and "docker"), described in cfg.unitsDir / cfg.dockerDir.
"use strict";
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const YAML = require(path.join(cfg.nodeModules, "yaml"));

const MANIFESTS = "/etc/kubernetes/manifests";
const KUBELET_CONF_DEFAULT = "/etc/kubernetes/kubelet.conf";
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
    "kube-proxy": { exe: () => process.execPath, argv: (a) => [path.join(STANDINS, "kube-proxy.js"), ...a], certFlags: [] },
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
        const id = loadKubeconfigIdentity(kubeletFlag("--kubeconfig", KUBELET_CONF_DEFAULT));
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
const KUBELET_CONFIG_DEFAULT = "/var/lib/kubelet/config.yaml";
const KUBELET_CLIENT_CURRENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";
const CLIENT_RETRY_MS = 1000;
const CLIENT_GIVE_UP_MS = 120_000;
let clientGeneration = 0;

function rotationOn() {
    try {
        const c = YAML.parse(fs.readFileSync(kubeletFlag("--config", KUBELET_CONFIG_DEFAULT), "utf8"));
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
    return { source: kubeletFlag("--kubeconfig", KUBELET_CONF_DEFAULT), cert: conf.cert.toString(), key: conf.key.export({ type: "pkcs8", format: "pem" }), certSha256: conf.certSha256 };
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

/** `list`: where the container is listed (crictl's list; units and docker keep their own). */
function startContainer(pod, list = containers) {
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
        KPSIM_CLIENT_LOG: path.join(path.dirname(cfg.eventsPath), "apiserver-clients.jsonl"), ...(pod.extraEnv || {}) };
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
    list.push(c);
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
    const res = await systemctlVerb(argv);
    // --quiet/-q: like systemctl, is-active and friends answer by exit code only.
    return argv.includes("--quiet") || argv.includes("-q") ? { ...res, stdout: "" } : res;
}

async function systemctlVerb(argv) {
    const { rest } = parseArgs(argv, []);
    const [verb, ...units] = rest;
    const unit = (units[0] || "").replace(/\.service$/, "");
    if (verb === "daemon-reload") return {};
    if (unit !== "kubelet" && unitSpec(unit)) return unitCommand(verb, unit, units[0]);
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

// ---------------------------------------------------------------------------- kubelet flags
// On hand-built and RKE nodes the kubelet's own unit / container description names its
// kubeconfig and config file (--kubeconfig, --config); kubeadm's paths otherwise.
function kubeletFlag(flag, fallback) {
    const spec = (cfg.unitsDir && readDescription(cfg.unitsDir, "kubelet")) || (cfg.dockerDir && readDescription(cfg.dockerDir, "kubelet"));
    return (spec && flagValue(spec.command, flag)) || fallback;
}

/** <dir>/<name>.json: { command: [...], image?: "..." } as the seeder wrote it; undefined when absent or unreadable. */
function readDescription(dir, name) {
    if (!dir || !/^[A-Za-z0-9@._-]+$/.test(name)) return undefined;
    const file = path.join(dir, `${name}.json`);
    try {
        const text = fs.readFileSync(file, "utf8");
        const d = JSON.parse(text);
        if (!Array.isArray(d.command) || !d.command.length) throw new Error("no command");
        return { file, hash: crypto.createHash("sha256").update(text).digest("hex"), command: d.command.map(String), image: String(d.image || ""),
            description: String(d.description || name) };
    } catch (e) {
        if (e.code !== "ENOENT") log(`cannot read ${file}: ${e.message}`);
        return undefined;
    }
}

function describedNames(dir) {
    try {
        return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).filter((n) => n !== "kubelet").sort();
    } catch {
        return [];
    }
}

/** A unit/container record shares the pod fields startContainer/onExit use (spec, current, attempt, back-off). */
function newRecord(name, extra) {
    const r = { name, desired: true, current: null, nextStartAt: 0, extraEnv: { KPSIM_PRESENT_CLIENT: "1" }, list: [], ...extra };
    newSandbox(r);
    return r;
}

/** Starts every wanted record that is not running (after its back-off); a crashed one counts a restart. */
function reconcileRecords(records, dir, kind) {
    if (!dir) return;
    const now = Date.now();
    for (const name of describedNames(dir)) {
        if (!records.has(name)) records.set(name, newRecord(name, kind === "docker" ? { dockerId: crypto.randomBytes(32).toString("hex"),
            createdAt: new Date().toISOString(), restartCount: 0 } : {}));
        const r = records.get(name);
        if (!r.desired || r.current || now < r.nextStartAt || hasFault(name, "never-return")) continue;
        const crashed = !!(r.lastContainer && !r.lastContainer.stopReason);
        if (startRecord(r, dir) && crashed && kind === "docker") r.restartCount++;
    }
}

/** Starts one record from its current description (edits are picked up at the next start). */
function startRecord(r, dir) {
    const spec = readDescription(dir, r.name);
    if (!spec) {
        r.nextStartAt = Date.now() + 10_000;
        return false;
    }
    r.spec = spec;
    if (r.lastRunningSince && Date.now() - r.lastRunningSince > 10_000) r.backoffMs = 0;
    startContainer(r, r.list);
    r.lastContainer = r.current;
    r.lastRunningSince = Date.now();
    return !!r.current;
}

/** Stops the running process (if any) and starts it again at once, like systemctl/docker restart. */
async function restartRecord(r, dir, reason, graceMs) {
    // The request itself (a crash-looping unit/container has no process to stop, yet is restarted).
    recordEvent({ component: r.name, event: "restart", pid: r.current ? r.current.pid : 0, reason });
    if (r.current) {
        const c = r.current;
        const kill = graceMs !== undefined ? setTimeout(() => { try { process.kill(-c.pid, "SIGKILL"); } catch { /* gone */ } }, graceMs) : undefined;
        await stopContainer(c, reason);
        clearTimeout(kill);
    }
    r.desired = true;
    r.backoffMs = 0;
    const delay = slowReturnMs(r.name);
    if (delay || hasFault(r.name, "never-return")) {
        r.nextStartAt = Date.now() + delay;
        return;
    }
    r.nextStartAt = 0;
    startRecord(r, dir);
}

// ---------------------------------------------------------------------------- systemd units (hand-built layouts)
// <cfg.unitsDir>/<unit>.json describes a unit's ExecStart (command) like a static pod's
// container; units start at boot, crashed ones come back after a back-off (Restart=always), and
// `systemctl restart <unit>` stops the process and starts a new one. The kubelet unit is this
// process itself (section systemctl), its description only names its flags.
/** @type {Map<string, any>} */
const unitRecords = new Map();

function unitSpec(unit) {
    return cfg.unitsDir ? readDescription(cfg.unitsDir, unit) : undefined;
}

function reconcileUnits() {
    reconcileRecords(unitRecords, cfg.unitsDir, "unit");
}

function unitState(r) {
    if (r && r.current && r.current.state === "running") return "active";
    if (r && r.desired) return "activating";
    return "inactive";
}

async function unitCommand(verb, unit, asGiven) {
    reconcileUnits();
    const r = unitRecords.get(unit);
    if (!r) return { stderr: `Failed to ${verb} ${asGiven}: Unit ${asGiven} not found.\n`, code: 5 };
    if (verb === "restart" || verb === "reload-or-restart" || verb === "try-restart") {
        await restartRecord(r, cfg.unitsDir, "systemctl-restart");
        return {};
    }
    if (verb === "start") {
        r.desired = true;
        if (!r.current) await restartRecord(r, cfg.unitsDir, "systemctl-start");
        return {};
    }
    if (verb === "stop") {
        r.desired = false;
        if (r.current) await stopContainer(r.current, "systemctl-stop");
        return {};
    }
    const state = unitState(r);
    if (verb === "is-active") return { stdout: `${state}\n`, code: state === "active" ? 0 : 3 };
    if (verb === "show") {
        const c = r.current;
        return { stdout: `Id=${unit}.service\nActiveState=${state}\nMainPID=${c && c.state === "running" ? c.pid : 0}\n` +
            `ExecMainStartTimestamp=${c ? c.startedAt : ""}\nNRestarts=${Math.max(0, r.attempt - 1)}\n` };
    }
    if (verb === "status") {
        const c = r.current;
        const text = `● ${unit}.service - ${r.spec ? r.spec.description : unit} (simulated)\n     Active: ${state}${c ? ` since ${c.startedAt}` : ""}\n` +
            `   Main PID: ${c && c.state === "running" ? c.pid : 0}\n    Command: ${r.spec ? r.spec.command.join(" ") : ""}\n`;
        return { stdout: text, code: state === "active" ? 0 : 3 };
    }
    return { stderr: `systemctl (simulated): unsupported "${verb} ${asGiven}"\n`, code: 1 };
}

// ---------------------------------------------------------------------------- docker (RKE-style layouts)
// <cfg.dockerDir>/<name>.json describes a container (image, command); the container keeps its
// id across restarts like docker's, each (re)start is a new process. Restart policy "always":
// a crashed one comes back after a back-off and counts in RestartCount. The "kubelet" container
// is this process itself: `docker restart kubelet` reloads its identity and serving pair.
/** @type {Map<string, any>} */
const dockerRecords = new Map();
const kubeletContainer = { dockerId: crypto.randomBytes(32).toString("hex"), createdAt: new Date().toISOString(), startedAt: new Date().toISOString() };

function reconcileDocker() {
    reconcileRecords(dockerRecords, cfg.dockerDir, "docker");
}

/** One docker view of a container (docker inspect's fields the scripts and tests read). */
function dockerView(name) {
    if (name === "kubelet" && readDescription(cfg.dockerDir, "kubelet")) {
        const spec = readDescription(cfg.dockerDir, "kubelet");
        const up = kubeletState === "active";
        return { Id: kubeletContainer.dockerId, Created: kubeletContainer.createdAt, Name: "/kubelet", RestartCount: 0, Image: spec.image,
            Path: spec.command[0], Args: spec.command.slice(1), State: { Status: up ? "running" : "exited", Running: up, Paused: false,
                Restarting: false, OOMKilled: false, Dead: false, Pid: up ? process.pid : 0, ExitCode: 0, Error: "",
                StartedAt: kubeletContainer.startedAt, FinishedAt: up ? "0001-01-01T00:00:00Z" : kubeletContainer.finishedAt || "" },
            Config: { Image: spec.image, Cmd: spec.command.slice(1), Entrypoint: [spec.command[0]], Labels: {} },
            HostConfig: { RestartPolicy: { Name: "always", MaximumRetryCount: 0 }, NetworkMode: "host", Privileged: true },
            LogPath: path.join(cfg.logDir, "..", "kubelet.log") };
    }
    const r = dockerRecords.get(name);
    if (!r || !r.spec && !readDescription(cfg.dockerDir, name)) return undefined;
    const spec = r.spec || readDescription(cfg.dockerDir, name);
    const c = r.current || r.lastContainer;
    const up = !!(r.current && r.current.state === "running");
    return { Id: r.dockerId, Created: r.createdAt, Name: `/${name}`, RestartCount: r.restartCount, Image: spec.image,
        Path: spec.command[0], Args: spec.command.slice(1),
        State: { Status: up ? "running" : r.desired ? "restarting" : "exited", Running: up, Paused: false, Restarting: !up && r.desired,
            OOMKilled: false, Dead: false, Pid: up ? c.pid : 0, ExitCode: c && !up ? c.exitCode || 0 : 0, Error: "",
            StartedAt: c ? c.startedAt : "0001-01-01T00:00:00Z", FinishedAt: c && c.finishedAt ? c.finishedAt : "0001-01-01T00:00:00Z" },
        Config: { Image: spec.image, Cmd: spec.command.slice(1), Entrypoint: [spec.command[0]], Labels: {} },
        HostConfig: { RestartPolicy: { Name: "always", MaximumRetryCount: 0 }, NetworkMode: "host", Privileged: true },
        LogPath: c ? c.logPath : "" };
}

function dockerNames() {
    reconcileDocker();
    return [...(readDescription(cfg.dockerDir, "kubelet") ? ["kubelet"] : []), ...describedNames(cfg.dockerDir)];
}

/** Finds containers by name or (a prefix of) id, like docker. */
function dockerFind(ref) {
    const clean = String(ref).replace(/^\//, "");
    for (const n of dockerNames()) {
        const v = dockerView(n);
        if (v && (n === clean || (clean.length >= 3 && v.Id.startsWith(clean)))) return { name: n, view: v };
    }
    return undefined;
}

/** Docker's --format: the {{.A.B}}, {{json .X}}, {{.X}} parts of a Go template, nothing more. */
function goTemplate(tpl, obj) {
    const unescaped = tpl.replace(/\\n/g, "\n").replace(/\\t/g, "\t");
    return unescaped.replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_m, json, p) => {
        let v = obj;
        for (const part of p.split(".").filter(Boolean)) v = v == null ? undefined : v[part];
        if (json) return JSON.stringify(v === undefined ? null : v);
        if (v === undefined || v === null) return "<no value>";
        if (typeof v === "object") return Array.isArray(v) ? `[${v.join(" ")}]` : `map[${Object.entries(v).map(([k, x]) => `${k}:${x}`).join(" ")}]`;
        return String(v);
    });
}

function dockerStatus(v) {
    if (v.State.Running) return `Up ${ago(v.State.StartedAt).replace(/ ago$/, "")}`;
    if (v.State.Restarting) return `Restarting (${v.State.ExitCode}) ${ago(v.State.FinishedAt)}`;
    return `Exited (${v.State.ExitCode}) ${ago(v.State.FinishedAt)}`;
}

async function docker(argv) {
    const { flags: g, rest } = parseArgs(argv, ["H", "host", "config", "context", "l", "log-level"]);
    if (g.version || g.v) return { stdout: "Docker version 20.10.24 (simulated)\n" };
    const sub = rest[0];
    if (!sub) return { stderr: "Usage:  docker [OPTIONS] COMMAND\n", code: 1 };
    const args = argv.slice(argv.indexOf(sub) + 1);
    if (sub === "version") return { stdout: "Client:\n Version: 20.10.24\nServer: Docker Engine (simulated)\n Version: 20.10.24\n" };
    if (sub === "info") return { stdout: `Containers: ${dockerNames().length}\nServer Version: 20.10.24\nLogging Driver: json-file\n` };
    if (sub === "ps" || (sub === "container" && (args[0] === "ls" || args[0] === "ps"))) {
        const { flags, rest: fr } = parseArgs(sub === "ps" ? args : args.slice(1), ["filter", "f", "format", "n", "last"]);
        const filters = [];
        const all = sub === "ps" ? args : args.slice(1);
        for (let i = 0; i < all.length; i++) {
            if (all[i] === "--filter" || all[i] === "-f") filters.push(all[++i]);
            else if (all[i].startsWith("--filter=")) filters.push(all[i].slice(9));
        }
        void fr;
        let list = dockerNames().map((n) => ({ n, v: dockerView(n) })).filter((x) => x.v);
        if (!(flags.a || flags.all)) list = list.filter((x) => x.v.State.Running);
        for (const f of filters) {
            const [k, ...vv] = String(f).split("=");
            const val = vv.join("=");
            if (k === "name") list = list.filter((x) => new RegExp(val).test(x.n) || new RegExp(val).test(`/${x.n}`));
            else if (k === "status") list = list.filter((x) => x.v.State.Status === val);
            else if (k === "id") list = list.filter((x) => x.v.Id.startsWith(val));
            else return { stderr: `Error response from daemon: invalid filter '${k}' (simulated docker)\n`, code: 1 };
        }
        const trunc = !(flags["no-trunc"]);
        const row = (x) => ({ ID: trunc ? x.v.Id.slice(0, 12) : x.v.Id, Names: x.n, Image: x.v.Image, Command: `"${[x.v.Path, ...x.v.Args].join(" ").slice(0, 20)}…"`,
            CreatedAt: x.v.Created, Status: dockerStatus(x.v), State: x.v.State.Status, Ports: "", RunningFor: ago(x.v.Created).replace(/ ago$/, "") });
        if (flags.q || flags.quiet) return { stdout: list.map((x) => row(x).ID + "\n").join("") };
        const fmt = flags.format;
        if (fmt && fmt !== "table") return { stdout: list.map((x) => (fmt === "{{json .}}" ? JSON.stringify(row(x)) : goTemplate(fmt, row(x))) + "\n").join("") };
        const rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]];
        for (const x of list) { const r = row(x); rows.push([r.ID, r.Image, r.Command, ago(r.CreatedAt), r.Status, "", r.Names]); }
        return { stdout: table(rows) };
    }
    if (sub === "inspect" || (sub === "container" && args[0] === "inspect")) {
        const { flags, rest: refs } = parseArgs(sub === "inspect" ? args : args.slice(1), ["f", "format", "type"]);
        if (!refs.length) return { stderr: "\"docker inspect\" requires at least 1 argument.\n", code: 1 };
        const found = [];
        let stderr = "";
        for (const ref of refs) {
            const x = dockerFind(ref);
            if (x) found.push(x.view);
            else stderr += `Error: No such object: ${ref}\n`;
        }
        const fmt = flags.f || flags.format;
        const stdout = fmt ? found.map((v) => goTemplate(fmt, v) + "\n").join("") : JSON.stringify(found, null, 4) + "\n";
        return { stdout, stderr, code: stderr ? 1 : 0 };
    }
    if (sub === "restart" || sub === "stop" || sub === "start") {
        const { flags, rest: refs } = parseArgs(args, ["t", "time", "s", "signal"]);
        if (!refs.length) return { stderr: `"docker ${sub}" requires at least 1 argument.\n`, code: 1 };
        const graceMs = flags.t || flags.time ? Number(flags.t || flags.time) * 1000 : 10_000;
        let stdout = "";
        let stderr = "";
        for (const ref of refs) {
            const x = dockerFind(ref);
            if (!x) { stderr += `Error response from daemon: No such container: ${ref}\n`; continue; }
            if (x.name === "kubelet") {
                // The kubelet container is this process: a restart re-reads its kubeconfig and serving pair.
                if (sub === "stop") {
                    kubeletState = "inactive";
                    stopServing();
                    kubeletContainer.finishedAt = new Date().toISOString();
                    recordEvent({ component: "kubelet", event: "stop", pid: process.pid });
                } else if (sub === "restart" || kubeletState !== "active") {
                    kubeletContainer.startedAt = new Date().toISOString();
                    loadKubeletIdentity("kubelet-restart");
                    loadServingPair("kubelet-restart");
                }
            } else {
                const r = dockerRecords.get(x.name);
                if (sub === "stop") {
                    r.desired = false;
                    if (r.current) await stopContainer(r.current, "docker-stop");
                } else if (sub === "restart" || !r.current) {
                    await restartRecord(r, cfg.dockerDir, `docker-${sub}`, graceMs);
                }
            }
            stdout += `${ref}\n`;
        }
        return { stdout, stderr, code: stderr ? 1 : 0 };
    }
    if (sub === "logs") {
        const { flags, rest: refs } = parseArgs(args, ["tail", "n", "since", "until"]);
        const x = refs[0] && dockerFind(refs[0]);
        if (!x) return { stderr: `Error response from daemon: No such container: ${refs[0] || ""}\n`, code: 1 };
        let text = "";
        try { text = fs.readFileSync(x.view.LogPath, "utf8"); } catch { /* no log yet */ }
        const tail = Number(flags.tail || flags.n || 0);
        if (tail > 0) text = text.split("\n").slice(-tail - 1).join("\n");
        return { stdout: text };
    }
    return { stderr: `docker (simulated): unsupported command "${argv.join(" ")}"\n`, code: 1 };
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
            res = req.cmd === "crictl" ? await crictl(req.args) : req.cmd === "systemctl" ? await systemctl(req.args)
                : req.cmd === "docker" ? await docker(req.args) : { stderr: "unknown\n", code: 2 };
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
    await Promise.all([...pods.values(), ...unitRecords.values(), ...dockerRecords.values()]
        .filter((p) => p.current).map((p) => stopContainer(p.current, "node-shutdown")));
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
    reconcileUnits();
    reconcileDocker();
});
const timer = setInterval(() => {
    try {
        reconcile();
        reconcileUnits();
        reconcileDocker();
    } catch (e) {
        log(`reconcile: ${e.stack}`);
    }
}, POLL_MS);
