/**
 * The node kit: the node scripts (src/scripts/*.sh except inventory.sh, which runs at program
 * time from stdin) plus a MANIFEST (`<sha256>  <name>` per file, sorted by name, the format of
 * `sha256sum -c`). The kit id is the SHA-256 of the MANIFEST, so it names the exact bytes of every
 * file. On a node the kit lives at /var/lib/kube-pki/kit/<id>/ and every node command is one short
 * line that checks the kit against its id and then runs a script from it. Pure: reads files only.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SCRIPTS_DIR, shellQuote } from "./scripts";

/** Where kits live on a node (below --root for a local-directory node). */
export const KIT_DIR = "/var/lib/kube-pki/kit";
/** Where a shipped kit lands before its activation checks it and moves it into place. */
export const KIT_INCOMING = `${KIT_DIR}/.incoming`;
/** How many kits a node keeps (the active one always among them). */
export const KITS_KEPT = 3;
/**
 * Exit code of a node command whose kit is missing or altered: distinct from the scripts' own
 * codes (1 failure, 2 usage, 3 rollback incomplete, 4 rotate.sh kept the new files), so tests and operators can tell it apart.
 */
export const KIT_MISSING_EXIT = 69;

/** Scripts that run at program time from stdin, never from a kit. */
const NOT_IN_KIT = new Set(["inventory.sh"]);

export interface KitFile {
    name: string;
    sha256: string;
    /** The file's bytes (public: scripts only, no secret ever goes into a kit). */
    content: Buffer;
}

export interface Kit {
    /** SHA-256 (hex) of `manifest`. */
    id: string;
    /** `<sha256>  <name>\n` per file, sorted by name. */
    manifest: string;
    files: KitFile[];
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** Builds the kit from a scripts directory (default: the package's src/scripts). */
export function buildKit(dir: string = SCRIPTS_DIR): Kit {
    const names = readdirSync(dir).filter((n) => n.endsWith(".sh") && !NOT_IN_KIT.has(n)).sort();
    if (!names.includes("lib.sh") || !names.includes("kit-activate.sh")) {
        throw new Error(`${dir} is not a kube-pki scripts directory (lib.sh or kit-activate.sh missing)`);
    }
    for (const n of names) {
        // Names go into MANIFEST lines and shell words unquoted by sha256sum: keep them plain.
        if (!/^[a-z0-9][a-z0-9.-]*\.sh$/.test(n)) throw new Error(`kit file name ${JSON.stringify(n)} is not plain`);
    }
    const files = names.map((name) => {
        const content = readFileSync(join(dir, name));
        return { name, content, sha256: sha256(content) };
    });
    const manifest = files.map((f) => `${f.sha256}  ${f.name}\n`).join("");
    return { id: sha256(manifest), manifest, files };
}

let current: Kit | undefined;
/** The kit of this package's scripts, read once per process. */
export function currentKit(): Kit {
    return (current ??= buildKit());
}

/** The kit directory on the node, as a path of this run's filesystem (--root prefixes it). */
export function kitDirOn(id: string, root?: string): string {
    return `${root ?? ""}${KIT_DIR}/${id}`;
}

/** What a command prints (stderr) and how it exits when the node's kit is not the one it needs. */
export function kitMissingMessage(id: string, nodeName: string): string {
    return `kit ${id} missing or altered on ${nodeName}: the next \`pulumi up\` ships it again`;
}

/**
 * Shell that sets $k to the kit directory and fails with {@link kitMissingMessage} unless the
 * MANIFEST hashes to the id and every file matches the MANIFEST.
 */
export function kitGuard(id: string, nodeName: string, root?: string): string {
    const message = shellQuote(kitMissingMessage(id, nodeName));
    return `k=${shellQuote(kitDirOn(id, root))}; ` +
        `{ [ "$(sha256sum 2>/dev/null <"$k/MANIFEST")" = "${id}  -" ] && (cd "$k" && sha256sum -c MANIFEST) >/dev/null 2>&1; } ` +
        `|| { echo ${message} >&2; exit ${KIT_MISSING_EXIT}; }`;
}

/** `/bin/sh "$k/<script>.sh" args…`: one script call inside a guarded line. */
export function kitCall(script: string, args: readonly string[]): string {
    if (!/^[a-z0-9-]+$/.test(script)) throw new Error(`unknown kit script ${JSON.stringify(script)}`);
    return [`/bin/sh "$k/${script}.sh"`, ...args.map(shellQuote)].join(" ");
}

/** One node command: the guard, then `body` (shell using $k). */
export function kitLine(id: string, nodeName: string, root: string | undefined, body: string): string {
    return `${kitGuard(id, nodeName, root)}; ${body}`;
}

/** One node command that runs one kit script with `args` (exec: its exit code is the command's). */
export function kitCommand(id: string, nodeName: string, root: string | undefined, script: string, args: readonly string[]): string {
    return kitLine(id, nodeName, root, `exec ${kitCall(script, args)}`);
}

/**
 * The activation: checks the shipped copy (or, when it is gone, the active kit) against the MANIFEST
 * and the MANIFEST against the id, then runs kit-activate.sh from that checked copy, which moves it
 * into place atomically, sets modes and prunes older kits. A bad copy is removed, so a re-ship
 * starts clean.
 */
export function activationCommand(id: string, nodeName: string, root?: string, keep: number = KITS_KEPT): string {
    const r = root ? ["--root", root] : [];
    const incoming = shellQuote(`${root ?? ""}${KIT_INCOMING}/${id}`);
    const active = shellQuote(kitDirOn(id, root));
    const bad = shellQuote(`kit ${id} on ${nodeName}: the shipped copy does not match its MANIFEST (incomplete or altered); ` +
        "it was removed and the next `pulumi up` ships it again");
    return `i=${incoming}; d=$i; [ -d "$i" ] || d=${active}; ` +
        `{ [ "$(sha256sum 2>/dev/null <"$d/MANIFEST")" = "${id}  -" ] && (cd "$d" && sha256sum -c MANIFEST) >/dev/null 2>&1; } ` +
        `|| { rm -rf "$i"; echo ${bad} >&2; exit ${KIT_MISSING_EXIT}; }; ` +
        `exec ${[`/bin/sh "$d/kit-activate.sh"`, ...[...r, "--keep", String(keep), id].map(shellQuote)].join(" ")}`;
}
