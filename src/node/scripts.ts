/**
 * The node scripts in src/scripts: their paths, POSIX quoting, and `scriptCommand`, which turns a
 * script into one self-contained command string (lib.sh inlined in place of its
 * `# @kube-pki-lib` line, handed to `/bin/sh -c`). The program no longer sends such strings: its
 * node commands call the kit (src/node/kit.ts); script tests and the sim still use them to run a
 * script over SSH without a kit.
 */
import { readFileSync } from "fs";
import { join } from "path";

export type ScriptName = "install" | "restore" | "restart" | "verify-served" | "rotate" | "read-adopted" | "kubelet-client" | "restart-consumer" | "manifests" | "verify-recovery" | "signing-file";

export const SCRIPT_NAMES: readonly ScriptName[] = ["install", "restore", "restart", "verify-served", "rotate", "read-adopted", "kubelet-client", "restart-consumer", "manifests", "verify-recovery", "signing-file"];

/** Directory holding the .sh files (resolved from this module, so it works from src/ and tests). */
export const SCRIPTS_DIR = join(__dirname, "..", "scripts");

const LIB_MARKER = /^.*# @kube-pki-lib$/m;

/**
 * A command line carries one argv string to the node's login shell and from there to
 * `sh -c`: Linux caps one argument at 128 KiB (MAX_ARG_STRLEN). Stay well below.
 */
const MAX_COMMAND_CHARS = 120_000;

/** Absolute path of a script file, for running it directly (tests, local transport). */
export function scriptPath(name: ScriptName): string {
    return join(SCRIPTS_DIR, `${name}.sh`);
}

/** POSIX single-quoting: safe for any string, including quotes, spaces and newlines. */
export function shellQuote(arg: string): string {
    if (arg.includes("\0")) throw new Error("shell arguments cannot contain NUL");
    return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The script text with lib.sh inlined: what `sh -c` runs. */
export function inlinedScript(name: ScriptName): string {
    if (!SCRIPT_NAMES.includes(name)) throw new Error(`unknown script ${JSON.stringify(name)}`);
    const script = readFileSync(scriptPath(name), "utf8");
    if (!LIB_MARKER.test(script)) throw new Error(`${name}.sh lacks the "# @kube-pki-lib" line`);
    const lib = readFileSync(join(SCRIPTS_DIR, "lib.sh"), "utf8");
    // A function replacement, so `$&`/`$1` in lib.sh are not treated as patterns.
    return script.replace(LIB_MARKER, () => lib);
}

/**
 * One shell command running script `name` with `args`. `$0` inside is `kube-pki-<name>`, so
 * messages name the script. The secret bundle goes to stdin, never into this string.
 */
export function scriptCommand(name: ScriptName, args: string[]): string {
    const text = inlinedScript(name);
    const cmd = ["/bin/sh", "-c", shellQuote(text), `kube-pki-${name}`, ...args.map(shellQuote)].join(" ");
    if (cmd.length > MAX_COMMAND_CHARS) {
        throw new Error(`command for ${name}.sh is ${cmd.length} characters, above ${MAX_COMMAND_CHARS}`);
    }
    return cmd;
}
