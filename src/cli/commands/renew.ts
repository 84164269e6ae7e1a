/**
 * `kube-pki renew --stack NAME`: renewal without a person (cron, systemd timers, CI). Runs check's
 * read and judgement; when something is due it runs `pulumi up --stack NAME --yes
 * --non-interactive` in the project directory with the caller's environment, then checks again.
 * Logs one timestamped line per event on stdout; never a secret (keys stay in memory, Pulumi
 * masks its secrets), never a run while a node cannot be read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { isoDate, wholeNumber } from "../option-parsers";
import { CliError } from "../errors";
import type { CliIo } from "../io";
import { findPulumi, PROJECT_DIR, resourceSummary, runPulumi } from "../pulumi-cli";
import { renderPrometheus, writeFileAtomically } from "../render-prometheus";
import { judgeRenewal, type DueFile, type RenewalJudgement } from "../renew-due";
import { readAndJudge, type CheckOptions, type Judgement } from "./check";

export const RENEW_EXIT = { ok: 0, dryRunDue: 1, failed: 2, usage: 3, refused: 4 } as const;

export interface RenewOptions {
    stack: string;
    stacksDir?: string;
    projectDir?: string;
    sshKey?: string;
    pulumi?: string;
    dryRun: boolean;
    prometheus?: string;
    connectTimeout: number;
    now?: Date;
}

const HELP_AFTER = `
Due (an up runs): a certificate inside renew-before (kube-pki:validity.renewBeforeDays) or
expired; a file missing, differing, with a key that does not match or a changed spec; a
component serving something other than its file on disk.
Not due, for a person (logged as "attention", exit 2, no up): a certificate that is only not yet
valid (the node's clock is behind: an up cannot fix that, the program refuses such a node), and
a CA inside renew-before or expired (an up never renews a CA: rotate it).

Exit codes:
  0  all well: nothing due, or the up ran and the check after it found nothing due
  1  --dry-run and something is due (nothing was run)
  2  the up failed, or something is still due after it (the log says what, per node),
     or something needs a person (attention lines: a clock behind, a CA to rotate)
  3  nothing checked: bad arguments, unusable stack file, no Pulumi.yaml in --project-dir,
     pulumi not found when needed
  4  refused: a node is unreachable or could not be read; nothing was run

The log (stdout, one timestamped line per event): what was due per node (file, reason, expiry),
the nodes that are all well, the exact command, Pulumi's output (prefixed "pulumi| "), its
resource summary, exit code and duration, then per node the check after the up.

Unattended:
  Pulumi reads its backend and secrets from the environment, which renew passes on unchanged:
  PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, PULUMI_ACCESS_TOKEN, PULUMI_BACKEND_URL.
  pulumi is looked up on PATH, then in ~/.pulumi/bin (or give --pulumi).
  systemd:  a oneshot service with EnvironmentFile=/etc/kube-pki/renew.env and
            ExecStart=/path/to/kube-pki/bin/kube-pki.js renew --stack prod, started by a timer
            (examples/systemd/kube-pki-renew.service and .timer)
  cron:     17 3 * * *  . /etc/kube-pki/renew.env && /path/to/kube-pki/bin/kube-pki.js renew --stack prod >> /var/log/kube-pki-renew.log 2>&1
  CI:       a scheduled job running kube-pki renew --stack prod with the token/passphrase as secrets
            (examples/ci/github-actions-renew.yml)
  A stack whose kube-pki:sshPrivateKey is an encrypted secret needs --ssh-key for the checks.`;

export function renewCommand(io: CliIo, setExitCode: (code: number) => void, env: NodeJS.ProcessEnv = process.env): Command {
    return new Command("renew")
        .description("Renew what is due: check, run `pulumi up` when something is due, check again (for cron, systemd timers, CI)")
        .requiredOption("--stack <name>", "the stack to check and update (stacks/Pulumi.<name>.yaml)")
        .option("--stacks-dir <dir>", "directory of the stack files (default: <project dir>/stacks)")
        .option("--project-dir <dir>", "kube-pki's directory (holds Pulumi.yaml); pulumi runs there")
        .option("--ssh-key <path>", "private key for the checks when the stack's kube-pki:sshPrivateKey is an encrypted secret")
        .option("--pulumi <path>", "the pulumi binary (default: PATH, then ~/.pulumi/bin)")
        .option("--dry-run", "say what is due and what would run; run nothing", false)
        .option("--prometheus <file>", "write the final check's node_exporter textfile (as check --prometheus)")
        .option("--connect-timeout <seconds>", "give up on an SSH connection after this long", wholeNumber(1), 10)
        .addOption(new Option("--now <iso>", "judge as of this time (tests)").argParser(isoDate).hideHelp())
        .addHelpText("after", HELP_AFTER)
        .action(async (opts: RenewOptions) => {
            setExitCode(await runRenew(opts, io, env));
        });
}

const UP_ARGS = (stack: string) => ["up", "--stack", stack, "--yes", "--non-interactive"];

function when(d: Date | undefined): string {
    return d ? `; notAfter ${d.toISOString()}` : "";
}

function fileLine(f: DueFile): string {
    return `${f.node} ${f.file} (${f.path}): ${f.reasons.join(",")}: ${f.detail}${when(f.notAfter)}`;
}

export async function runRenew(opts: RenewOptions, io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
    const projectDir = path.resolve(io.cwd, opts.projectDir ?? PROJECT_DIR);
    if (!fs.existsSync(path.join(projectDir, "Pulumi.yaml"))) {
        throw new CliError(`--project-dir ${projectDir} holds no Pulumi.yaml: give kube-pki's directory (where Pulumi.yaml is)`);
    }
    const log = (line: string) => io.stdout(`${io.now().toISOString()} ${line}\n`);
    // The stack's relative paths (localRoot, ssh.privateKeyPath) resolve as Pulumi resolves them: in the project directory.
    const checkOpts: CheckOptions = {
        stack: opts.stack,
        stacksDir: opts.stacksDir ? path.resolve(io.cwd, opts.stacksDir) : path.join(projectDir, "stacks"),
        ...(opts.sshKey ? { sshKey: path.resolve(io.cwd, opts.sshKey) } : {}),
        host: [], worker: [], local: [], role: "master", layoutDir: "/etc/kubernetes", output: "table",
        served: true, connectTimeout: opts.connectTimeout, insecureIgnoreHostKeys: false,
        ...(opts.now ? { now: opts.now } : {}),
    };
    const check = async (label: string): Promise<{ j: Judgement; r: RenewalJudgement }> => {
        const j = await readAndJudge(checkOpts, { ...io, cwd: projectDir }, () => undefined);
        const r = judgeRenewal(j.results);
        log(`${label}: stack ${opts.stack}, ${j.results.length} node(s), ${r.filesChecked} file(s) judged, renew-before ${j.warnDays} d`);
        for (const u of r.unreadable) log(`${label}: ${u.node}: UNREACHABLE: ${u.error}`);
        for (const f of r.due) log(`${label}: due: ${fileLine(f)}`);
        for (const f of r.attention) log(`${label}: attention (${f.why}): ${fileLine(f)}`);
        if (r.wellNodes.length) log(`${label}: all well: ${r.wellNodes.join(", ")}`);
        return { j, r };
    };
    const finish = (code: number, why: string, j?: Judgement): number => {
        if (j && opts.prometheus) {
            writeFileAtomically(opts.prometheus, renderPrometheus(j.nodes, j.now));
            log(`metrics written to ${opts.prometheus}`);
        }
        log(`exit ${code}: ${why}`);
        return code;
    };

    const before = await check("check");
    if (before.r.unreadable.length) {
        return finish(RENEW_EXIT.refused, `refused: ${before.r.unreadable.map((u) => u.node).join(", ")} could not be read; nothing was run`, before.j);
    }
    if (before.r.due.length === 0) {
        if (before.r.attention.length) return finish(RENEW_EXIT.failed, `nothing an up renews is due, nothing run; ${before.r.attention.length} file(s) need a person (attention lines)`, before.j);
        return finish(RENEW_EXIT.ok, "all well: nothing due, nothing run", before.j);
    }

    const args = UP_ARGS(opts.stack);
    const pulumi = findPulumi(env, opts.pulumi);
    const nodesDue = [...new Set(before.r.due.map((f) => f.node))].join(", ");
    if (opts.dryRun) {
        log(`dry run: would run: ${pulumi ?? "pulumi"} ${args.join(" ")} (in ${projectDir}), because ${before.r.due.length} file(s) are due on ${nodesDue}`);
        if (!pulumi) log(`dry run: pulumi not found (${opts.pulumi ? `--pulumi ${opts.pulumi} is not executable` : "PATH, ~/.pulumi/bin"}): a real run would stop with exit 3`);
        return finish(RENEW_EXIT.dryRunDue, "dry run: something is due, nothing was run", before.j);
    }
    if (!pulumi) {
        throw new CliError(opts.pulumi
            ? `--pulumi ${opts.pulumi} is not an executable file`
            : "pulumi not found on PATH nor in ~/.pulumi/bin: install the Pulumi CLI or give --pulumi <path>");
    }

    log(`running: ${pulumi} ${args.join(" ")} (in ${projectDir}), because ${before.r.due.length} file(s) are due on ${nodesDue}`);
    const pending: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
    const mirror = (text: string, stream: "stdout" | "stderr") => {
        const lines = (pending[stream] + text).split(/\r?\n/);
        pending[stream] = lines.pop() ?? "";
        for (const l of lines) log(`pulumi| ${l}`);
    };
    let up: Awaited<ReturnType<typeof runPulumi>> | undefined;
    try {
        up = await runPulumi(args, { pulumi, cwd: projectDir, env, onOutput: mirror });
    } catch (err) {
        log(`pulumi could not be started: ${(err as Error).message}`);
    }
    for (const stream of ["stdout", "stderr"] as const) if (pending[stream]) log(`pulumi| ${pending[stream]}`);
    if (up) {
        const summary = resourceSummary(up.stdout);
        log(`pulumi resources: ${summary.length ? summary.join(", ") : "(no summary printed)"}`);
        log(`pulumi ${up.code === null ? "was killed by a signal" : `exited ${up.code}`} after ${(up.ms / 1000).toFixed(1)} s`);
    }

    const after = await check("after up");
    if (!up || up.code !== 0) return finish(RENEW_EXIT.failed, "the up failed; see the lines above", after.j);
    if (after.r.unreadable.length || after.r.due.length) {
        const nodes = [...new Set([...after.r.unreadable.map((u) => u.node), ...after.r.due.map((f) => f.node)])];
        return finish(RENEW_EXIT.failed, `still due after the up on ${nodes.join(", ")}`, after.j);
    }
    if (after.r.attention.length) return finish(RENEW_EXIT.failed, `nothing due after the up; ${after.r.attention.length} file(s) need a person (attention lines)`, after.j);
    return finish(RENEW_EXIT.ok, "all well after the up", after.j);
}
