/**
 * One simulated node: a network namespace (own IP on the cluster bridge) plus a mount/UTS
 * namespace in which the node's host folders are bound over /etc/kubernetes, /var/lib/kubelet,
 * /var/lib/etcd, /var/lib/kube-pki and shims over /usr/local/sbin; its own sshd and fake kubelet.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { SIM_BINARIES } from "./prereq";
import { killMountNamespace, mountNamespaceOf, run, RunResult, waitFor } from "./proc";
import { clockEnv, SIM_ALT_SSH_USER, sshdConfig } from "./sshd-config";
import { sshExec, SshExecOptions, SshExecResult } from "./ssh-client";

/** Paths bind-mounted from the node's host folder (everything else is the shared host fs). */
export const NODE_MOUNTS = ["/etc/kubernetes", "/var/lib/kubelet", "/var/lib/etcd", "/var/lib/kube-pki"] as const;

export type SimComponent = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler";

/** Fault switches for one control-plane component (see fake-kubelet.js). */
export type ComponentFault =
    | { kind: "keep-old-cert" } // after a restart, keep serving the certificate served before
    | { kind: "never-return" } // the pod is not started again after removal/stop (until cleared)
    | { kind: "slow-return"; seconds: number }; // every (re)start is delayed by `seconds`

/**
 * Fault switch for a node's sshd: the next session (with `commandContaining`: the next whose
 * command contains that text) gets only `bytes` of stdin, then the connection dies.
 */
export type SshFault = { kind: "cut-ssh-after-bytes"; bytes: number; commandContaining?: string };

/** One line of `<node dir>/events.jsonl`. */
export interface SimEvent {
    ts: string;
    node: string;
    component: SimComponent | "kubelet" | "sshd";
    /** "serving": the kubelet (re)loaded /var/lib/kubelet/pki/kubelet.crt/.key for :10250 (`trigger`: start or kubelet-restart). */
    /** "client-auth": the kubelet's request to the apiserver with its client identity was answered (`code`) or gave up (`error`). */
    /** "restart": systemctl/docker restart (or start) of a hand-built unit / RKE container was asked for (`reason`). */
    event: "start" | "stop" | "exit" | "kubelet-restart" | "ssh-cut" | "serving" | "client-auth" | "restart";
    pid: number;
    /** SHA-256 (lowercase hex, no colons) of the certificate the component serves / uses. */
    certSha256?: string;
    containerId?: string;
    attempt?: number;
    code?: number;
    reason?: string;
    keptOldCert?: boolean;
    /** For components started with --kubeconfig: SHA-256 of that kubeconfig's client cert. */
    kubeconfigCertSha256?: string;
    trusted?: boolean;
    failed?: boolean;
    error?: string;
    bytes?: number;
    trigger?: string;
    /** Kubelet: where its client identity came from (kubelet-client-current.pem when rotating, else kubelet.conf) and its SHA-256. */
    clientSource?: string;
    clientCertSha256?: string;
}

export interface SimNodeInit {
    name: string;
    role: "master" | "worker";
    index: number;
    ip: string;
    netns: string;
    /** <run dir>/<name> */
    dir: string;
    clockOffsetSeconds: number;
    clientPrivateKey: string;
    clientPublicKey: string;
    nodeModules: string;
    kubernetesVersion: string;
    /** Every node of the cluster (the apiserver stand-in lists them as Nodes). */
    allNodes: Array<{ name: string; ip: string; role: string }>;
    /** Root's login shell in the node's /etc/passwd (default: the host's). */
    rootLoginShell?: string;
    /** "rke" nodes also get a `docker` shim (default "kubeadm"). */
    layout?: "kubeadm" | "handbuilt" | "rke";
}

const NODE_SCRIPTS = path.join(__dirname, "node");
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class SimNode {
    readonly name: string;
    readonly role: "master" | "worker";
    /** The node's address on the sim bridge; sshd listens on <ip>:22. */
    readonly ip: string;
    readonly netns: string;
    /** Host folder of this node (contains root/, sim/, events.jsonl). */
    readonly dir: string;
    readonly clockOffsetSeconds: number;
    /** The node's ed25519 SSH host key, OpenSSH one-line format ("ssh-ed25519 AAAA… host"). */
    hostPublicKey = "";
    /** PID of the process holding the node's namespaces (nsenter target). */
    holderPid = 0;
    private mountNs = "";
    private kubeletPid = 0;
    private readonly init: SimNodeInit;

    constructor(init: SimNodeInit) {
        this.init = init;
        this.name = init.name;
        this.role = init.role;
        this.ip = init.ip;
        this.netns = init.netns;
        this.dir = init.dir;
        this.clockOffsetSeconds = init.clockOffsetSeconds;
    }

    private get simDir() {
        return path.join(this.dir, "sim");
    }

    /** OpenSSH private key text of the cluster's root client key (for ssh2 / the code under test). */
    get clientPrivateKey(): string {
        return this.init.clientPrivateKey;
    }

    /** Host path of node path `p` (must be under one of NODE_MOUNTS), e.g. hostPath("/etc/kubernetes/pki/ca.crt"). */
    hostPath(p: string): string {
        const norm = path.posix.normalize(p);
        if (!NODE_MOUNTS.some((m) => norm === m || norm.startsWith(m + "/"))) {
            throw new Error(`${p} is not on a node-private mount (${NODE_MOUNTS.join(", ")})`);
        }
        return path.join(this.dir, "root", norm);
    }

    /** Like hostPath but follows symlinks the way the node would (absolute targets are node paths). */
    realHostPath(p: string): string {
        let nodePath = path.posix.normalize(p);
        for (let i = 0; i < 20; i++) {
            const host = this.hostPath(nodePath);
            let target: string;
            try {
                target = fs.readlinkSync(host);
            } catch {
                return host;
            }
            nodePath = path.posix.isAbsolute(target) ? target : path.posix.join(path.posix.dirname(nodePath), target);
        }
        throw new Error(`too many symlinks resolving ${p}`);
    }

    /** Every event the node recorded so far, oldest first. */
    events(): SimEvent[] {
        const file = path.join(this.dir, "events.jsonl");
        if (!fs.existsSync(file)) return [];
        return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as SimEvent);
    }

    /** Runs `cmd` with /bin/sh inside the node's namespaces (as root, node clock offset applied). */
    exec(cmd: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
        return run(SIM_BINARIES.nsenter, ["-t", String(this.holderPid), "-n", "-m", "-u", "--", "/bin/sh", "-c", cmd], {
            input: opts.input,
            timeoutMs: opts.timeoutMs ?? 60_000,
            check: false,
            env: { PATH: BASE_PATH, HOME: "/root", LANG: "C", ...clockEnv(this.clockOffsetSeconds) },
        });
    }

    /** Runs `cmd` over SSH as root (see sshExec). */
    ssh(cmd: string, stdin?: string | Buffer, opts?: SshExecOptions): Promise<SshExecResult> {
        return sshExec(this, cmd, stdin, opts);
    }

    /** Arms a fault for a component (replacing a fault of the same kind), or the SSH cut for the node. */
    setFault(component: SimComponent, fault: ComponentFault): void;
    setFault(component: "ssh", fault: SshFault): void;
    setFault(component: SimComponent | "ssh", fault: ComponentFault | SshFault): void {
        if (fault.kind === "cut-ssh-after-bytes") {
            if (component !== "ssh") throw new Error("cut-ssh-after-bytes is a node fault: setFault('ssh', …)");
            if (fault.commandContaining?.includes("\n")) throw new Error("commandContaining must be one line");
            writeAtomic(path.join(this.simDir, "cut-ssh-after-bytes"), `${Math.max(0, Math.floor(fault.bytes))}\n${fault.commandContaining ?? ""}\n`);
            return;
        }
        const all = this.readFaults();
        all[component] = [...(all[component] ?? []).filter((f) => f.kind !== fault.kind), fault];
        writeAtomic(path.join(this.simDir, "faults.json"), JSON.stringify(all));
    }

    /** Clears one kind of fault of a component, all its faults, or (no argument) every fault of the node. */
    clearFault(component?: SimComponent | "ssh", kind?: string): void {
        if (component === undefined || component === "ssh") fs.rmSync(path.join(this.simDir, "cut-ssh-after-bytes"), { force: true });
        if (component === "ssh") return;
        const all = component === undefined ? {} : this.readFaults();
        if (component !== undefined) all[component] = kind ? (all[component] ?? []).filter((f) => f.kind !== kind) : [];
        writeAtomic(path.join(this.simDir, "faults.json"), JSON.stringify(all));
    }

    /** Authorises one more client public key (OpenSSH one-line format) for every login of the node. */
    authorizeKey(publicKey: string): void {
        fs.appendFileSync(path.join(this.simDir, "authorized_keys"), `\n${publicKey.trim()}\n`);
    }

    private readFaults(): Record<string, ComponentFault[]> {
        try {
            return JSON.parse(fs.readFileSync(path.join(this.simDir, "faults.json"), "utf8"));
        } catch {
            return {};
        }
    }

    /** Creates the node's folders, host key, sshd config and shims (before namespaces exist). */
    async prepare(): Promise<void> {
        for (const m of NODE_MOUNTS) fs.mkdirSync(path.join(this.dir, "root", m), { recursive: true });
        fs.chmodSync(path.join(this.dir, "root/var/lib/etcd"), 0o700);
        fs.chmodSync(path.join(this.dir, "root/var/lib/kube-pki"), 0o700);
        for (const d of ["sbin", "cache", "logs"]) fs.mkdirSync(path.join(this.simDir, d), { recursive: true, mode: 0o700 });
        fs.chmodSync(this.simDir, 0o700);
        fs.writeFileSync(path.join(this.simDir, "node-name"), this.name);
        fs.writeFileSync(path.join(this.simDir, "faults.json"), "{}");
        const hostKey = path.join(this.simDir, "ssh_host_ed25519_key");
        await run(SIM_BINARIES.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", this.name, "-f", hostKey]);
        this.hostPublicKey = fs.readFileSync(`${hostKey}.pub`, "utf8").trim();
        fs.writeFileSync(path.join(this.simDir, "authorized_keys"), this.init.clientPublicKey, { mode: 0o600 });
        // Root's home is the node's own, seeded from /etc/skel as on a fresh node: the host's
        // /root/.bashrc (pyenv init here, seconds per SSH session under bash) is not the node's.
        const home = path.join(this.simDir, "home");
        fs.mkdirSync(home, { recursive: true, mode: 0o700 });
        for (const f of [".bashrc", ".profile"]) if (fs.existsSync(`/etc/skel/${f}`)) fs.copyFileSync(`/etc/skel/${f}`, path.join(home, f));
        const shell = this.init.rootLoginShell;
        const passwd = fs.readFileSync("/etc/passwd", "utf8").replace(/\n?$/, "\n")
            .replace(/^(root:[^:\n]*:0:0:[^:\n]*:)[^:\n]*:([^\n]*)$/m, (_line, head, hostShell) => `${head}${home}:${shell ?? hostShell}`);
        fs.writeFileSync(path.join(this.simDir, "passwd"), `${passwd}${SIM_ALT_SSH_USER}:x:0:0:second root login (sim):/root:/bin/sh\n`, { mode: 0o644 });
        fs.writeFileSync(path.join(this.simDir, "sshd_config"), sshdConfig({
            ip: this.ip, hostKeyPath: hostKey, authorizedKeysPath: path.join(this.simDir, "authorized_keys"),
            pidFile: path.join(this.simDir, "sshd.pid"), gateScript: path.join(NODE_SCRIPTS, "ssh-gate.sh"),
            simDir: this.simDir, clockOffsetSeconds: this.clockOffsetSeconds,
        }));
        const socket = path.join(this.simDir, "kubelet.sock");
        // Unit and container descriptions (hand-built / RKE seeds write them; empty on kubeadm nodes).
        for (const d of ["units", "docker"]) fs.mkdirSync(path.join(this.simDir, d), { recursive: true, mode: 0o700 });
        for (const tool of ["crictl", "systemctl", ...(this.init.layout === "rke" ? ["docker"] : [])]) {
            const shim = `#!/bin/sh\n# Simulator shim: ${tool} answered by the node's fake kubelet.\nexec ${process.execPath} ${path.join(NODE_SCRIPTS, "shim-client.js")} ${socket} ${tool} "$@"\n`;
            fs.writeFileSync(path.join(this.simDir, "sbin", tool), shim, { mode: 0o755 });
        }
        fs.writeFileSync(path.join(this.simDir, "kubelet.json"), JSON.stringify({
            node: this.name, ip: this.ip, eventsPath: path.join(this.dir, "events.jsonl"), socketPath: socket,
            faultsPath: path.join(this.simDir, "faults.json"), cacheDir: path.join(this.simDir, "cache"),
            logDir: path.join(this.simDir, "logs"), nodeModules: this.init.nodeModules, etcdBinary: SIM_BINARIES.etcd,
            kubernetesVersion: this.init.kubernetesVersion, nodes: this.init.allNodes,
            unitsDir: path.join(this.simDir, "units"), dockerDir: path.join(this.simDir, "docker"),
        }));
    }

    /** Enters the namespaces (network must exist), mounts, and starts sshd and the fake kubelet. */
    async start(): Promise<void> {
        const holder = spawn(SIM_BINARIES.nsenter, [`--net=/run/netns/${this.netns}`, "--", SIM_BINARIES.unshare, "--mount", "--uts",
            "--propagation", "private", "--", "/bin/sh", path.join(NODE_SCRIPTS, "node-init.sh"), this.dir, this.name], {
            detached: true, stdio: ["ignore", "pipe", "pipe"], env: { PATH: BASE_PATH },
        });
        this.holderPid = holder.pid ?? 0;
        await new Promise<void>((resolve, reject) => {
            let out = "";
            let err = "";
            const timer = setTimeout(() => reject(new Error(`${this.name}: namespace setup timed out: ${err}`)), 10_000);
            holder.stdout!.on("data", (d) => {
                out += d;
                if (out.includes("ready")) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            holder.stderr!.on("data", (d) => (err += d));
            holder.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`${this.name}: namespace setup failed (exit ${code}): ${err.trim()}`));
            });
        });
        holder.removeAllListeners("exit");
        holder.stdout!.destroy();
        holder.stderr!.destroy();
        holder.unref();
        this.mountNs = mountNamespaceOf(this.holderPid) ?? "";
        if (!this.mountNs || this.mountNs === mountNamespaceOf(process.pid)) {
            throw new Error(`${this.name}: holder ${this.holderPid} is not in a private mount namespace`);
        }
        this.spawnInNode("sshd", [SIM_BINARIES.sshd, "-D", "-e", "-f", path.join(this.simDir, "sshd_config")]);
        this.kubeletPid = this.spawnInNode("kubelet", [process.execPath, path.join(NODE_SCRIPTS, "fake-kubelet.js"), path.join(this.simDir, "kubelet.json")]);
        await waitFor(`${this.name} sshd on ${this.ip}:22`, () => tcpOpen(this.ip, 22), 10_000, 50);
        await waitFor(`${this.name} fake kubelet socket`, () => fs.existsSync(path.join(this.simDir, "kubelet.sock")), 10_000, 50);
    }

    /** Spawns a long-running process inside the node's namespaces, in its own process group, logging to sim/<name>.log. */
    private spawnInNode(logName: string, argv: string[]): number {
        const log = fs.openSync(path.join(this.simDir, `${logName}.log`), "a", 0o600);
        const child = spawn(SIM_BINARIES.nsenter, ["-t", String(this.holderPid), "-n", "-m", "-u", "--", ...argv], {
            detached: true, stdio: ["ignore", log, log], env: { PATH: BASE_PATH, HOME: "/root" },
        });
        fs.closeSync(log);
        child.unref();
        return child.pid ?? 0;
    }

    /** Stops the kubelet gracefully (it stops its pods), then kills whatever is left in the namespaces. */
    async stop(): Promise<void> {
        if (!this.holderPid) return;
        if (this.kubeletPid) {
            try {
                process.kill(this.kubeletPid, "SIGTERM");
                await waitFor(`${this.name} kubelet exit`, () => !fs.existsSync(`/proc/${this.kubeletPid}`), 8_000, 50).catch(() => undefined);
            } catch {
                /* already gone */
            }
        }
        if (this.mountNs) await killMountNamespace(this.mountNs, 2_000);
        this.holderPid = 0;
    }
}

function writeAtomic(file: string, content: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
}

/** True when a TCP connection to host:port succeeds within a second. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 1000 });
        const done = (ok: boolean) => {
            s.destroy();
            resolve(ok);
        };
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
        s.once("timeout", () => done(false));
    });
}
