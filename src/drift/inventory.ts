/**
 * Reads what is really on each node: one SSH session (or one local /bin/sh) per node runs
 * src/scripts/inventory.sh once; the printed records become typed `NodeInventory` results.
 * An unreachable node is a result, not a throw. No Pulumi here: the program and the CLI share it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LayoutSpec, NodeRole, NodeSpec } from "../spec";
import { filePath, INSTALLED_RECORD, LAST_INSTALL_NOTE, ROLLBACK_COUNTER, KUBECONFIG_FILE_KEYS, KUBELET_CLIENT_CURRENT, KUBELET_SERVING_FILE_KEYS, PKI_FILE_KEYS, pkiDirs, type FileKey } from "../pki/layout";
import { attributeIssuer, certificatesOf, kubeconfigCasOf, parseCertBundle, tryParseCert, type CertInfo } from "./cert-info";
import { KUBELET_CONFIG } from "../pki/kubelet-client";
import { componentAddress, componentInfo, COMPONENTS, runsOn, type Component } from "../pki/components";
import { runLocally } from "./local";
import { manifestInventoryArgs, type ManifestState } from "./manifests";
import { mapBounded } from "./pool";
import { pairKey, parseInventoryOutput, spkiPem, type RawInventory } from "./script-output";
import { runOverSsh, type RunResult } from "./ssh";

export type FileKind = "certificate" | "private-key" | "public-key" | "kubeconfig" | "kubelet-pem";

/** Key of the kubelet's rotated client certificate in inventories and reports. */
export const KUBELET_CLIENT_KEY = "kubelet-client-current";

export interface InventoryFile {
    /** Layout key ("apiserver.crt"), "kubelet-client-current", or undefined for a stray file. */
    key?: string;
    /** Absolute path on the node. */
    path: string;
    kind: FileKind;
    exists: boolean;
    /** Present but not readable (or a directory). */
    unreadable?: boolean;
    /** SHA-256 of the whole file (for keys: only this digest ever leaves the node). */
    sha256?: string;
    /** Octal permission bits, e.g. "600". */
    mode?: string;
    /** The (first) certificate: of a cert file, a kubelet .pem, or a kubeconfig's client cert. */
    cert?: CertInfo;
    /**
     * Every certificate of a certificate file, in file order (`bundle[0]` is `cert`): set only
     * when the file holds more than one (a CA bundle trusting two CAs during a rotation).
     * certificatesOf() (cert-info.ts) reads either form.
     */
    bundle?: CertInfo[];
    /** A certificate file that holds PEM text that does not parse. */
    parseError?: string;
    /** Does the private key belong to `cert`? Undefined when there is no key to compare. */
    keyMatches?: boolean;
    /** Kubeconfigs: server URL, embedded CA, and the client cert file when it is referenced. */
    kubeconfig?: {
        server?: string; ca?: CertInfo; clientCertFile?: string;
        /** Every certificate of certificate-authority-data when it holds more than one (`caBundle[0]` is `ca`). */
        caBundle?: CertInfo[];
    };
    /** kubelet-client-current: where the symlink points. */
    linkTarget?: string;
    /**
     * A public key file (sa.pub): every public key in it, file order, as SubjectPublicKeyInfo PEM
     * (a key that does not parse is left out). A private key file paired with one (sa.key): its
     * public half, in `publicKey`. What a service-account key rotation is judged by.
     */
    publicKeys?: string[];
    publicKey?: string;
}

export interface ServedCert {
    component: Component;
    host: string;
    port: number;
    /** The certificate file on disk the component should serve, when there is one. */
    diskPath?: string;
    cert?: CertInfo;
    /** Why nothing was read (nothing listening, handshake failed). */
    error?: string;
}

export interface NodeInventory {
    node: string;
    role: NodeRole;
    reachable: boolean;
    error?: string;
    /** The node's clock when the script ran. */
    nodeTime?: Date;
    /** Node clock minus ours, in seconds (positive: the node is ahead). */
    skewSeconds?: number;
    files: InventoryFile[];
    served: ServedCert[];
    /** What kube-pki's last install put on the node (path → sha256 hex), when it left a record. */
    installed?: Record<string, string>;
    /** How many times rotate.sh rolled this node back since kube-pki first installed there. */
    rollbacks?: number;
    /** The kubelet's config file (/var/lib/kubelet/config.yaml): is client certificate rotation on? */
    kubeletConfig?: { present: boolean; rotateCertificates?: boolean };
    /** The kit this program's commands call (src/node/kit.ts): there and intact, missing, or altered. */
    kit?: { id: string; state: "ok" | "missing" | "altered"; signature?: string };
    /** Masters with static pods: each manifest's and kube-pki's copy's sha256 (src/drift/manifests.ts). */
    manifests?: ManifestState;
}

export interface InventoryOptions {
    /** Also read the certificate each component serves (masters only). */
    checkServed?: boolean;
    connectTimeoutMs?: number;
    /** Upper bound for one node's whole run. */
    timeoutMs?: number;
    /** Our clock (tests inject one). */
    clock?: () => Date;
    /** Also report whether this kit id is on the node and intact. */
    kitId?: string;
    /**
     * The kubelet's serving pair is kube-pki's (kube-pki:kubelet.servingCertificate: managed): read
     * kubelet.crt/.key and, with checkServed, what :10250 serves. Otherwise they are the kubelet's own.
     */
    kubeletServing?: boolean;
    /** By node name: files the stack declares beyond the layout's (src/drift/wanted.ts declaredReads). */
    declared?: Readonly<Record<string, DeclaredReads>>;
}

/** Files a node holds outside the layout's paths (kube-pki:certificates), read as the layout's are. */
export interface DeclaredReads {
    readonly files: readonly string[];
    /** Certificate and private key paths: does the key still belong to the certificate? */
    readonly pairs: ReadonlyArray<readonly [string, string]>;
}

export interface ReadInventoriesOptions extends InventoryOptions {
    /** How many nodes are read at the same time (default 8). */
    concurrency?: number;
    onProgress?: (done: number, total: number, inventory: NodeInventory) => void;
}

const SCRIPT_PATH = path.join(__dirname, "..", "scripts", "inventory.sh");
let scriptText: string | undefined;
function inventoryScript(): string {
    return (scriptText ??= fs.readFileSync(SCRIPT_PATH, "utf8"));
}

const PAIRED_CERTS: ReadonlyArray<[FileKey, FileKey]> = [...PKI_FILE_KEYS, ...KUBELET_SERVING_FILE_KEYS]
    .filter((k) => k.endsWith(".crt"))
    .map((crt) => [crt, crt.replace(/\.crt$/, ".key") as FileKey]);

/**
 * Components whose served certificate is read, at the address the component table gives (the
 * same one rotate.sh verifies after a restart), with the file each one serves. A component that
 * self-signs in memory (controller-manager and scheduler without --tls-cert-file) is compared
 * with a file only when one exists.
 */
function servedTargets(node: NodeSpec, layout: LayoutSpec): Array<{ component: Component; host: string; port: number; diskPath?: string; clientCert?: string; clientKey?: string }> {
    return COMPONENTS.map((c) => ({
        component: c.name, ...componentAddress(c.name, node), diskPath: filePath(layout, c.servedCert, node),
        ...("client" in c ? { clientCert: filePath(layout, c.client.cert, node), clientKey: filePath(layout, c.client.key, node) } : {}),
    }));
}

/** The script's arguments for one node: every file the layout names, pairs, the kubelet link. */
export function inventoryArgs(node: NodeSpec, layout: LayoutSpec, checkServed: boolean, kitId?: string, kubeletServing = false, declared?: DeclaredReads): string[] {
    const args: string[] = [];
    if (node.transport === "local") args.push("--root", path.resolve(node.localRoot ?? "/"));
    const servingKeys = kubeletServing ? KUBELET_SERVING_FILE_KEYS : [];
    const p = (key: FileKey) => filePath(layout, key, node);
    // One --file per path: roles that share a file (same material) name it once.
    const files = [...new Set([...[...PKI_FILE_KEYS, ...KUBECONFIG_FILE_KEYS, ...servingKeys].map(p), ...(declared?.files ?? [])])];
    for (const f of files) args.push("--file", f);
    for (const [crt, key] of declared?.pairs ?? []) args.push("--pair", crt, key);
    for (const dir of pkiDirs(layout, node)) args.push("--scan", dir);
    for (const [crt, key] of PAIRED_CERTS) {
        if (kubeletServing || !(KUBELET_SERVING_FILE_KEYS as readonly string[]).includes(crt)) args.push("--pair", p(crt), p(key));
    }
    args.push("--pubpair", p("sa.key"), p("sa.pub"));
    args.push("--link", KUBELET_CLIENT_CURRENT, "--kubelet-config", KUBELET_CONFIG);
    args.push("--installed", INSTALLED_RECORD, "--last-install", LAST_INSTALL_NOTE, "--rollbacks", ROLLBACK_COUNTER);
    if (kitId) args.push("--kit", kitId);
    args.push(...manifestInventoryArgs(layout, node));
    // A local directory runs no components, so there is nothing served to read.
    if (checkServed && node.transport === "ssh") {
        for (const t of servedTargets(node, layout)) {
            // The kubelet's pair is read only when it is kube-pki's (managed mode).
            if (!runsOn(t.component, node.role) || (componentInfo(t.component).servedWhen === "kubelet-serving-managed" && !kubeletServing)) continue;
            args.push("--served", t.component, t.host, String(t.port), t.clientCert ?? "-", t.clientKey ?? "-");
        }
    }
    return args;
}

/** POSIX single-quoting for the one command line sent over SSH (paths only, never secrets). */
export function shellQuote(arg: string): string {
    return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * What a file is: from what the node found in it (inventory.sh's `holds`), so cfssl's
 * `*-key.pem` is a key and RKE's `kubecfg-*.yaml` a kubeconfig; by its name only when it
 * held nothing recognisable (or is absent).
 */
function kindOf(p: string, holds?: readonly string[]): FileKind {
    if (holds?.includes("kubeconfig")) return "kubeconfig";
    if (holds?.includes("certificate")) return holds.includes("private-key") ? "kubelet-pem" : "certificate";
    if (holds?.includes("private-key")) return "private-key";
    if (holds?.includes("public-key")) return "public-key";
    if (p.endsWith(".key")) return "private-key";
    if (p.endsWith(".pub")) return "public-key";
    if (p.endsWith(".conf")) return "kubeconfig";
    if (p.endsWith(".pem")) return "kubelet-pem";
    return "certificate";
}

function certFromBase64(b64: string | undefined): CertInfo | undefined {
    if (!b64) return undefined;
    return tryParseCert(Buffer.from(b64, "base64").toString("utf8"));
}

/** A kubeconfig's CA data: the first certificate and, when it holds several, all of them. */
function caDataOf(b64: string): { ca?: CertInfo; caBundle?: CertInfo[] } {
    const { certs } = parseCertBundle(Buffer.from(b64, "base64").toString("utf8"));
    // One certificate: parsed from the whole text as before (same `pem`).
    if (certs.length <= 1) return { ca: certFromBase64(b64) };
    return { ca: certs[0], caBundle: certs };
}


/** The self-signed CA certificates of a node's files, each with its file's path (every certificate of a bundle). */
function nodeCas(files: readonly InventoryFile[]): Array<{ path: string; cert: CertInfo }> {
    return files.flatMap((f) => certificatesOf(f).filter((c) => c.isCa && c.selfSigned).map((cert) => ({ path: f.path, cert })));
}

const toMatch = (v: string | undefined): boolean | undefined => (v === "yes" ? true : v === "no" || v === "error" ? false : undefined);

/** Turns parsed script records into inventory files, keyed back to layout keys. */
export function assembleFiles(raw: RawInventory, layout: LayoutSpec, node?: Pick<NodeSpec, "name" | "advertiseAddress">, declared?: DeclaredReads): InventoryFile[] {
    const filePathOf = (key: FileKey) => filePath(layout, key, node);
    const keyByPath = new Map<string, string>();
    // The first key of a shared path names it (catalogue order: a CA before its namesakes).
    for (const key of [...PKI_FILE_KEYS, ...KUBECONFIG_FILE_KEYS, ...KUBELET_SERVING_FILE_KEYS]) {
        if (!keyByPath.has(filePathOf(key))) keyByPath.set(filePathOf(key), key);
    }
    const linkTarget = raw.links.get(KUBELET_CLIENT_CURRENT);
    keyByPath.set(linkTarget ?? KUBELET_CLIENT_CURRENT, KUBELET_CLIENT_KEY);
    const keyFileOf = new Map<string, string>();
    for (const [crt, key] of PAIRED_CERTS) if (!keyFileOf.has(filePathOf(crt))) keyFileOf.set(filePathOf(crt), filePathOf(key));
    for (const [crt, key] of declared?.pairs ?? []) if (!keyFileOf.has(crt)) keyFileOf.set(crt, key);
    const saPub = filePathOf("sa.pub");
    keyFileOf.set(saPub, filePathOf("sa.key"));
    const saKey = filePathOf("sa.key");

    const files: InventoryFile[] = [];
    for (const rawFile of raw.files.values()) {
        // kubelet.conf references the link itself; the link's target is already reported.
        if (rawFile.path === KUBELET_CLIENT_CURRENT && linkTarget) continue;
        const kind = kindOf(rawFile.path, rawFile.holds);
        const file: InventoryFile = {
            key: keyByPath.get(rawFile.path), path: rawFile.path, kind, exists: rawFile.state !== "absent",
            ...(rawFile.state === "unreadable" ? { unreadable: true } : {}),
            ...(rawFile.sha256 ? { sha256: rawFile.sha256 } : {}),
            ...(rawFile.mode ? { mode: rawFile.mode } : {}),
        };
        if (file.key === KUBELET_CLIENT_KEY) file.linkTarget = linkTarget;
        if ((kind === "certificate" || kind === "kubelet-pem") && rawFile.state === "present") {
            file.cert = rawFile.pems[0] ? tryParseCert(rawFile.pems[0]) : undefined;
            if (!file.cert) file.parseError = rawFile.pems.length ? "PEM certificate does not parse" : "no PEM certificate in file";
            if (file.cert && rawFile.pems.length > 1) {
                const rest = rawFile.pems.slice(1).map((p) => tryParseCert(p));
                const bad = rest.findIndex((c) => !c);
                file.bundle = [file.cert, ...rest.filter((c): c is CertInfo => !!c)];
                if (bad >= 0) file.parseError = `PEM certificate ${bad + 2} of ${rawFile.pems.length} does not parse`;
            }
            const keyPath = kind === "kubelet-pem" ? rawFile.path : keyFileOf.get(rawFile.path);
            if (keyPath) file.keyMatches = toMatch(raw.pairs.get(pairKey(rawFile.path, keyPath)));
        }
        if (kind === "public-key" && keyFileOf.has(rawFile.path)) {
            file.keyMatches = toMatch(raw.pairs.get(pairKey(rawFile.path, keyFileOf.get(rawFile.path)!)));
            if (rawFile.state === "present") file.publicKeys = (raw.pubLists.get(rawFile.path) ?? []).flatMap((p) => spkiPem(p) ?? []);
        }
        if (kind === "private-key" && rawFile.state === "present" && rawFile.path === saKey) {
            const pub = spkiPem(raw.pubs.get(rawFile.path));
            if (pub) file.publicKey = pub;
        }
        if (kind === "kubeconfig" && rawFile.state === "present") {
            const kc = raw.kubeconfigs.get(rawFile.path) ?? {};
            const referenced = kc.clientFile ? raw.files.get(kc.clientFile)?.pems[0] : undefined;
            file.cert = kc.clientData ? certFromBase64(kc.clientData) : referenced ? tryParseCert(referenced) : undefined;
            if (!file.cert) file.parseError = "no client certificate in kubeconfig";
            file.keyMatches = toMatch(kc.keyMatch);
            file.kubeconfig = {
                ...(kc.server ? { server: kc.server } : {}),
                ...(kc.caData ? caDataOf(kc.caData) : {}),
                ...(kc.clientFile ? { clientCertFile: kc.clientFile } : {}),
            };
        }
        files.push(file);
    }
    // Attribute every certificate to the node's own CAs (self-signed CA certs found on it, any
    // certificate of a bundle: a leaf signed by a bundle's second CA is signed by that file).
    const cas = nodeCas(files);
    for (const f of files) {
        for (const cert of certificatesOf(f)) attributeIssuer(cert, cas);
        for (const cert of kubeconfigCasOf(f)) attributeIssuer(cert, cas);
    }
    // sa.key's public half is not read again where install.sh verified the pair: then it is sa.pub's first key.
    const saKeyFile = files.find((f) => f.path === saKey && f.exists);
    const saPubFile = files.find((f) => f.path === saPub);
    if (saKeyFile && !saKeyFile.publicKey && saPubFile?.keyMatches && saPubFile.publicKeys?.[0]) saKeyFile.publicKey = saPubFile.publicKeys[0];
    return files;
}

function assembleServed(raw: RawInventory, node: NodeSpec, layout: LayoutSpec, files: InventoryFile[]): ServedCert[] {
    const targets = servedTargets(node, layout);
    const cas = nodeCas(files);
    return raw.served.map((s) => {
        const target = targets.find((t) => t.component === s.name);
        const diskPath = target?.diskPath && files.some((f) => f.path === target.diskPath && f.exists) ? target.diskPath : undefined;
        const cert = s.pem ? tryParseCert(s.pem) : undefined;
        if (cert) attributeIssuer(cert, cas);
        return {
            component: s.name as ServedCert["component"], host: s.host, port: s.port,
            ...(diskPath ? { diskPath } : {}),
            ...(cert ? { cert } : { error: s.failure ?? "unparseable certificate" }),
        };
    });
}

async function runInventory(node: NodeSpec, args: string[], opts: Required<Pick<InventoryOptions, "connectTimeoutMs" | "timeoutMs">>): Promise<RunResult> {
    if (node.transport === "local") return runLocally(args, inventoryScript(), opts.timeoutMs);
    if (!node.ssh) throw new Error("transport ssh but no ssh settings");
    const command = ["/bin/sh", "-s", "--", ...args.map(shellQuote)].join(" ");
    return runOverSsh(node.ssh, command, inventoryScript(), opts);
}

/** Reads one node. Never throws for node-side problems: they become `reachable: false`. */
export async function readInventory(node: NodeSpec, layout: LayoutSpec, opts: InventoryOptions = {}): Promise<NodeInventory> {
    const clock = opts.clock ?? (() => new Date());
    const base = { node: node.name, role: node.role, files: [], served: [] };
    const started = clock().getTime();
    let result: RunResult;
    try {
        result = await runInventory(node, inventoryArgs(node, layout, opts.checkServed ?? false, opts.kitId, opts.kubeletServing, opts.declared?.[node.name]), {
            connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
            timeoutMs: opts.timeoutMs ?? 60_000,
        });
    } catch (err) {
        return { ...base, reachable: false, error: (err as Error).message };
    }
    const raw = parseInventoryOutput(result.stdout);
    if (!raw.complete || raw.now === undefined) {
        // Only our own script's first stderr line is shown; it never carries file content.
        const why = result.stderr.trim().split("\n")[0] || `exit code ${result.code}`;
        return { ...base, reachable: false, error: `inventory did not complete (${why})` };
    }
    // The node prints its clock as its last record; compare with the midpoint of our wait.
    const ourTime = (started + clock().getTime()) / 2;
    const nodeTime = new Date(raw.now * 1000);
    const files = assembleFiles(raw, layout, node, opts.declared?.[node.name]);
    return {
        ...base, reachable: true, nodeTime,
        skewSeconds: Math.round((nodeTime.getTime() - ourTime) / 1000),
        files,
        served: assembleServed(raw, node, layout, files),
        ...(raw.installed.size > 0 ? { installed: Object.fromEntries(raw.installed) } : {}),
        ...(raw.rollbacks > 0 ? { rollbacks: raw.rollbacks } : {}),
        ...(raw.kit ? { kit: raw.kit } : {}),
        ...(raw.kubeletConfig ? { kubeletConfig: raw.kubeletConfig } : {}),
        ...(raw.manifests ? { manifests: raw.manifests as ManifestState } : {}),
    };
}

/** Reads many nodes, at most `concurrency` at a time, in the order given. */
export function readInventories(nodes: readonly NodeSpec[], layout: LayoutSpec, opts: ReadInventoriesOptions = {}): Promise<NodeInventory[]> {
    let done = 0;
    return mapBounded(nodes, opts.concurrency ?? 8, async (node) => {
        const inventory = await readInventory(node, layout, opts);
        opts.onProgress?.(++done, nodes.length, inventory);
        return inventory;
    });
}
