/**
 * The `kube-pki` command line. `run` is the one place that turns outcomes into an exit code and
 * printed messages: commands return codes, problems are thrown as CliError and printed here.
 */
import { Command, CommanderError } from "commander";
import { checkCommand } from "./commands/check";
import { devCommand } from "./commands/dev";
import { hostKeysCommand } from "./commands/host-keys";
import { renewCommand } from "./commands/renew";
import { CliError, EXIT_USAGE } from "./errors";
import { processIo, type CliIo } from "./io";

export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
    let exitCode = 0;
    const program = new Command("kube-pki")
        .description("Control-plane PKI of self-hosted Kubernetes clusters")
        .exitOverride()
        .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    program.addCommand(checkCommand(io, (code) => { exitCode = code; }));
    program.addCommand(devCommand(io, (code) => { exitCode = code; }));
    program.addCommand(hostKeysCommand(io, (code) => { exitCode = code; }));
    program.addCommand(renewCommand(io, (code) => { exitCode = code; }));
    // Subcommands inherit the override and output, so help/usage errors come back here too.
    for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    try {
        await program.parseAsync([...argv], { from: "user" });
        return exitCode;
    } catch (err) {
        if (err instanceof CommanderError) {
            return err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version" ? 0 : EXIT_USAGE;
        }
        if (err instanceof CliError) {
            io.stderr(`kube-pki: ${err.message}\n`);
            return EXIT_USAGE;
        }
        io.stderr(`kube-pki: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
        return EXIT_USAGE;
    }
}
