/**
 * Raw `kube-pki:*` config values → a validated ClusterSpec, or one ConfigError listing every
 * problem. Pure apart from reading SSH key files through the injected `env`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { isIP } from "node:net";
import type { z } from "zod";
import { formatKubernetesVersion, parseKubernetesVersion } from "../pki/versions";
import type { AuthoritySourcesSpec, ClusterSpec, LayoutSpec, NodeSpec } from "../spec";
import { catalogFor, type CaId } from "../pki/catalog";
import { caAliases, pathConflicts, planCluster } from "../pki/plan";
import { layoutFileKeys } from "../pki/layout";
import { ipToBigInt } from "../pki/net";
import type { ConfigIssue, ConfigPath } from "./errors";
import { ConfigError, configKey, show } from "./errors";
import { certificateIssues, certificateSpecs } from "./certificates";
import { sentence } from "./fields";
import { DEFAULT_APISERVER_PORT, parseEndpoint, resolveUserPath } from "./names";
import type { ConfigKeyName, ParsedConfig } from "./schema";
import { CONFIG_KEY_NAMES, keySchemas } from "./schema";
import type { KeyFileReader } from "./ssh-key";
import { KeyFileCache, SET_SECRET_KEY_HINT, checkSecretKey } from "./ssh-key";
import { hostKeyIssue, unpinnedIssue } from "./host-key-rules";
import { type RotationFiles, rotationIssues, rotationSpecs } from "./rotation";

/** The `kube-pki:*` config values without the namespace, already JSON-parsed (as Pulumi's getObject returns them). */
export type RawConfig = Partial<Record<string, unknown>>;

/** What parsing needs from the outside world: key files, the project directory, $HOME, and the stack name for messages. */
export type ConfigEnv = KeyFileReader & { stack?: string };

export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_SSH_USER = "root";

export function processEnv(): ConfigEnv {
    return { readFile: (file) => fs.readFileSync(file, "utf8"), cwd: process.cwd(), home: os.homedir() };
}

/** Validates the raw config and builds the spec; throws ConfigError naming every problem. */
export function parseClusterSpec(raw: RawConfig, env: ConfigEnv = processEnv()): ClusterSpec {
    const issues: ConfigIssue[] = [];
    const input = withoutNulls(raw) as RawConfig;

    for (const key of Object.keys(input)) {
        if (!(CONFIG_KEY_NAMES as string[]).includes(key)) {
            issues.push({ key: configKey([key]), message: sentence("unknown key", `valid keys are ${CONFIG_KEY_NAMES.map((k) => configKey([k])).join(", ")}`) });
        }
    }

    const parsed: Partial<ParsedConfig> = {};
    for (const key of CONFIG_KEY_NAMES) {
        const result = keySchemas[key].safeParse(input[key]);
        if (result.success) (parsed as Record<ConfigKeyName, unknown>)[key] = result.data;
        else issues.push(...toIssues(key, result.error.issues));
    }

    checkTransportFields(input.nodes, issues);
    checkNodeSet(input.nodes, issues);
    checkAdoptFrom(input.nodes, parsed, issues);
    checkHostKeys(parsed, env, issues);
    const keys = resolvePrivateKeys(parsed, env, issues);
    const rotationFiles = rotationIssues(input, env, issues);

    if (issues.length > 0) throw new ConfigError(inKeyOrder(issues));
    const spec = buildSpec(parsed as ParsedConfig, keys, env, rotationFiles);
    // kube-pki:certificates against the rest (node names, the cluster's CAs, catalogue paths).
    const stackIssues = certificateIssues(spec);
    // The layout against the plan (omitted CAs, shared files, one path two contents); the plan
    // is built only from sound kube-pki:certificates.
    checkLayoutPlan(spec, issues, stackIssues.length === 0);
    checkOwners(spec, issues, stackIssues.length === 0);
    if (issues.length + stackIssues.length > 0) throw new ConfigError(inKeyOrder([...issues, ...stackIssues]));
    return spec;
}

/** Where each node's sshd is, without needing login keys or pins (for `kube-pki host-keys`, which fetches the pins). */
export interface SshEndpoint {
    index: number;
    name: string;
    transport: "ssh" | "local";
    host: string;
    port: number;
    user: string;
    hostKey?: string;
}

/** The nodes' SSH endpoints from kube-pki:nodes and kube-pki:ssh alone; throws ConfigError for problems in those keys. */
export function parseSshEndpoints(raw: RawConfig): SshEndpoint[] {
    const input = withoutNulls(raw) as RawConfig;
    const nodes = keySchemas.nodes.safeParse(input.nodes);
    const ssh = keySchemas.ssh.safeParse(input.ssh);
    const issues = [...(nodes.success ? [] : toIssues("nodes", nodes.error.issues)), ...(ssh.success ? [] : toIssues("ssh", ssh.error.issues))];
    if (!nodes.success || !ssh.success) throw new ConfigError(issues);
    return nodes.data.map((node, index) => ({
        index,
        name: node.name,
        transport: node.transport,
        host: node.ssh?.host ?? node.address,
        port: node.ssh?.port ?? ssh.data?.port ?? DEFAULT_SSH_PORT,
        user: node.ssh?.user ?? ssh.data?.user ?? DEFAULT_SSH_USER,
        ...(node.ssh?.hostKey !== undefined ? { hostKey: node.ssh.hostKey.trim() } : {}),
    }));
}

/** kube-pki:layout alone (for `check --layout-from`); throws ConfigError naming the key. */
export function parseLayout(raw: unknown): LayoutSpec {
    const result = keySchemas.layout.safeParse(withoutNulls(raw));
    if (!result.success) throw new ConfigError(toIssues("layout", result.error.issues));
    return layoutSpec(result.data);
}

function layoutSpec(layout: ParsedConfig["layout"]): LayoutSpec {
    return {
        kind: layout.kind, kubernetesDir: layout.kubernetesDir, paths: { ...layout.paths }, restart: layout.restart,
        componentServingCerts: layout.componentServingCerts,
        // Only when set, so kubeadm stacks' specs (and everything derived from them) stay as they were.
        ...(layout.omit.length > 0 ? { omit: [...layout.omit] } : {}),
        ...(Object.keys(layout.sameCertificate).length > 0 ? { sameCertificate: { ...layout.sameCertificate } } : {}),
        ...(layout.manifestsDir !== undefined ? { manifestsDir: layout.manifestsDir } : {}),
        ...(Object.keys(layout.components).length > 0 ? { components: structuredClone(layout.components) } : {}),
        ...(Object.keys(layout.owners).length > 0 ? { owners: { ...layout.owners } } : {}),
    };
}

/** The layout key that puts `key` where it is: its path override, else the layout's kind. */
function layoutKeyOf(spec: ClusterSpec, key: string): string {
    return spec.layout.paths[key] !== undefined ? configKey(["layout", "paths", key]) : `${configKey(["layout", "kind"])} (default path of ${show(key)})`;
}

/**
 * Checks of the layout that need the whole plan: omitted CAs still signing, roles served by a
 * certificate of another CA, and one path claimed by two different contents (which would
 * otherwise fail only at \`up\`, in the bundle).
 */
function checkLayoutPlan(spec: ClusterSpec, issues: ConfigIssue[], planIsSound: boolean): void {
    const entries = catalogFor(spec);
    const present = new Set<string>(entries.map((e) => e.id));
    const aliases = caAliases(spec);
    const signerOf = (id: CaId) => aliases.get(id) ?? id;
    const omitted = spec.layout.omit ?? [];
    omitted.forEach((id, index) => {
        const signs = entries.filter((e) => (e.kind === "leaf" && signerOf(e.signer) === id) || (e.kind === "kubeconfig" && id === "ca")).map((e) => e.id);
        if (signs.length === 0 || aliases.has(id as CaId)) return;
        issues.push({
            key: configKey(["layout", "omit", index]),
            message: sentence(`the CA ${show(id)} is omitted but signs ${signs.join(", ")}`, `omit those too, or keep ${show(id)}`),
        });
    });
    for (const [role, by] of Object.entries(spec.layout.sameCertificate ?? {})) {
        const at = configKey(["layout", "sameCertificate", role]);
        const roleEntry = entries.find((e) => e.id === role);
        const host = entries.find((e) => e.id === by);
        if (!roleEntry || !host) {
            issues.push({ key: at, message: sentence(`${show(present.has(role) ? by : role)} is not planned in this cluster (omitted, external etcd or not enabled)`, "remove this entry, or keep both certificates") });
            continue;
        }
        if (roleEntry.kind === "leaf" && host.kind === "leaf" && signerOf(roleEntry.signer) !== signerOf(host.signer)) {
            issues.push({
                key: at,
                message: sentence(`${show(role)} is signed by ${roleEntry.signer} but ${show(by)} by ${host.signer}`,
                    `one certificate has one issuer: set kube-pki:authorities.${roleEntry.signer === "etcd-ca" || host.signer === "etcd-ca" ? "etcdCa" : "frontProxyCa"} to "same-as-ca", or remove this entry`),
            });
        }
    }
    if (issues.length > 0 || !planIsSound) return;
    const seen = new Set<string>();
    const layoutKeys = new Set<string>(layoutFileKeys);
    // Conflicts with kube-pki:certificates files are reported by certificateIssues, under that key.
    for (const c of pathConflicts(spec).filter((x) => x.keys.every((k) => layoutKeys.has(k)))) {
        const id = c.keys.join("|");
        if (seen.has(id)) continue;
        seen.add(id);
        const named = c.keys.map((k) => layoutKeyOf(spec, k));
        issues.push({
            key: configKey(["layout", "paths", c.keys.find((k) => spec.layout.paths[k] !== undefined) ?? c.keys[0]]),
            message: sentence(
                `${c.path} (on ${c.node}) is claimed by ${named.join(" and ")}, which hold different contents`,
                'give each its own path; or, when one certificate really serves both roles, say so with kube-pki:layout.sameCertificate (e.g. { "apiserver-kubelet-client": "apiserver" }) or kube-pki:authorities.etcdCa: same-as-ca',
            ),
        });
    }
}

/**
 * kube-pki:layout.owners against the rest: a stack id must be a pushed kube-pki:certificates entry
 * (whose own owner it must not repeat), a file key a file this cluster gets, and one file serving
 * several roles gets one owner.
 */
function checkOwners(spec: ClusterSpec, issues: ConfigIssue[], planIsSound: boolean): void {
    const owners = spec.layout.owners ?? {};
    if (Object.keys(owners).length === 0) return;
    const fileKeys = new Set<string>(layoutFileKeys);
    const entries = spec.certificates ?? [];
    const at = (key: string) => configKey(["layout", "owners", key]);
    const ids = entries.filter((e) => !e.output).map((e) => e.id);
    for (const [key, owner] of Object.entries(owners)) {
        if (fileKeys.has(key)) continue;
        const index = entries.findIndex((e) => e.id === key);
        const entry = entries[index];
        if (!entry) {
            issues.push({ key: at(key), message: sentence(`${show(key)} is neither a file key nor the id of a kube-pki:certificates entry`,
                `use a file key (e.g. "etcd/server.key")${ids.length > 0 ? ` or one of ${ids.map((i) => show(i)).join(", ")}` : ""}`) });
        } else if (entry.output) {
            issues.push({ key: at(key), message: sentence(`${configKey(["certificates", index])} (${key}) is a stack output only, on no node`, "remove this owner") });
        } else if (entry.owner !== undefined) {
            issues.push({ key: at(key), message: sentence(`${configKey(["certificates", index, "owner"])} already sets the owner of ${show(key)}${entry.owner === owner ? "" : ` (${show(entry.owner)})`}`, "keep one of them") });
        }
    }
    // The plan is built only from a config with no other problem (it throws on a path conflict).
    if (issues.length > 0 || !planIsSound) return;
    const files = Object.values(planCluster(spec).nodes).flatMap((n) => n.files);
    for (const key of Object.keys(owners).filter((k) => fileKeys.has(k))) {
        if (files.some((f) => f.key === key || f.alsoKeys?.some((k) => k === key))) continue;
        issues.push({ key: at(key), message: sentence(`no node gets ${show(key)} in this cluster (omitted, external etcd, or an entry not enabled)`, "remove this owner, or name the file key of a file kube-pki writes") });
    }
    const reported = new Set<string>();
    for (const f of files) {
        const named = [f.key, ...(f.alsoKeys ?? [])].filter((k) => owners[k] !== undefined);
        if (new Set(named.map((k) => owners[k])).size < 2 || reported.has(named.join("|"))) continue;
        reported.add(named.join("|"));
        issues.push({ key: at(named[1]), message: sentence(`${f.path} is one file serving ${named.map((k) => show(k)).join(" and ")}, which name different owners (${named.map((k) => owners[k]).join(", ")})`, "give them the same owner, or one of them only") });
    }
}

/** Groups problems by top-level key (unknown keys first, then the order of keySchemas), keeping their order within a key. */
function inKeyOrder(issues: ConfigIssue[]): ConfigIssue[] {
    const rank = (issue: ConfigIssue) => (CONFIG_KEY_NAMES as string[]).indexOf(/^kube-pki:([A-Za-z]+)/.exec(issue.key)?.[1] ?? "");
    return issues
        .map((issue, order) => ({ issue, order }))
        .sort((a, b) => rank(a.issue) - rank(b.issue) || a.order - b.order)
        .map(({ issue }) => issue);
}

/** zod issues of one key → lines; an unknown-keys issue becomes one line per unknown key. */
function toIssues(key: ConfigKeyName, zodIssues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
    return zodIssues.flatMap((issue) => {
        const at: ConfigPath = [key, ...issue.path];
        if (issue.code === "unrecognized_keys") return issue.keys.map((unknown) => ({ key: configKey([...at, unknown]), message: issue.message }));
        return [{ key: configKey(at), message: issue.message }];
    });
}

// YAML leaves `key:` with no value as null; treat it as absent so defaults apply.
function withoutNulls(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
        Object.entries(value)
            .filter(([, v]) => v !== null)
            .map(([k, v]) => [k, withoutNulls(v)]),
    );
}

/** Name/role facts of the raw node list, readable even when some nodes have other problems. */
interface RawNodeFacts {
    index: number;
    name?: string;
    role?: string;
    transport?: unknown;
    hasSsh: boolean;
    hasLocalRoot: boolean;
}

function rawNodes(nodes: unknown): RawNodeFacts[] {
    if (!Array.isArray(nodes)) return [];
    return nodes.map((node, index) => {
        const n = (typeof node === "object" && node !== null ? node : {}) as Record<string, unknown>;
        return {
            index,
            name: typeof n.name === "string" ? n.name : undefined,
            role: typeof n.role === "string" ? n.role : undefined,
            transport: n.transport,
            hasSsh: n.ssh !== undefined,
            hasLocalRoot: n.localRoot !== undefined,
        };
    });
}

const LOCAL_ROOT_FIX = 'set the directory that stands in for the node\'s "/" (e.g. ".dev-node", relative to the project directory)';

/** Transport-specific fields: checked on the raw list so they show up next to a node's other problems. */
function checkTransportFields(nodes: unknown, issues: ConfigIssue[]): void {
    for (const node of rawNodes(nodes)) {
        const local = node.transport === "local";
        const ssh = node.transport === undefined || node.transport === "ssh";
        if (local && !node.hasLocalRoot) {
            issues.push({ key: configKey(["nodes", node.index, "localRoot"]), message: sentence('is required for transport "local"', LOCAL_ROOT_FIX) });
        }
        if (local && node.hasSsh) {
            issues.push({ key: configKey(["nodes", node.index, "ssh"]), message: sentence('is only used with transport "ssh"', "remove it, or set transport: ssh") });
        }
        if (ssh && node.hasLocalRoot) {
            issues.push({ key: configKey(["nodes", node.index, "localRoot"]), message: sentence('is only used with transport "local"', "remove it, or set transport: local") });
        }
    }
}

function checkNodeSet(nodes: unknown, issues: ConfigIssue[]): void {
    if (!Array.isArray(nodes)) return; // the schema already said what is wrong
    const firstIndex = new Map<string, number>();
    for (const { index, name } of rawNodes(nodes)) {
        if (name === undefined) continue;
        const earlier = firstIndex.get(name);
        if (earlier === undefined) {
            firstIndex.set(name, index);
            continue;
        }
        issues.push({
            key: configKey(["nodes", index, "name"]),
            message: sentence(
                `${show(name)} is already used by ${configKey(["nodes", earlier])}`,
                "give every node its own name (it becomes the CN of its etcd certificates and system:node:<name>)",
            ),
        });
    }
    // One address, one node: it is the node's SANs, its etcd peer URL and its {address-dashed} file names.
    const byAddress = new Map<string, number>();
    nodes.forEach((node, index) => {
        const address = (node as { address?: unknown } | null)?.address;
        if (typeof address !== "string" || isIP(address) === 0) return; // the schema says what is wrong
        const same = ipToBigInt(address).toString() + "/" + isIP(address);
        const earlier = byAddress.get(same);
        if (earlier === undefined) {
            byAddress.set(same, index);
            return;
        }
        issues.push({
            key: configKey(["nodes", index, "address"]),
            message: sentence(`${show(address)} is already the address of ${configKey(["nodes", earlier])}`,
                "give every node its own address (it goes into the node's certificates, its etcd peer URL and per-address file names)"),
        });
    });
    if (!rawNodes(nodes).some((n) => n.role === "master")) {
        issues.push({
            key: configKey(["nodes"]),
            message: sentence('no node has role "master"', 'mark the control-plane nodes with role: master (at least one is needed)'),
        });
    }
}

/** Every SSH node pins an ed25519/ECDSA host key, unless the stack opted out with kube-pki:ssh.insecureIgnoreHostKeys. */
function checkHostKeys(parsed: Partial<ParsedConfig>, env: ConfigEnv, issues: ConfigIssue[]): void {
    if (!parsed.nodes || !("ssh" in parsed)) return; // which rule applies is unknown until those parse
    const optedOut = parsed.ssh?.insecureIgnoreHostKeys ?? false;
    parsed.nodes.forEach((node, index) => {
        if (node.transport !== "ssh") return;
        const at: ConfigPath = ["nodes", index, "ssh", "hostKey"];
        const pin = node.ssh?.hostKey;
        const message = pin === undefined ? (optedOut ? undefined : unpinnedIssue(node.name, env.stack)) : hostKeyIssue(pin, node.name, env.stack);
        if (message) issues.push({ key: configKey(at), message });
    });
}

function checkAdoptFrom(nodes: unknown, parsed: Partial<ParsedConfig>, issues: ConfigIssue[]): void {
    const adoptFrom = parsed.authorities?.adoptFrom;
    if (adoptFrom === undefined || !Array.isArray(nodes)) return;
    const masters = rawNodes(nodes).filter((n) => n.role === "master" && n.name !== undefined).map((n) => n.name!);
    if (masters.includes(adoptFrom)) return;
    const node = rawNodes(nodes).find((n) => n.name === adoptFrom);
    const problem = node ? `${show(adoptFrom)} is a ${node.role ?? "node without a role"}, not a master` : `${show(adoptFrom)} is not a node`;
    const fix =
        masters.length > 0
            ? `name the master the existing CAs and sa key are read from (${masters.map((m) => show(m)).join(", ")}), or remove it to use the first master`
            : "name a master the existing CAs and sa key are read from";
    issues.push({ key: configKey(["authorities", "adoptFrom"]), message: sentence(problem, fix) });
}

/** The private key text of every SSH node, by node index; problems go to `issues`. */
function resolvePrivateKeys(parsed: Partial<ParsedConfig>, env: ConfigEnv, issues: ConfigIssue[]): Map<number, string> {
    const keys = new Map<number, string>();
    const nodes = parsed.nodes;
    // Without a usable node list or with a broken ssh/sshPrivateKey key, which key a node uses is unknown.
    if (!nodes || !("ssh" in parsed) || !("sshPrivateKey" in parsed)) return keys;
    const defaults = parsed.ssh;
    const secret = parsed.sshPrivateKey;
    if (secret !== undefined && defaults?.privateKeyPath !== undefined) {
        issues.push({
            key: configKey(["ssh", "privateKeyPath"]),
            message: sentence(`is set together with the secret ${configKey(["sshPrivateKey"])}`, "keep only one of them"),
        });
        return keys;
    }
    const files = new KeyFileCache(env, issues);
    let secretText: string | undefined | null = null; // null: not checked yet
    const missing: string[] = [];
    nodes.forEach((node, index) => {
        if (node.transport !== "ssh") return;
        let text: string | undefined;
        if (node.ssh?.privateKeyPath !== undefined) {
            text = files.read(node.ssh.privateKeyPath, ["nodes", index, "ssh", "privateKeyPath"]);
        } else if (secret !== undefined) {
            if (secretText === null) secretText = checkSecretKey(secret, issues);
            text = secretText;
        } else if (defaults?.privateKeyPath !== undefined) {
            text = files.read(defaults.privateKeyPath, ["ssh", "privateKeyPath"]);
        } else {
            missing.push(node.name);
        }
        if (text !== undefined) keys.set(index, text);
    });
    if (missing.length > 0) {
        const who = missing.length === 1 ? `node ${show(missing[0])} connects` : `nodes ${missing.map((m) => show(m)).join(", ")} connect`;
        issues.push({
            key: configKey(["sshPrivateKey"]),
            message: sentence(
                `${who} over SSH but no private key is configured`,
                `run ${SET_SECRET_KEY_HINT}, or set ${configKey(["ssh", "privateKeyPath"])} (or the node's ssh.privateKeyPath) to the key file`,
            ),
        });
    }
    return keys;
}

function buildSpec(config: ParsedConfig, privateKeys: Map<number, string>, env: ConfigEnv, rotationFiles: RotationFiles): ClusterSpec {
    const { cluster, validity, layout, authorities, rollout, drift, kubelet } = config;
    const nodes: NodeSpec[] = config.nodes.map((node, index) => {
        const spec: NodeSpec = { name: node.name, role: node.role, advertiseAddress: node.address, transport: node.transport };
        if (node.transport === "ssh") {
            spec.ssh = {
                host: node.ssh?.host ?? node.address,
                port: node.ssh?.port ?? config.ssh?.port ?? DEFAULT_SSH_PORT,
                user: node.ssh?.user ?? config.ssh?.user ?? DEFAULT_SSH_USER,
                privateKey: privateKeys.get(index)!,
                ...(node.ssh?.hostKey !== undefined ? { hostKey: node.ssh.hostKey.trim() } : { insecureIgnoreHostKey: true as const }),
            };
        } else {
            spec.localRoot = resolveUserPath(node.localRoot!, env);
        }
        return spec;
    });
    const firstMaster = nodes.find((n) => n.role === "master")!;
    const endpoint = cluster.controlPlaneEndpoint !== undefined ? parseEndpoint(cluster.controlPlaneEndpoint) : undefined;
    return {
        name: cluster.name,
        kubernetesVersion: formatKubernetesVersion(parseKubernetesVersion(cluster.kubernetesVersion)),
        // kubeadm's default when no endpoint is set: the (first) master's advertise address.
        controlPlaneEndpoint:
            endpoint && endpoint.ok ? { host: endpoint.host, port: endpoint.port } : { host: firstMaster.advertiseAddress, port: DEFAULT_APISERVER_PORT },
        serviceCidr: cluster.serviceCidr,
        dnsDomain: cluster.dnsDomain,
        apiServerCertSans: [...cluster.apiServerCertSans],
        etcd: { mode: cluster.etcd.mode, serverCertSans: [...cluster.etcd.serverCertSans], peerCertSans: [...cluster.etcd.peerCertSans] },
        nodes,
        keyAlgorithm: config.keyAlgorithm,
        validity: { ...validity, leafDaysOverrides: { ...validity.leafDaysOverrides } },
        layout: layoutSpec(layout),
        authorities: authoritiesSpec(authorities, firstMaster.name, rotationFiles),
        rollout: { ...rollout },
        drift: { ...drift },
        clusterObjects: { ...config.clusterObjects },
        kubelet: { ...kubelet },
        ...(config.certificates ? { certificates: certificateSpecs(config.certificates, nodes) } : {}),
    };
}

function authoritiesSpec(
    authorities: ParsedConfig["authorities"], firstMaster: string, rotationFiles: RotationFiles,
): AuthoritySourcesSpec {
    const { rotate, ...sources } = authorities;
    // rotate and serviceAccountRotation only when asked for, so specs (and everything derived from
    // them) without a rotation stay as they were.
    return { ...sources, adoptFrom: authorities.adoptFrom ?? firstMaster, ...rotationSpecs(rotate, rotationFiles) };
}
