/**
 * Which nodes `check` reads, and how: from a stack file (stacks/Pulumi.<name>.yaml, parsed by
 * src/config like the program does) or from --host/--local flags. Key files are read here and
 * held in memory only.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../config/errors";
import { parseClusterSpec, parseLayout } from "../config/parse";
import { declaredReads, wantedFromSpec } from "../drift/wanted";
import type { DeclaredReads } from "../drift/inventory";
import type { WantedFileSummary } from "../drift/report";
import { KUBEADM_LAYOUT } from "../pki/layout";
import type { LayoutSpec, NodeRole, NodeSpec } from "../spec";
import { CliError } from "./errors";
import { knownHostsName, pinFromKnownHosts } from "./known-hosts";

export interface CheckTargets {
    nodes: NodeSpec[];
    layout: LayoutSpec;
    checkServed: boolean;
    concurrency: number;
    /** From a stack: what each node should hold (by node name), so spec changes are judged too. */
    wanted?: Record<string, WantedFileSummary[]>;
    /** From a stack: files it declares outside the layout's paths (kube-pki:certificates), read too. */
    declared?: Record<string, DeclaredReads>;
    /** From a stack with kube-pki:kubelet.servingCertificate managed: the kubelet's serving pair is read too. */
    kubeletServing?: boolean;
}

export interface HostOptions {
    hosts: string[];
    /** Worker nodes read over SSH (--worker), whatever --role says for --host. */
    workers?: string[];
    locals: string[];
    sshKeyPath?: string;
    role: NodeRole;
    layoutDir: string;
    /** Take the layout (kube-pki:layout) of this stack file instead of kubeadm's under layoutDir. */
    layoutFrom?: { stack: string; stacksDir: string; cwd: string };
    checkServed: boolean;
    concurrency: number;
    /** An OpenSSH known_hosts file whose ed25519/ECDSA keys pin the hosts. */
    knownHostsPath?: string;
    /** Accept any host key on hosts the known_hosts file does not pin (the config's opt-out). */
    insecureIgnoreHostKeys?: boolean;
}

/** "user@host[:port]" (IPv6 as "[::1]:22"); the user defaults to root, the port to 22. */
export function parseHost(text: string): { user: string; host: string; port: number } {
    const m = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^:@\s\[\]]+)(?::(\d+))?$/.exec(text);
    if (!m) throw new CliError(`--host ${JSON.stringify(text)} is not user@host[:port]`);
    const port = m[3] ? Number(m[3]) : 22;
    if (port < 1 || port > 65535) throw new CliError(`--host ${JSON.stringify(text)}: port must be 1-65535`);
    return { user: m[1] ?? "root", host: m[2].replace(/^\[|\]$/g, ""), port };
}

function readFlagFile(flag: string, file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new CliError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
}

/** The same rule as the stack config: every SSH host is pinned, or the operator opts out loudly. */
function pinHosts(nodes: NodeSpec[], o: HostOptions): void {
    const knownHosts = o.knownHostsPath ? readFlagFile("--known-hosts", o.knownHostsPath) : undefined;
    const unpinned: string[] = [];
    for (const node of nodes) {
        if (!node.ssh) continue;
        const pin = knownHosts === undefined ? undefined : pinFromKnownHosts(knownHosts, node.ssh.host, node.ssh.port);
        if (pin) node.ssh.hostKey = pin;
        else if (o.insecureIgnoreHostKeys) node.ssh.insecureIgnoreHostKey = true;
        else unpinned.push(knownHostsName(node.ssh.host, node.ssh.port));
    }
    if (unpinned.length === 0) return;
    const where = knownHosts === undefined ? "no --known-hosts file was given" : `${o.knownHostsPath} has no ed25519 or ECDSA key for them (RSA is never used)`;
    const list = unpinned.map((h) => `--host ${h}`).join(" ");
    throw new CliError(`no SSH host key pinned for ${unpinned.join(", ")}: ${where}. ` +
        `Read the keys with \`kube-pki host-keys ${list} -o known-hosts > pins\`, compare their fingerprints with the nodes', ` +
        "and pass --known-hosts pins (or your ~/.ssh/known_hosts); or accept any host key with --insecure-ignore-host-keys");
}

export function targetsFromHosts(o: HostOptions): CheckTargets {
    const workers = o.workers ?? [];
    const sshHosts = [...o.hosts.map((h) => ({ h, role: o.role })), ...workers.map((h) => ({ h, role: "worker" as const }))];
    if (sshHosts.length === 0 && o.locals.length === 0) throw new CliError("give --stack <name>, or at least one --host user@ip[:port] (or --worker, --local <dir>)");
    if (sshHosts.length > 0 && !o.sshKeyPath) throw new CliError("--host/--worker need --ssh-key <path> (the private key to log in with)");
    const privateKey = sshHosts.length > 0 ? readFlagFile("--ssh-key", o.sshKeyPath!) : "";
    const nodes: NodeSpec[] = [
        ...sshHosts.map(({ h, role }): NodeSpec => {
            const { user, host, port } = parseHost(h);
            return { name: port === 22 ? host : `${host}:${port}`, role, advertiseAddress: host, transport: "ssh",
                ssh: { host, port, user, privateKey } };
        }),
        ...o.locals.map((dir): NodeSpec => ({ name: path.basename(path.resolve(dir)), role: o.role, advertiseAddress: "127.0.0.1",
            transport: "local", localRoot: path.resolve(dir) })),
    ];
    pinHosts(nodes, o);
    return { nodes, layout: o.layoutFrom ? layoutFromStack(o.layoutFrom) : { ...KUBEADM_LAYOUT, kubernetesDir: o.layoutDir }, checkServed: o.checkServed, concurrency: o.concurrency };
}

/** kube-pki:layout of a stack file alone (its nodes and SSH settings are not needed, nor read). */
function layoutFromStack(o: { stack: string; stacksDir: string; cwd: string }): LayoutSpec {
    const { file, raw } = readStackConfig(o);
    try {
        return parseLayout(raw.layout);
    } catch (err) {
        if (err instanceof ConfigError) throw stackConfigError(o.stack, file, err);
        throw err;
    }
}

export interface StackOptions {
    stack: string;
    stacksDir: string;
    sshKeyPath?: string;
    cwd: string;
}

/** A secret config value as a stack file holds it: encrypted, readable only by Pulumi. */
const isEncrypted = (v: unknown) => typeof v === "object" && v !== null && "secure" in v;

/** The kube-pki:* values of stacks/Pulumi.<stack>.yaml, without the namespace, as Pulumi would hand them over. */
export function readStackConfig(o: { stack: string; stacksDir: string; cwd: string }): { file: string; raw: Record<string, unknown> } {
    const file = path.resolve(o.cwd, o.stacksDir, `Pulumi.${o.stack}.yaml`);
    let doc: unknown;
    try {
        doc = parseYaml(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new CliError(`cannot read stack ${o.stack} from ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const config = ((doc as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith("kube-pki:")) raw[key.slice("kube-pki:".length)] = value;
    }
    return { file, raw };
}

/** A ConfigError of a stack file as the CLI reports it (exit 3). */
export function stackConfigError(stack: string, file: string, err: ConfigError): CliError {
    return new CliError(`stack ${stack} (${file}):\n${err.lines.map((l) => `  ${l}`).join("\n")}`);
}

export function targetsFromStack(o: StackOptions): CheckTargets & { renewBeforeDays: number } {
    const { file, raw } = readStackConfig(o);
    const ssh = { ...((raw.ssh as Record<string, unknown> | undefined) ?? {}) };
    if (isEncrypted(raw.sshPrivateKey)) {
        delete raw.sshPrivateKey;
        if (!o.sshKeyPath && !ssh.privateKeyPath) {
            throw new CliError(`kube-pki:sshPrivateKey in ${file} is encrypted and only Pulumi can decrypt it: pass --ssh-key <path> or set kube-pki:ssh.privateKeyPath`);
        }
    }
    if (o.sshKeyPath) {
        ssh.privateKeyPath = path.resolve(o.cwd, o.sshKeyPath);
        raw.ssh = ssh;
    }
    try {
        const spec = parseClusterSpec(raw, { readFile: (f) => fs.readFileSync(f, "utf8"), cwd: o.cwd, home: os.homedir(), stack: o.stack });
        return { nodes: spec.nodes, layout: spec.layout, checkServed: spec.drift.checkServed, concurrency: spec.drift.concurrency,
            renewBeforeDays: spec.validity.renewBeforeDays, wanted: wantedFromSpec(spec), declared: declaredReads(spec),
            kubeletServing: spec.kubelet.servingCertificate === "managed" };
    } catch (err) {
        if (err instanceof ConfigError) throw stackConfigError(o.stack, file, err);
        throw err;
    }
}
