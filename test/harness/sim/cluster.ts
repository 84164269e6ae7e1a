/**
 * SimCluster: N simulated kubeadm nodes on this machine (see DESIGN §5/§7). Start with
 * `SimCluster.start(opts)`, always `stop()` (e.g. in afterAll). Several clusters may run one
 * after another or at the same time (each gets its own subnet slot 10.213.X.0/24).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { seedHandbuilt } from "./handbuilt-seed";
import { SeedAuthorities, seedCluster } from "./kubeadm-seed";
import type { LayoutSeed, SimLayout } from "./layout-seed-common";
import { seedRke } from "./rke-seed";
import { keepClusterCopy } from "./keep";
import { addNodeNetwork, claimSlot, nodeIp, recordSlotDir, releaseSlot, Slot } from "./net";
import { SeedKeyType } from "./openssl-issue";
import { SIM_BINARIES, simPrerequisites } from "./prereq";
import { run, RunResult, waitFor } from "./proc";
import { NODE_MOUNTS, SimNode, tcpOpen } from "./node";

export interface SimNodeOptions {
    name: string;
    role: "master" | "worker";
    /** false = an empty node (no kubeadm tree, no manifests). Default true. */
    seed?: boolean;
    /** Shift of this node's clock as seen by SSH sessions and node.exec (seconds, may be negative). */
    clockOffsetSeconds?: number;
}

export interface SimClusterOptions {
    /** Explicit nodes; default `masters` masters (master-1…) and `workers` workers (worker-1…). */
    nodes?: SimNodeOptions[];
    masters?: number;
    workers?: number;
    /** Default "1.30.0". ≤1.28 seeds system:masters subjects and no super-admin.conf. */
    kubernetesVersion?: string;
    /** Default "kubernetes". */
    clusterName?: string;
    /** host:port; default "<first master IP>:6443". */
    controlPlaneEndpoint?: string;
    /** Seeded leaf certs expire in this many days (default 10; negative = already expired). */
    leafExpiresInDays?: number;
    /** Seed key type (default "rsa-2048" like kubeadm; "ecdsa-p256" is much faster to seed). */
    keyType?: SeedKeyType;
    /** Give controller-manager/scheduler --tls-cert-file flags and files (default true). */
    componentServingCerts?: boolean;
    /** Wait until etcd, apiserver, controller-manager and scheduler serve on every seeded master (default true). */
    waitForControlPlane?: boolean;
    /** Parent of the run folder (default /tmp/kube-pki-sim). */
    rootDir?: string;
    /**
     * Login shell of root on the nodes (default: the host's). Root's home is node-private, seeded
     * from /etc/skel (the host's ~/.bashrc, with pyenv init here, is not sourced per SSH session).
     */
    rootLoginShell?: string;
    /**
     * How the nodes were made (default "kubeadm"): "handbuilt" (one CA, cfssl names under
     * /etc/kubernetes/ssl, systemd units, expired rotated kubelet client certificates; see
     * handbuilt-seed.ts) or "rke" (RKE names, docker containers, every leaf expired; see
     * rke-seed.ts). leafExpiresInDays and componentServingCerts apply to kubeadm only.
     */
    layout?: SimLayout;
}

const STARTUP_TIMEOUT_MS = 90_000;

export class SimCluster {
    readonly nodes: SimNode[];
    /** The run folder: <rootDir>/<run id>. */
    readonly dir: string;
    /** The shared root client key (OpenSSH private key text) authorised on every node. */
    readonly clientPrivateKey: string;
    readonly clientPrivateKeyPath: string;
    /** Seeded shared CA material (host paths): ca, frontProxyCa, etcdCa, sa. */
    readonly authorities: SeedAuthorities;
    readonly kubernetesVersion: string;
    readonly clusterName: string;
    readonly controlPlaneEndpoint: string;
    readonly layout: SimLayout;
    /** Node paths of an etcd client identity of the layout (used by etcdctl()). */
    readonly etcdClient: { ca: string; cert: string; key: string };
    /** Host path of an admin kubeconfig (kubeadm: the first master's admin.conf). */
    readonly adminKubeconfig: string;
    private slot: Slot | undefined;
    private stopped = false;

    private constructor(f: { nodes: SimNode[]; dir: string; key: string; keyPath: string; authorities: SeedAuthorities;
        version: string; clusterName: string; cpe: string; slot: Slot; layout: SimLayout; seed?: LayoutSeed }) {
        this.nodes = f.nodes;
        this.dir = f.dir;
        this.clientPrivateKey = f.key;
        this.clientPrivateKeyPath = f.keyPath;
        this.authorities = f.authorities;
        this.kubernetesVersion = f.version;
        this.clusterName = f.clusterName;
        this.controlPlaneEndpoint = f.cpe;
        this.slot = f.slot;
        this.layout = f.layout;
        this.etcdClient = f.seed?.etcdClient ?? { ca: "/etc/kubernetes/pki/etcd/ca.crt",
            cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt", key: "/etc/kubernetes/pki/etcd/healthcheck-client.key" };
        this.adminKubeconfig = f.seed?.adminKubeconfig ?? (this.masters[0]?.hostPath("/etc/kubernetes/admin.conf") ?? "");
    }

    get masters(): SimNode[] {
        return this.nodes.filter((n) => n.role === "master");
    }
    get workers(): SimNode[] {
        return this.nodes.filter((n) => n.role === "worker");
    }
    node(name: string): SimNode {
        const n = this.nodes.find((x) => x.name === name);
        if (!n) throw new Error(`no node ${name} (have ${this.nodes.map((x) => x.name).join(", ")})`);
        return n;
    }

    /** Starts a cluster; throws (after cleaning up) with what is missing when it cannot. */
    static async start(opts: SimClusterOptions = {}): Promise<SimCluster> {
        const pre = simPrerequisites();
        if (!pre.ok) throw new Error(pre.reason);
        const specs: SimNodeOptions[] = opts.nodes ?? [
            ...Array.from({ length: opts.masters ?? 1 }, (_, i) => ({ name: `master-${i + 1}`, role: "master" as const })),
            ...Array.from({ length: opts.workers ?? 0 }, (_, i) => ({ name: `worker-${i + 1}`, role: "worker" as const })),
        ];
        if (new Set(specs.map((s) => s.name)).size !== specs.length) throw new Error("node names must be unique");
        for (const s of specs) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s.name)) throw new Error(`bad node name "${s.name}"`);

        const slot = await claimSlot();
        const nodes: SimNode[] = [];
        try {
            const dir = path.join(opts.rootDir ?? "/tmp/kube-pki-sim", `${slot.index}-${Date.now().toString(36)}`);
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            recordSlotDir(slot, dir);
            const keyPath = path.join(dir, "client_ed25519");
            await run(SIM_BINARIES.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "kube-pki-sim-client", "-f", keyPath]);
            const key = fs.readFileSync(keyPath, "utf8");
            const pub = fs.readFileSync(`${keyPath}.pub`, "utf8");
            const version = opts.kubernetesVersion ?? "1.30.0";
            const ips = specs.map((_, i) => nodeIp(slot, i));
            const firstMaster = specs.findIndex((s) => s.role === "master");
            const cpe = opts.controlPlaneEndpoint ?? `${ips[Math.max(0, firstMaster)]}:6443`;
            const nodeModules = path.resolve(path.dirname(require.resolve("yaml/package.json")), "..");
            const allNodes = specs.map((s, i) => ({ name: s.name, ip: ips[i], role: s.role }));
            specs.forEach((s, i) => nodes.push(new SimNode({
                name: s.name, role: s.role, index: i, ip: ips[i], netns: `kpsim-${slot.index}-${i}`, dir: path.join(dir, s.name),
                clockOffsetSeconds: s.clockOffsetSeconds ?? 0, clientPrivateKey: key, clientPublicKey: pub, nodeModules,
                kubernetesVersion: version, allNodes, rootLoginShell: opts.rootLoginShell, layout: opts.layout ?? "kubeadm",
            })));
            await Promise.all(nodes.map((n) => n.prepare()));
            const clusterName = opts.clusterName ?? "kubernetes";
            const layout = opts.layout ?? "kubeadm";
            let seed: LayoutSeed | undefined;
            let authorities: SeedAuthorities;
            if (layout === "kubeadm") {
                authorities = await seedCluster({
                    dir, kubernetesVersion: version, clusterName, controlPlaneEndpoint: cpe,
                    leafExpiresInDays: opts.leafExpiresInDays ?? 10, keyType: opts.keyType ?? "rsa-2048",
                    componentServingCerts: opts.componentServingCerts ?? true,
                    nodes: specs.map((s, i) => ({ name: s.name, role: s.role, ip: ips[i], hostRoot: path.join(nodes[i].dir, "root"), seed: s.seed ?? true })),
                });
            } else {
                const seedLayout = layout === "handbuilt" ? seedHandbuilt : seedRke;
                seed = await seedLayout({
                    dir, kubernetesVersion: version, clusterName, controlPlaneEndpoint: cpe, keyType: opts.keyType ?? "rsa-2048",
                    nodes: specs.map((s, i) => ({ name: s.name, role: s.role, ip: ips[i], hostRoot: path.join(nodes[i].dir, "root"),
                        simDir: path.join(nodes[i].dir, "sim") })).filter((_, i) => specs[i].seed ?? true),
                });
                authorities = seed.authorities;
            }
            // Bind-mount targets must exist in the root namespace; sshd needs its privsep dir.
            for (const m of [...NODE_MOUNTS, "/usr/local/sbin", "/run/sshd"]) fs.mkdirSync(m, { recursive: true });
            for (const n of nodes) await addNodeNetwork(slot, nodes.indexOf(n));
            const cluster = new SimCluster({ nodes, dir, key, keyPath, authorities, version, clusterName, cpe, slot, layout, seed });
            try {
                await Promise.all(nodes.map((n) => n.start()));
                // RKE seeds expired leaves: etcd runs but nothing trusts it, so only its port is awaited.
                if (opts.waitForControlPlane ?? true) await (layout === "rke" ? cluster.waitForEtcdPorts(STARTUP_TIMEOUT_MS) : cluster.waitForControlPlane(STARTUP_TIMEOUT_MS));
            } catch (e) {
                await cluster.stop().catch(() => undefined);
                throw e;
            }
            return cluster;
        } catch (e) {
            await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
            await releaseSlot(slot).catch(() => undefined);
            throw e;
        }
    }

    /** Waits until every seeded master's etcd is healthy (etcdctl) and its stand-ins serve. */
    async waitForControlPlane(timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
        if (this.layout !== "kubeadm") return this.waitForLayoutControlPlane(timeoutMs);
        const masters = this.masters.filter((m) => fs.existsSync(m.hostPath("/etc/kubernetes/manifests/etcd.yaml")));
        if (masters.length === 0) return;
        await waitFor("etcd cluster health", async () => (await this.etcdctl(["endpoint", "health", "--cluster"], masters[0])).code === 0, timeoutMs, 250);
        await Promise.all(masters.map((m) => waitFor(`${m.name} kube-apiserver :6443`, () => tcpOpen(m.ip, 6443), timeoutMs, 100)));
        // controller-manager/scheduler bind 127.0.0.1 (kubeadm's --bind-address): probe from inside the node.
        const probe = `${process.execPath} -e 'let n=0;for(const p of [10257,10259])require("net").connect(p,"127.0.0.1")` +
            `.on("connect",function(){this.destroy();if(++n===2)process.exit(0)}).on("error",()=>process.exit(1))'`;
        await Promise.all(masters.map((m) => waitFor(`${m.name} controller-manager :10257 and scheduler :10259`,
            async () => (await m.exec(probe, { timeoutMs: 5000 })).code === 0, timeoutMs, 200)));
    }

    /** Masters of a seeded hand-built/RKE cluster (they have an etcd unit or container). */
    private layoutMasters(): SimNode[] {
        const kind = this.layout === "rke" ? "docker" : "units";
        return this.masters.filter((m) => fs.existsSync(path.join(m.dir, "sim", kind, "etcd.json")));
    }

    /** Waits until every seeded master's etcd accepts TCP on :2379 (its certificates may be expired). */
    async waitForEtcdPorts(timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
        await Promise.all(this.layoutMasters().map((m) => waitFor(`${m.name} etcd :2379`, () => tcpOpen(m.ip, 2379), timeoutMs, 100)));
    }

    /**
     * Hand-built / RKE: etcd healthy (etcdctl with the layout's client), every apiserver on :6443,
     * and every unit / container the node describes running (systemctl is-active / docker inspect).
     */
    private async waitForLayoutControlPlane(timeoutMs: number): Promise<void> {
        const masters = this.layoutMasters();
        if (masters.length === 0) return;
        await waitFor("etcd cluster health", async () => (await this.etcdctl(["endpoint", "health", "--cluster"], masters[0])).code === 0, timeoutMs, 250);
        await Promise.all(masters.map((m) => waitFor(`${m.name} kube-apiserver :6443`, () => tcpOpen(m.ip, 6443), timeoutMs, 100)));
        await Promise.all(this.nodes.map((n) => waitFor(`${n.name}: every ${this.layout === "rke" ? "container" : "unit"} running`, async () => {
            const kind = this.layout === "rke" ? "docker" : "units";
            const dir = path.join(n.dir, "sim", kind);
            const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)) : [];
            if (names.length === 0) return true;
            const probe = kind === "docker" ? `docker inspect -f '{{.State.Running}}' ${names.join(" ")} | grep -vx true | wc -l`
                : `{ ${names.map((u) => `systemctl is-active --quiet ${u} || echo ${u};`).join(" ")} } | wc -l`;
            const r = await n.exec(probe, { timeoutMs: 20_000 });
            return r.code === 0 && r.stdout.trim() === "0";
        }, timeoutMs, 300)));
    }

    /**
     * Runs etcdctl from the host against `target` (default: first master) with that master's
     * etcd client of the layout (kubeadm: the seeded healthcheck-client cert), read from its current files.
     */
    etcdctl(args: string[], target: SimNode = this.masters[0]): Promise<RunResult> {
        return run(SIM_BINARIES.etcdctl, [
            `--endpoints=https://${target.ip}:2379`,
            `--cacert=${target.hostPath(this.etcdClient.ca)}`,
            `--cert=${target.hostPath(this.etcdClient.cert)}`,
            `--key=${target.hostPath(this.etcdClient.key)}`,
            "--dial-timeout=3s", "--command-timeout=5s", ...args,
        ], { check: false, timeoutMs: 20_000, env: { PATH: "/usr/bin:/bin", ETCDCTL_API: "3" } });
    }

    /**
     * Runs kubectl (tools.ts findKubectl: never gcloud's dispatcher) with a kubeconfig from the host,
     * a fresh HOME, and optionally a server override (e.g. a node IP instead of the endpoint).
     */
    async kubectl(kubeconfigHostPath: string, args: string[], opts: { server?: string } = {}): Promise<RunResult> {
        const home = fs.mkdtempSync(path.join(this.dir, "kubectl-home-"));
        try {
            return await run(SIM_BINARIES.kubectl, [`--kubeconfig=${kubeconfigHostPath}`, "--request-timeout=10s",
                ...(opts.server ? [`--server=${opts.server}`] : []), ...args], {
                check: false, timeoutMs: 30_000, env: { PATH: "/usr/bin:/bin", HOME: home },
            });
        } finally {
            fs.rmSync(home, { recursive: true, force: true });
        }
    }

    /** Stops every node, removes namespaces/links/bridge and the run folder (a copy kept under $KUBE_PKI_SIM_KEEP/<run id>, see keep.ts). */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        const errors: unknown[] = [];
        await Promise.all(this.nodes.map((n) => n.stop().catch((e) => errors.push(e))));
        const keep = process.env.KUBE_PKI_SIM_KEEP;
        if (keep) {
            // A failed copy must not skip the teardown below.
            try {
                console.warn(`[sim] kept ${keepClusterCopy(keep, path.basename(this.dir), this.nodes)}`);
            } catch (e) {
                errors.push(e);
            }
        }
        if (this.slot) await releaseSlot(this.slot).catch((e) => errors.push(e));
        this.slot = undefined;
        fs.rmSync(this.dir, { recursive: true, force: true });
        if (errors.length) throw new Error(`SimCluster.stop: ${errors.map(String).join("; ")}`);
    }
}
