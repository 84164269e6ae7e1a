/**
 * A wiped master with no kube-pki copy of its manifests: derive them from a healthy master's, with
 * that master's node name and advertise address replaced by this one's, only where that is
 * unambiguous. The text is read at program time, only in that case, by one kit-free SSH session
 * (or local /bin/sh) to one source master. The derivation itself is pure.
 */
import { createHash } from "node:crypto";
import { runLocally } from "./local";
import { runOverSsh, type RunResult } from "./ssh";
import type { ManifestComponent, NodeManifests } from "./manifests";
import type { NodeSpec } from "../spec";

export interface MasterIdentity {
    readonly name: string;
    readonly address: string;
}

export type Derivation =
    | { readonly text: string; readonly substituted: boolean }
    | { readonly refused: string };

/** Frames each derived manifest on the restore step's stdin (src/scripts/manifests.sh --derived). */
export const DERIVED_HEADER = "#kube-pki-manifest ";

/** Names that are also words of every manifest: replacing them would rewrite images and flags. */
const MANIFEST_WORDS = /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubernetes|kube-system|control-plane|localhost|pod|v1)$/;

function escape(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whole-token matches: master-1 not inside master-10, 10.0.0.1 not inside 10.0.0.11, fd00::1 not inside fd00::10. */
function tokenPattern(value: string): RegExp {
    const v = escape(value);
    if (value.includes(":")) return new RegExp(`(?<![0-9A-Za-z:.])${v}(?![0-9A-Za-z:.])`, "g");
    if (/^[0-9.]+$/.test(value)) return new RegExp(`(?<![0-9A-Za-z.])${v}(?![0-9A-Za-z]|\\.[0-9])`, "g");
    return new RegExp(`(?<![A-Za-z0-9_.-])${v}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`, "g");
}

function mentions(text: string, value: string): boolean {
    return tokenPattern(value).test(text);
}

/**
 * The target's manifest from the source's text. Refused when the text names any master other than
 * the source (etcd's --initial-cluster lists every member), when a node name is also a manifest
 * word, or when a line would be taken for the restore step's framing. A text that names no node
 * is copied as it is.
 */
export function deriveManifest(text: string, source: MasterIdentity, target: MasterIdentity, masters: readonly MasterIdentity[]): Derivation {
    const others = masters.filter((m) => m.name !== source.name);
    for (const m of others) {
        for (const v of [m.name, m.address]) {
            if (mentions(text, v)) return { refused: `${source.name}'s manifest also names ${m.name === v ? `master ${v}` : `${m.name}'s address ${v}`}` };
        }
    }
    for (const n of [source.name, target.name]) {
        if (MANIFEST_WORDS.test(n)) return { refused: `node name "${n}" is also a word of the manifest` };
    }
    if (text.split("\n").some((l) => l.startsWith(DERIVED_HEADER))) return { refused: `a line starts with "${DERIVED_HEADER.trim()}"` };
    const substituted = mentions(text, source.name) || mentions(text, source.address);
    let out = text.replace(tokenPattern(source.address), target.address).replace(tokenPattern(source.name), target.name);
    if (!out.endsWith("\n")) out += "\n";
    return { text: out, substituted };
}

/** One manifest derived for a master (restored by the restore-manifests step, never over one on disk). */
export interface DerivedManifest {
    readonly component: ManifestComponent;
    /** The master whose manifest it came from. */
    readonly from: string;
    /** Whether the source's name or address was replaced (false: the text names no node). */
    readonly substituted: boolean;
    readonly text: string;
    readonly sha256: string;
}

/** The restore step's stdin: each manifest after a header naming it and its sha256. */
export function derivedStdin(derived: readonly DerivedManifest[]): string {
    return derived.map((d) => `${DERIVED_HEADER}${d.component} ${d.sha256}\n${d.text}`).join("");
}

export function sha256Text(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Prints each named manifest framed by its byte count; kit-free (the source may lack this run's kit). */
const READ_SCRIPT = `d=$1; shift
for c in "$@"; do
  f=$d/$c.yaml
  [ -f "$f" ] || continue
  printf '%s %s %s\\n' '${DERIVED_HEADER.trim()}' "$c" "$(wc -c < "$f" | tr -d ' ')"
  cat "$f"
done
`;

/** Splits the read script's output by its byte counts. */
export function parseManifestRead(stdout: string): Partial<Record<ManifestComponent, string>> {
    const buf = Buffer.from(stdout, "utf8");
    const out: Partial<Record<ManifestComponent, string>> = {};
    let at = 0;
    while (at < buf.length) {
        const nl = buf.indexOf(0x0a, at);
        if (nl < 0) break;
        const m = /^#kube-pki-manifest (etcd|kube-apiserver|kube-controller-manager|kube-scheduler) (\d+)$/.exec(buf.subarray(at, nl).toString("utf8"));
        if (!m) break;
        const size = Number(m[2]);
        if (nl + 1 + size > buf.length) break;
        out[m[1] as ManifestComponent] = buf.subarray(nl + 1, nl + 1 + size).toString("utf8");
        at = nl + 1 + size;
    }
    return out;
}

function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Reads the named manifests' text from one master (one session; never throws for node problems). */
export async function readManifestTexts(node: NodeSpec, dir: string, components: readonly ManifestComponent[], timeoutMs = 30_000):
    Promise<Partial<Record<ManifestComponent, string>> | Error> {
    const path = `${node.localRoot ?? ""}${dir}`;
    try {
        let result: RunResult;
        if (node.transport === "local") result = await runLocally([path, ...components], READ_SCRIPT, timeoutMs);
        else if (!node.ssh) return new Error("transport ssh but no ssh settings");
        else result = await runOverSsh(node.ssh, ["/bin/sh", "-s", "--", path, ...components].map(shellQuote).join(" "), READ_SCRIPT, { connectTimeoutMs: 10_000, timeoutMs });
        if (result.code !== 0) return new Error(`reading ${dir} ended with exit code ${result.code}`);
        return parseManifestRead(result.stdout);
    } catch (err) {
        return err as Error;
    }
}

type Reader = typeof readManifestTexts;

interface InventoryView {
    readonly node: string;
    readonly reachable: boolean;
    readonly nodeTime?: Date;
    readonly manifests?: Partial<Record<ManifestComponent, { sha256?: string }>>;
}

/**
 * For each master with manifests left (no copy): one source master that has them and lacks none of
 * its own (one read per source), its text checked against the sha256 its inventory reported, then
 * derived. Plans without anything left are returned unchanged, and nothing is read.
 */
export async function deriveMissingManifests(
    nodes: readonly NodeSpec[], dir: string, inventories: readonly InventoryView[], plans: Readonly<Record<string, NodeManifests>>, read: Reader = readManifestTexts,
): Promise<Record<string, NodeManifests>> {
    const out: Record<string, NodeManifests> = { ...plans };
    const masters = nodes.filter((n) => n.role === "master").map((n) => ({ name: n.name, address: n.advertiseAddress }));
    const texts = new Map<string, Promise<Partial<Record<ManifestComponent, string>> | Error>>();
    for (const [nodeName, plan] of Object.entries(plans)) {
        if (!plan.left.length) continue;
        const target = masters.find((m) => m.name === nodeName);
        if (!target) continue;
        const sources = inventories.filter((inv) => inv.node !== nodeName && inv.reachable && masters.some((m) => m.name === inv.node) &&
            !plans[inv.node]?.left.length && !plans[inv.node]?.restore.length);
        const derived: DerivedManifest[] = [];
        const refused: Partial<Record<ManifestComponent, string>> = {};
        const left: ManifestComponent[] = [];
        for (const c of plan.left) {
            const inv = sources.find((s) => s.manifests?.[c]?.sha256);
            const node = inv && nodes.find((n) => n.name === inv.node);
            if (!inv || !node) {
                refused[c] = "no healthy master has it";
                left.push(c);
                continue;
            }
            if (!texts.has(node.name)) texts.set(node.name, read(node, dir, [...new Set(Object.values(plans).flatMap((p) => p.left))]));
            const got = await texts.get(node.name)!;
            const text = got instanceof Error ? undefined : got[c];
            const why = got instanceof Error ? `reading it on ${node.name} failed: ${got.message}`
                : text === undefined ? `${node.name} no longer has it`
                : sha256Text(text) !== inv.manifests![c]!.sha256 ? `${node.name}'s changed since it was inspected` : undefined;
            const d = why ? { refused: why } : deriveManifest(text!, masters.find((m) => m.name === node.name)!, target, masters);
            if ("refused" in d) {
                refused[c] = d.refused;
                left.push(c);
            } else {
                derived.push({ component: c, from: node.name, substituted: d.substituted, text: d.text, sha256: sha256Text(d.text) });
            }
        }
        const nodeTime = inventories.find((i) => i.node === nodeName)?.nodeTime?.toISOString() ?? "";
        const restored = [...plan.restore, ...derived.map((d) => d.component)];
        out[nodeName] = {
            ...plan, left,
            ...(derived.length ? { derived } : {}),
            ...(Object.keys(refused).length ? { refused } : {}),
            ...(restored.length ? { restoreTrigger: `${restored.join(",")}@${nodeTime}` } : {}),
        };
    }
    return out;
}
