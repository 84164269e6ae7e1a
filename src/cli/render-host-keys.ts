/**
 * What `kube-pki host-keys` prints: the stack's kube-pki:nodes section with each SSH node's
 * ssh.hostKey filled in (ready to paste), every offered key's `ssh-keygen -lf` fingerprint as a
 * comment, or known_hosts lines for `kube-pki check --known-hosts`.
 */
import { Document, isMap, isScalar, type YAMLMap, type YAMLSeq } from "yaml";
import { fingerprintLine, parseHostKey, pinText, sha256Fingerprint } from "../config/host-key";

export interface NodeHostKeys {
    /** Node name (stack) or host[:port] (--host). */
    name: string;
    host: string;
    port: number;
    /** The node's entry as the stack file has it (kept as is, apart from ssh.hostKey); undefined for --host. */
    entry?: Record<string, unknown>;
    /** Pinnable keys offered, most preferred first (empty when unreachable or when it offers only RSA). */
    keys: Buffer[];
    error?: string;
    /** Local-transport node: nothing to pin. */
    local?: boolean;
}

/** Why a node got no pin, or undefined when it did. */
export function noPinReason(n: NodeHostKeys): string | undefined {
    if (n.local) return undefined;
    if (n.error) return `UNREACHABLE (${n.error}): no host key read`;
    if (n.keys.length === 0) return "offers no ed25519 or ECDSA host key (RSA is never pinned): add one on the node with `ssh-keygen -A` and restart sshd";
    return undefined;
}

function pinnedBefore(entry: Record<string, unknown> | undefined): string | undefined {
    const ssh = entry?.ssh as Record<string, unknown> | undefined;
    return typeof ssh?.hostKey === "string" ? ssh.hostKey : undefined;
}

/** The comment block above one node: fingerprints, what changed, or why there is no pin. */
function nodeComment(n: NodeHostKeys): string {
    if (n.local) return ` ${n.name}: local transport, no SSH host key to pin`;
    const lines: string[] = [];
    const reason = noPinReason(n);
    if (reason) lines.push(` ${n.name} ${n.host}:${n.port}: ${reason}`);
    n.keys.forEach((blob, i) => lines.push(` ${i === 0 ? "pinned:" : "also offered:"} ${fingerprintLine(blob, n.name)}`));
    const before = pinnedBefore(n.entry);
    if (before && n.keys.length > 0) {
        const old = parseHostKey(before);
        const oldFp = "blob" in old ? sha256Fingerprint(old.blob) : "an unusable value";
        if (!("blob" in old) || !old.blob.equals(n.keys[0])) lines.push(` CHANGED: the stack pinned ${oldFp}; verify the new key with the node's admin before you paste it`);
    }
    return lines.join("\n");
}

function setPin(map: YAMLMap, blob: Buffer, doc: Document): void {
    let sshMap: unknown = map.get("ssh", true);
    if (!isMap(sshMap)) {
        sshMap = doc.createNode({});
        map.set("ssh", sshMap);
    }
    if (!isMap(sshMap)) return;
    sshMap.set("hostKey", doc.createNode(pinText(blob)));
    const scalar = sshMap.get("hostKey", true);
    if (isScalar(scalar)) scalar.type = "QUOTE_DOUBLE";
    sshMap.flow = true;
}

/** `kube-pki:nodes:` as YAML indented for the stack file's `config:` section, pins filled in. */
export function renderStackYaml(stack: string, file: string, nodes: readonly NodeHostKeys[]): string {
    const doc = new Document({ "kube-pki:nodes": nodes.map((n) => n.entry ?? { name: n.name }) });
    const seq = (doc.contents as YAMLMap).get("kube-pki:nodes", true) as unknown as YAMLSeq;
    nodes.forEach((n, i) => {
        const map = seq.items[i] as YAMLMap;
        if (n.keys.length > 0) setPin(map, n.keys[0], doc);
        const ssh: unknown = map.get("ssh", true);
        if (isMap(ssh)) ssh.flow = true;
        map.commentBefore = nodeComment(n);
    });
    const header = [
        `# SSH host keys of stack "${stack}", read from each node's sshd.`,
        `# Compare each fingerprint with the node's own (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`, on its console),`,
        `# then replace kube-pki:nodes in ${file} with this section (other node settings are kept).`,
    ];
    const body = doc.toString({ lineWidth: 0 }).trimEnd().split("\n").map((l) => `  ${l}`);
    return [...header, ...body].join("\n") + "\n";
}

/** One `ssh: { hostKey: … }` per --host target, with fingerprints. */
export function renderHostYaml(nodes: readonly NodeHostKeys[]): string {
    return nodes
        .map((n) => {
            const comment = nodeComment(n).split("\n").map((l) => `#${l}`);
            const pin = n.keys.length > 0 ? [`ssh: { hostKey: ${JSON.stringify(pinText(n.keys[0]))} }`] : [];
            return [`# ${n.name}`, ...comment, ...pin].join("\n");
        })
        .join("\n\n") + "\n";
}

/** OpenSSH known_hosts lines ("host key" or "[host]:port key") of every offered key, for `check --known-hosts`. */
export function renderKnownHosts(nodes: readonly NodeHostKeys[]): string {
    const lines: string[] = [];
    for (const n of nodes) {
        const host = n.port === 22 ? n.host : `[${n.host}]:${n.port}`;
        for (const blob of n.keys) lines.push(`${host} ${pinText(blob)}`);
    }
    return lines.length ? lines.join("\n") + "\n" : "";
}
