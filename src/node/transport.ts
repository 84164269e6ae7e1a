/**
 * One way to run a command on a node, whatever the transport: `remote.Command` over SSH, or
 * `local.Command` for a local-directory node (the dev stack). Every command gets the same
 * safety defaults: no previous output in the environment, no delete action (destroy never
 * touches a node), and secret stdin.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { NodeSpec } from "../spec";

export interface NodeCommandArgs {
    /** The command line (one short line calling the node kit, src/node/kit.ts). Never carries secrets. */
    create: pulumi.Input<string>;
    /**
     * Runs instead of `create` when an input other than `triggers` changes (SSH details, timeouts,
     * a new kube-pki version): the provider re-runs `create` when no `update` is set, and what
     * runs replaces stdout/stderr. Never disruptive.
     */
    update?: pulumi.Input<string>;
    /** Sent on stdin; always stored as a secret. */
    stdin?: pulumi.Input<string>;
    /** Replacement triggers (fingerprints, never content). */
    triggers?: pulumi.Input<any[]>;
    /** The command's stdout holds secret material (CA adoption): never log it, keep it secret. */
    secretOutput?: boolean;
}

/** The SSH connection of a node, with the login key as a secret. */
export function connectionOf(node: NodeSpec): command.types.input.remote.ConnectionArgs {
    if (!node.ssh) throw new Error(`node "${node.name}" has no ssh settings`);
    return {
        host: node.ssh.host,
        port: node.ssh.port,
        user: node.ssh.user,
        privateKey: pulumi.secret(node.ssh.privateKey),
        ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}),
        dialErrorLimit: 3,
    };
}

export type NodeCommand = command.remote.Command | command.local.Command;

export function nodeCommand(
    name: string,
    node: NodeSpec,
    args: NodeCommandArgs,
    opts: pulumi.CustomResourceOptions,
): NodeCommand {
    const secretOutputs = args.secretOutput ? ["stdout", "stderr", "stdin"] : ["stdin"];
    const common = {
        create: args.create,
        ...(args.update === undefined ? {} : { update: args.update }),
        stdin: args.stdin === undefined ? undefined : pulumi.secret(args.stdin),
        triggers: args.triggers,
        // The provider would otherwise put the previous stdout into the next run's environment.
        addPreviousOutputInEnv: false,
        logging: args.secretOutput ? "none" : "stdoutAndStderr",
    } as const;
    const options: pulumi.CustomResourceOptions = {
        ...opts,
        additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), ...secretOutputs],
    };
    if (node.transport === "local") {
        return new command.local.Command(name, { ...common, interpreter: ["/bin/sh", "-c"] }, options);
    }
    return new command.remote.Command(name, { ...common, connection: connectionOf(node) }, options);
}
