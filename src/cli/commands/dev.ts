/**
 * `kube-pki dev` (`npm run dev`): the README's first command. Runs the dev stack on a fresh machine
 * with only Node and the Pulumi CLI: no account, no stack to create by hand, no prompt, and
 * nothing of the user's own Pulumi set-up touched (login, selected stack, other stacks).
 *
 * Every Pulumi flag below was checked in the Pulumi CLI source (github.com/pulumi/pulumi, tag v3.248.0,
 * the version of @pulumi/pulumi pinned here; unchanged at master 1b59498 of 2026-08-21):
 *  - `stack ls --json`: pkg/cmd/pulumi/stack/stack_list.go:54 (alias ls), :82 (--json); the JSON rows
 *    carry `name` (stackSummaryJSON), the bare stack name inside its own project (pkg/backend/diy/backend.go
 *    diyBackendReference.String).
 *  - `stack init`: an alias of `stack new`, pkg/cmd/pulumi/stack/stack_new.go:45; --secrets-provider :93;
 *    --no-select :97. Without --no-select it selects the stack in the workspace settings shared by every
 *    backend (pkg/backend/state/stacks.go:85 SetCurrentStack, called from stack/io.go:429), which would
 *    change the stack a user's own `pulumi up` in this checkout picks.
 *  - `up`: --stack/-s pkg/cmd/pulumi/operations/up.go:731, --yes :851; --skip-preview :835 is left off:
 *    the preview catches a program error before anything is written, and it is what `renew` runs too.
 *  - --non-interactive: a root flag, pkg/cmd/pulumi/pulumi.go:450.
 *  - PULUMI_BACKEND_URL wins over Pulumi.yaml backend.url and the stored login (pkg/workspace/creds.go:31-50);
 *    with a URL at hand no login is stored (pkg/cmd/pulumi/backend/backend.go:87 → login_manager.go:93-96).
 *    A file:// backend's directory must exist (gocloud fileblob openBucket stats it), hence the mkdir.
 *  - An empty PULUMI_CONFIG_PASSPHRASE counts as set: os.LookupEnv, pkg/secrets/passphrase/manager.go:380;
 *    PULUMI_CONFIG_PASSPHRASE_FILE is read only when it is unset (:385), so it is removed to leave no doubt.
 *  - PULUMI_SKIP_UPDATE_CHECK: sdk/go/common/env/env.go (SkipUpdateCheck, "1" or "true").
 */
import { Command, Option } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { filePath, onNode } from "../../pki/layout";
import { CliError } from "../errors";
import type { CliIo } from "../io";
import { findPulumi, PROJECT_DIR, resourceSummary, runPulumi, type PulumiResult } from "../pulumi-cli";
import { targetsFromStack } from "../targets";

export const DEV_STACK = "dev";
/** The project-local state directory (a Pulumi file backend), beside Pulumi.yaml. */
export const STATE_DIR = ".pulumi-state";
export const INSTALL_HINT = "curl -fsSL https://get.pulumi.com | sh";

/** Exit codes: 0 the dev stack is up; 2 a Pulumi call failed; 3 nothing was run. */
export const DEV_EXIT = { ok: 0, pulumiFailed: 2, notRun: 3 } as const;

export interface DevOptions {
    /** The kube-pki checkout holding Pulumi.yaml. */
    projectDir: string;
    /** Path of the pulumi binary (default: PATH, then ~/.pulumi/bin). */
    pulumi?: string;
}

const HELP_AFTER = `
Runs the dev stack (stacks/Pulumi.${DEV_STACK}.yaml: one "node" that is a local directory) with a
Pulumi file backend under <project>/${STATE_DIR} and an empty passphrase, creating the stack when
missing. Your own Pulumi login, selected stack and other stacks are left as they are.

Exit codes:
  0  the dev stack is up to date
  2  a pulumi call failed (its output says why)
  3  nothing was run (pulumi not found, unusable project or stack file)`;

export function devCommand(io: CliIo, setExitCode: (code: number) => void, env: NodeJS.ProcessEnv = process.env): Command {
    return new Command("dev")
        .description("Set up and run the local dev stack: no Pulumi account, no prompts (npm run dev)")
        .addOption(new Option("--project-dir <dir>", "the kube-pki checkout holding Pulumi.yaml").default(PROJECT_DIR, "this checkout"))
        .option("--pulumi <path>", "the pulumi binary (default: PATH, then ~/.pulumi/bin)")
        .addHelpText("after", HELP_AFTER)
        .action(async (opts: DevOptions) => {
            setExitCode(await runDev(opts, io, env));
        });
}

/** The environment of every pulumi call: the caller's, pinned to the project's own backend and dev passphrase. */
export function devEnvironment(env: NodeJS.ProcessEnv, projectDir: string): NodeJS.ProcessEnv {
    const out: NodeJS.ProcessEnv = { ...env };
    delete out.PULUMI_CONFIG_PASSPHRASE_FILE;
    // pathToFileURL percent-encodes what Pulumi's URL parsing would split on (space, ?, #, %).
    out.PULUMI_BACKEND_URL = pathToFileURL(path.join(projectDir, STATE_DIR)).href;
    // The dev stack holds no real secret (its keys are for a directory); empty is a valid passphrase.
    out.PULUMI_CONFIG_PASSPHRASE = "";
    out.PULUMI_SKIP_UPDATE_CHECK = "true";
    return out;
}

/** "+ 20 created" → "created 20 resources"; only "N unchanged" lines → "nothing changed (N resources unchanged)". */
export function describeSummary(lines: readonly string[]): string {
    const counts = lines.map((l) => /^(?:\+-|-\+|[+~-])?\s*(\d+) (.+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ n: Number(m[1]), what: m[2] }));
    const plural = (n: number) => `${n} resource${n === 1 ? "" : "s"}`;
    if (counts.length === 0) return "done (Pulumi printed no resource summary)";
    const unchanged = counts.filter((c) => c.what === "unchanged").reduce((s, c) => s + c.n, 0);
    const changed = counts.filter((c) => c.what !== "unchanged");
    if (changed.length === 0) return `nothing changed (${plural(unchanged)} unchanged)`;
    return changed.map((c) => `${c.what} ${plural(c.n)}`).join(", ") + (unchanged ? ` (${unchanged} unchanged)` : "");
}

/** The last "Resources:" block: `up` without --skip-preview prints the preview's block first. */
function updateSummary(output: string): string[] {
    const at = output.lastIndexOf("Resources:");
    return at < 0 ? [] : resourceSummary(output.slice(at));
}

export async function runDev(opts: DevOptions, io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
    const projectDir = path.resolve(io.cwd, opts.projectDir);
    if (!fs.existsSync(path.join(projectDir, "Pulumi.yaml"))) {
        throw new CliError(`${projectDir} holds no Pulumi.yaml: --project-dir must name the kube-pki checkout`);
    }
    // The stack file first: what is wrong with it is said before anything runs, and it says where the tree goes.
    const targets = targetsFromStack({ stack: DEV_STACK, stacksDir: path.join(projectDir, "stacks"), cwd: projectDir });
    const pulumi = findPulumi(env, opts.pulumi);
    if (!pulumi) {
        throw new CliError(opts.pulumi
            ? `--pulumi ${opts.pulumi} is not an executable file`
            : `the Pulumi CLI was not found on PATH or in ~/.pulumi/bin. Install it (no account needed for the dev stack):\n  ${INSTALL_HINT}`);
    }

    const stateDir = path.join(projectDir, STATE_DIR);
    // 0700: the state holds the dev stack's keys, encrypted with the empty passphrase.
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const pulumiEnv = devEnvironment(env, projectDir);
    io.stdout(`kube-pki dev: stack ${DEV_STACK}, state in ${stateDir} (a Pulumi file backend), empty passphrase; your Pulumi login is not changed\n`);

    const call = (args: string[], mirror: boolean): Promise<PulumiResult> =>
        runPulumi(args, { pulumi, cwd: projectDir, env: pulumiEnv, onOutput: mirror ? (t, s) => (s === "stdout" ? io.stdout(t) : io.stderr(t)) : undefined });
    const failed = (what: string, r: PulumiResult, mirrored: boolean) => {
        if (!mirrored) io.stderr(r.stdout + r.stderr);
        io.stderr(`kube-pki dev: ${what} failed (exit ${r.code ?? "killed"}); see Pulumi's output above\n`);
        return DEV_EXIT.pulumiFailed;
    };

    const ls = await call(["stack", "ls", "--json"], false);
    if (ls.code !== 0) return failed("pulumi stack ls --json", ls, false);
    let stacks: { name?: unknown }[];
    try {
        stacks = JSON.parse(ls.stdout) as { name?: unknown }[];
    } catch {
        io.stderr(ls.stdout);
        io.stderr(`kube-pki dev: pulumi stack ls --json printed no JSON\n`);
        return DEV_EXIT.pulumiFailed;
    }
    // Inside its own project a stack is listed by its bare name; fully qualified as organization/<project>/dev otherwise.
    const exists = stacks.some((s) => typeof s.name === "string" && (s.name === DEV_STACK || s.name.endsWith(`/${DEV_STACK}`)));
    if (!exists) {
        io.stdout(`kube-pki dev: creating stack ${DEV_STACK}\n`);
        const init = await call(["stack", "init", DEV_STACK, "--secrets-provider", "passphrase", "--no-select", "--non-interactive"], true);
        if (init.code !== 0) return failed(`pulumi stack init ${DEV_STACK}`, init, true);
    }

    const up = await call(["up", "--stack", DEV_STACK, "--yes", "--non-interactive"], true);
    if (up.code !== 0) return failed(`pulumi up --stack ${DEV_STACK}`, up, true);

    const node = targets.nodes[0];
    const rel = (p: string) => path.relative(projectDir, p) || ".";
    const apiserverCrt = rel(onNode(node.localRoot, filePath(targets.layout, "apiserver.crt", node)));
    const adminConf = rel(onNode(node.localRoot, filePath(targets.layout, "admin.conf", node)));
    const tree = rel(onNode(node.localRoot, targets.layout.kubernetesDir));
    io.stdout(`\nkube-pki dev: ${describeSummary(updateSummary(up.stdout))}.\n` +
        `The kubeadm tree of ${node.name} is in ${path.join(projectDir, tree)}. Look at it from ${projectDir}:\n` +
        `  openssl x509 -in ${apiserverCrt} -noout -text\n` +
        `  kubectl --kubeconfig ${adminConf} config view\n`);
    return DEV_EXIT.ok;
}
