/**
 * Parses the line records printed by src/scripts/inventory.sh into plain data. Pure: the records
 * carry only public material (certificates, digests, paths), never key content.
 */

export interface RawFile {
    path: string;
    state: "present" | "absent" | "unreadable";
    sha256?: string;
    mode?: string;
    /** PEM certificate blocks found in the file (certificates and .pem files). */
    pems: string[];
}

export interface RawKubeconfig {
    server?: string;
    caData?: string;
    clientData?: string;
    clientFile?: string;
    keyMatch?: "yes" | "no" | "error" | "none";
}

export interface RawServed {
    name: string;
    host: string;
    port: number;
    pem?: string;
    failure?: string;
}

export interface RawInventory {
    /** The node's clock, epoch seconds. */
    now?: number;
    files: Map<string, RawFile>;
    /** "cert|key" → result. */
    pairs: Map<string, "yes" | "no" | "error">;
    kubeconfigs: Map<string, RawKubeconfig>;
    /** Symlink path → target (undefined when the path is not a link). */
    links: Map<string, string | undefined>;
    served: RawServed[];
    /** The script reached its end (a cut connection leaves this false). */
    complete: boolean;
}

export function pairKey(cert: string, key: string): string {
    return `${cert}|${key}`;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function splitPems(lines: string[]): string[] {
    return (lines.join("\n").match(PEM_BLOCK) ?? []).map((block) => block + "\n");
}

export function parseInventoryOutput(stdout: string): RawInventory {
    const out: RawInventory = {
        files: new Map(), pairs: new Map(), kubeconfigs: new Map(), links: new Map(), served: [], complete: false,
    };
    const lines = stdout.split("\n");
    let sawHeader = false;
    for (let i = 0; i < lines.length; i++) {
        const fields = lines[i].replace(/\r$/, "").split(" ");
        const [tag, a, b, c, d, e] = fields;
        switch (tag) {
            case "inventory":
                sawHeader = a === "1";
                break;
            case "now":
                out.now = Number(a);
                break;
            case "file":
                out.files.set(a, { path: a, state: b as RawFile["state"], sha256: c, mode: d, pems: [] });
                break;
            case "pem": {
                const body = collectUntil(lines, i + 1, `endpem ${a}`);
                i = body.next;
                const file = out.files.get(a);
                if (file) file.pems = splitPems(body.lines);
                break;
            }
            case "pair":
                out.pairs.set(pairKey(a, b), c as "yes" | "no" | "error");
                break;
            case "kc": {
                const kc = out.kubeconfigs.get(a) ?? {};
                const value = fields.slice(3).join(" ");
                if (b === "server") kc.server = c;
                else if (b === "ca-data") kc.caData = value;
                else if (b === "client-data") kc.clientData = value;
                else if (b === "client-file") kc.clientFile = value;
                else if (b === "keymatch") kc.keyMatch = c as RawKubeconfig["keyMatch"];
                out.kubeconfigs.set(a, kc);
                break;
            }
            case "link":
                out.links.set(a, b === "none" ? undefined : b);
                break;
            case "served": {
                const served: RawServed = { name: a, host: b, port: Number(c) };
                if (d === "ok") {
                    const body = collectUntil(lines, i + 1, `endpem served:${a}`);
                    i = body.next;
                    served.pem = splitPems(body.lines)[0];
                    if (!served.pem) served.failure = "no-certificate";
                } else {
                    served.failure = e ?? "failed";
                }
                out.served.push(served);
                break;
            }
            case "done":
                out.complete = sawHeader;
                break;
            default:
                break; // blank lines and anything a login banner adds
        }
    }
    return out;
}

function collectUntil(lines: string[], from: number, end: string): { lines: string[]; next: number } {
    const body: string[] = [];
    let i = from;
    for (; i < lines.length && lines[i].replace(/\r$/, "") !== end; i++) body.push(lines[i]);
    return { lines: body, next: i };
}
