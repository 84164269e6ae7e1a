/**
 * `kube-pki host-keys`: reads the ed25519/ECDSA host keys each SSH node offers (no login) and
 * prints the pins to paste into the stack, with fingerprints to compare out of band.
 */
import * as path from "node:path";
import { Command, Option } from "commander";
import { wholeNumber } from "../option-parsers";
import { ConfigError } from "../../config/errors";
import { parseSshEndpoints } from "../../config/parse";
import { mapBounded } from "../../drift/pool";
import { CliError } from "../errors";
import { scanHostKeys } from "../host-key-scan";
import type { CliIo } from "../io";
import { noPinReason, renderHostYaml, renderKnownHosts, renderStackYaml, type NodeHostKeys } from "../render-host-keys";
import { parseHost, readStackConfig, stackConfigError } from "../targets";

export interface HostKeysOptions {
    stack?: string;
    stacksDir: string;
    host: string[];
    output: "yaml" | "known-hosts";
    connectTimeout: number;
    concurrency: number;
}

const HELP_AFTER = `
Reads each node's SSH host keys the way ssh-keyscan does (no login, no private key needed) and
prints what to paste into the stack: per node ssh: { hostKey: "ssh-ed25519 AAAA…" }, preferring
ed25519, then ECDSA. RSA keys are never suggested: pulumi-command pins with
HostKeyAlgorithms=[the pin's type], and OpenSSH >= 8.8 refuses the ssh-rsa (SHA-1) it would offer.
Compare every fingerprint with the node's own before you paste (on its console:
ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub): this command trusts the network it reads over.

Exit codes:
  0  every SSH node's pin was read
  2  a node was unreachable or offers no ed25519/ECDSA key (the others are still printed)
  3  nothing was read (bad arguments or stack file)

Examples:
  kube-pki host-keys --stack prod
  kube-pki host-keys --host root@10.0.0.11 --host root@10.0.0.12:2222
  kube-pki host-keys --host root@10.0.0.11 -o known-hosts >> pins && kube-pki check --host root@10.0.0.11 --known-hosts pins --ssh-key ~/.ssh/id_ed25519`;

const collect = (value: string, previous: string[]) => [...previous, value];

export function hostKeysCommand(io: CliIo, setExitCode: (code: number) => void): Command {
    return new Command("host-keys")
        .description("Print the SSH host key pins (ssh.hostKey) of a stack's nodes, with fingerprints")
        .option("--stack <name>", "read the nodes from stacks/Pulumi.<name>.yaml")
        .addOption(new Option("--stacks-dir <dir>", "directory of the stack files").default("stacks"))
        .option("--host <user@ip[:port]>", "a node to read (repeatable)", collect, [])
        .addOption(new Option("-o, --output <format>", "yaml to paste into the stack, or OpenSSH known_hosts lines").choices(["yaml", "known-hosts"]).default("yaml"))
        .option("--connect-timeout <seconds>", "give up on a node after this long", wholeNumber(1), 10)
        .option("--concurrency <n>", "nodes read at the same time", wholeNumber(1), 8)
        .addHelpText("after", HELP_AFTER)
        .action(async (opts: HostKeysOptions) => {
            setExitCode(await runHostKeys(opts, io));
        });
}

interface Target {
    name: string;
    host: string;
    port: number;
    user: string;
    entry?: Record<string, unknown>;
    local?: boolean;
}

function stackTargets(opts: HostKeysOptions & { stack: string }, io: CliIo): { file: string; targets: Target[] } {
    const { file, raw } = readStackConfig({ stack: opts.stack, stacksDir: opts.stacksDir, cwd: io.cwd });
    let endpoints;
    try {
        endpoints = parseSshEndpoints(raw);
    } catch (err) {
        if (err instanceof ConfigError) throw stackConfigError(opts.stack, file, err);
        throw err;
    }
    const entries = raw.nodes as Array<Record<string, unknown>>;
    const targets = endpoints.map((e): Target => ({
        name: e.name, host: e.host, port: e.port, user: e.user, entry: entries[e.index], local: e.transport === "local",
    }));
    return { file, targets };
}

export async function runHostKeys(opts: HostKeysOptions, io: CliIo): Promise<number> {
    if (opts.stack && opts.host.length) throw new CliError("--stack and --host do not mix");
    if (!opts.stack && !opts.host.length) throw new CliError("give --stack <name>, or at least one --host user@ip[:port]");
    const fromStack = opts.stack ? stackTargets(opts as HostKeysOptions & { stack: string }, io) : undefined;
    const targets: Target[] = fromStack?.targets ?? opts.host.map((h) => {
        const { user, host, port } = parseHost(h);
        return { name: port === 22 ? host : `${host}:${port}`, host, port, user };
    });
    const many = targets.length > 1;
    const results = await mapBounded(targets, opts.concurrency, async (t): Promise<NodeHostKeys> => {
        const base = { name: t.name, host: t.host, port: t.port, ...(t.entry ? { entry: t.entry } : {}) };
        if (t.local) return { ...base, keys: [], local: true };
        const scan = await scanHostKeys({ host: t.host, port: t.port, user: t.user }, opts.connectTimeout * 1000);
        const result: NodeHostKeys = { ...base, keys: scan.keys, ...(scan.error ? { error: scan.error } : {}) };
        // Progress and problems go to stderr, so stdout stays pasteable.
        const reason = noPinReason(result);
        if (reason) io.stderr(`kube-pki: ${t.name} (${t.host}:${t.port}): ${reason}\n`);
        else if (many) io.stderr(`${t.name}: read\n`);
        return result;
    });
    if (opts.output === "known-hosts") io.stdout(renderKnownHosts(results));
    else if (fromStack) io.stdout(renderStackYaml(opts.stack!, path.relative(io.cwd, fromStack.file) || fromStack.file, results));
    else io.stdout(renderHostYaml(results));
    return results.some((r) => noPinReason(r) !== undefined) ? 2 : 0;
}
