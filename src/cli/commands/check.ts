/**
 * `kube-pki check`: read every node once, judge each certificate, print a kubeadm-style table (or
 * JSON), optionally write Prometheus metrics, and return an exit code for cron/CI.
 */
import { Command, Option } from "commander";
import { isoDate, wholeNumber } from "../option-parsers";
import { readInventories, type NodeInventory } from "../../drift/inventory";
import { compareNode, type NodeDriftResult } from "../../drift/report";
import type { NodeRole } from "../../spec";
import { CliError } from "../errors";
import type { CliIo } from "../io";
import { renderJson } from "../render-json";
import { renderPrometheus, writeFileAtomically } from "../render-prometheus";
import { renderTable } from "../render-table";
import { knownFiles } from "../../pki/plan";
import { checkRows, EXIT_CODES, overallSeverity, type NodeRows, type Severity } from "../rows";
import { targetsFromHosts, targetsFromStack, type CheckTargets } from "../targets";

export interface CheckOptions {
    stack?: string;
    stacksDir: string;
    host: string[];
    worker: string[];
    local: string[];
    sshKey?: string;
    role: NodeRole;
    layoutDir: string;
    layoutFrom?: string;
    output: "table" | "json";
    prometheus?: string;
    warnDays?: number;
    served: boolean;
    concurrency?: number;
    connectTimeout: number;
    knownHosts?: string;
    insecureIgnoreHostKeys: boolean;
    now?: Date;
}

const HELP_AFTER = `
Exit codes:
  0  every certificate is valid for more than --warn-days
  1  warning: something expires within --warn-days
  2  critical: expired, not yet valid, missing, key/cert mismatch, foreign CA,
     served certificate differs from disk, or a node is unreachable
  3  nothing was checked (bad arguments or stack file)

Examples:
  kube-pki check --stack prod
  kube-pki check --host root@10.0.0.11 --host root@10.0.0.12 --worker root@10.0.0.21 --ssh-key ~/.ssh/id_ed25519 -o json
  kube-pki check --stack prod --prometheus /var/lib/node_exporter/textfile/kube_pki.prom

Host keys: --stack nodes are pinned by their ssh.hostKey (kube-pki:ssh.insecureIgnoreHostKeys opts
out); --host/--worker nodes by --known-hosts, else --insecure-ignore-host-keys is required.`;

const collect = (value: string, previous: string[]) => [...previous, value];

export function checkCommand(io: CliIo, setExitCode: (code: number) => void): Command {
    return new Command("check")
        .description("Check certificate expiry and drift on every node (no Pulumi needed)")
        .option("--stack <name>", "read the nodes from stacks/Pulumi.<name>.yaml")
        .addOption(new Option("--stacks-dir <dir>", "directory of the stack files").default("stacks"))
        .option("--host <user@ip[:port]>", "a node to read over SSH (repeatable)", collect, [])
        .option("--worker <user@ip[:port]>", "a worker node to read over SSH (repeatable; --host nodes take --role)", collect, [])
        .option("--local <dir>", "a local directory standing in for a node's / (repeatable)", collect, [])
        .option("--ssh-key <path>", "private key for --host nodes (or for a stack whose key is an encrypted secret)")
        .option("--known-hosts <file>", "OpenSSH known_hosts file pinning the --host/--worker nodes' host keys (kube-pki host-keys -o known-hosts writes one)")
        .option("--insecure-ignore-host-keys", "accept any host key on --host/--worker nodes the --known-hosts file does not pin", false)
        .addOption(new Option("--role <role>", "role of --host/--local nodes").choices(["master", "worker"]).default("master"))
        .option("--layout-dir <dir>", "Kubernetes config dir on --host/--local nodes", "/etc/kubernetes")
        .option("--layout-from <stack>", "read --host/--worker/--local nodes with the layout (kube-pki:layout) of stacks/Pulumi.<stack>.yaml")
        .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
        .option("--prometheus <file>", "also write a node_exporter textfile (x509-certificate-exporter metric names)")
        .option("--warn-days <n>", "warn when a certificate expires within n days (default 30, or the stack's renewBeforeDays)", wholeNumber(0))
        .option("--no-served", "do not read the certificates components serve")
        .option("--concurrency <n>", "nodes read at the same time", wholeNumber(0))
        .option("--connect-timeout <seconds>", "give up on an SSH connection after this long", wholeNumber(0), 10)
        .addOption(new Option("--now <iso>", "judge as of this time (tests)").argParser(isoDate).hideHelp())
        .addHelpText("after", HELP_AFTER)
        .action(async (opts: CheckOptions) => {
            setExitCode(await runCheck(opts, io));
        });
}

function resolveTargets(opts: CheckOptions, io: CliIo): CheckTargets & { renewBeforeDays?: number } {
    if (opts.stack) {
        if (opts.host.length || opts.worker.length || opts.local.length) throw new CliError("--stack and --host/--worker/--local do not mix");
        if (opts.layoutFrom) throw new CliError("--layout-from is for --host/--worker/--local: --stack reads its own layout");
        if (opts.knownHosts || opts.insecureIgnoreHostKeys) throw new CliError("--known-hosts and --insecure-ignore-host-keys are for --host/--worker: a stack pins its nodes with ssh.hostKey");
        return targetsFromStack({ stack: opts.stack, stacksDir: opts.stacksDir, sshKeyPath: opts.sshKey, cwd: io.cwd });
    }
    return targetsFromHosts({ hosts: opts.host, workers: opts.worker, locals: opts.local, sshKeyPath: opts.sshKey, role: opts.role,
        layoutDir: opts.layoutDir, ...(opts.layoutFrom ? { layoutFrom: { stack: opts.layoutFrom, stacksDir: opts.stacksDir, cwd: io.cwd } } : {}), checkServed: opts.served, concurrency: opts.concurrency ?? 8,
        knownHostsPath: opts.knownHosts, insecureIgnoreHostKeys: opts.insecureIgnoreHostKeys });
}

/** One read of every node and its judgement: what `check` prints and `renew` decides on. */
export interface Judgement {
    targets: CheckTargets & { renewBeforeDays?: number };
    /** Per node, every file's verdict (private keys included, which the rows leave out). */
    results: NodeDriftResult[];
    nodes: NodeRows[];
    severity: Severity;
    now: Date;
    warnDays: number;
}

type Progress = (done: number, total: number, inv: NodeInventory) => void;

/** Reads every node once and judges each file; `progress` defaults to check's stderr lines when there are many nodes. */
export async function readAndJudge(opts: CheckOptions, io: CliIo, progress?: Progress): Promise<Judgement> {
    const targets = resolveTargets(opts, io);
    for (const n of targets.nodes.filter((node) => node.ssh?.insecureIgnoreHostKey)) {
        io.stderr(`kube-pki: INSECURE: ${n.name} (${n.ssh!.host}:${n.ssh!.port}) is read without checking its SSH host key\n`);
    }
    const now = opts.now ?? io.now();
    const warnDays = opts.warnDays ?? targets.renewBeforeDays ?? 30;
    const many = targets.nodes.length > 1;
    const inventories = await readInventories(targets.nodes, targets.layout, {
        checkServed: opts.served && targets.checkServed,
        kubeletServing: targets.kubeletServing,
        declared: targets.declared,
        concurrency: opts.concurrency ?? targets.concurrency,
        connectTimeoutMs: Math.max(1, opts.connectTimeout) * 1000,
        // Progress goes to stderr, so stdout stays pure JSON/table.
        onProgress: progress ?? (many ? (done, total, inv) => io.stderr(`[${done}/${total}] ${inv.node}: ${inv.reachable ? "read" : `unreachable (${inv.error})`}\n`) : undefined),
    });
    // Names, CAs and required files from the catalogue at the layout's paths (src/pki/plan.ts), never rebuilt from a path.
    // One map per node: its own paths ({node}, {address}) and only what its role holds (a master's etcd client path on a worker is a stray).
    const knownOf = new Map(targets.nodes.map((n) => [n.name, knownFiles(targets.layout, n)]));
    const results: NodeDriftResult[] = [];
    const nodes = inventories.flatMap((inv) => {
        const known = knownOf.get(inv.node) ?? knownFiles(targets.layout);
        const result = compareNode(targets.wanted?.[inv.node], inv, { now, renewBeforeDays: warnDays, known });
        results.push(result);
        return checkRows([result], known);
    });
    return { targets, results, nodes, severity: overallSeverity(nodes), now, warnDays };
}

export async function runCheck(opts: CheckOptions, io: CliIo): Promise<number> {
    const { nodes, severity, now, warnDays } = await readAndJudge(opts, io);
    const exitCode = EXIT_CODES[severity];
    if (opts.prometheus) writeFileAtomically(opts.prometheus, renderPrometheus(nodes, now));
    io.stdout(opts.output === "json" ? renderJson(nodes, { severity, exitCode, warnDays }, now) : renderTable(nodes, now));
    return exitCode;
}
