/** The long options `kube-pki renew --help` lists, to judge the examples' command lines against the real CLI. */
import type { CliIo } from "../../src/cli/io";
import { run } from "../../src/cli/main";

export async function renewOptions(): Promise<Set<string>> {
    let out = "";
    const io: CliIo = { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, cwd: process.cwd(), now: () => new Date() };
    await run(["renew", "--help"], io);
    return new Set([...out.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]));
}

/** `--flag value` pairs of a command line (flags without a value map to ""). */
export function flagsOf(argv: readonly string[]): Map<string, string> {
    const flags = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) {
        if (!argv[i].startsWith("--")) continue;
        const next = argv[i + 1];
        flags.set(argv[i], next !== undefined && !next.startsWith("--") ? argv[++i] : "");
    }
    return flags;
}
