/**
 * Ships the kit (src/node/kit.ts) to every node once: a copy to /var/lib/kube-pki/kit/.incoming/<id>
 * (`remote.CopyToRemote` of a FileArchive over SSH; a local `cp` for a local-directory node), then
 * one short activation command that checks it and moves it into place. Both are triggered by the
 * kit id only, so a kube-pki upgrade replaces them and nothing else ships the scripts.
 *
 * A kit deleted or altered on the node after it was shipped gets a re-ship pair (`-reship`) that
 * exists only while the inventory reports the kit missing or altered, ordered after the main pair:
 * it disappears the next run and its deletion does nothing on the node. Neither pair has a delete
 * action: destroy leaves the kit on the node.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec, NodeSpec } from "../spec";
import { activationCommand, currentKit, KIT_INCOMING, type Kit } from "./kit";
import { stageKit } from "./kit-stage";
import { shellQuote } from "./scripts";
import { connectionOf, nodeCommand } from "./transport";

/** What the inventory found of the wanted kit on a node that needs it shipped again. */
export interface KitReship {
    problem: "missing" | "altered";
    /**
     * Changes whenever the kit is removed, shipped or edited (inodes and mtimes on the node): it
     * triggers the re-ship, so a re-ship still in state from the run before ships again.
     */
    signature: string;
}

export interface NodeKit {
    /** The kit id the node's commands call. */
    readonly id: string;
    /** Node commands depend on these (the activation, and the re-ship's when there is one). */
    readonly ready: pulumi.Resource[];
}

export interface NodeKitsArgs {
    readonly cluster: ClusterSpec;
    /** Nodes whose kit must be shipped again (from the inventory), by node name. */
    readonly reship?: Readonly<Record<string, KitReship>>;
    /** The kit (default: this package's scripts). */
    readonly kit?: Kit;
}

export class NodeKits extends pulumi.ComponentResource {
    /** Per node name: the kit id and the resources a command must wait for. */
    public readonly nodes: Record<string, NodeKit>;
    public readonly id: string;

    /**
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: NodeKitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:NodeKits", name, {}, opts);
        const kit = args.kit ?? currentKit();
        const staged = stageKit(kit);
        this.id = kit.id;
        this.nodes = {};
        for (const node of args.cluster.nodes) {
            const main = shipKit(`${name}-${node.name}`, node, [kit.id], staged, [], this);
            const ready: pulumi.Resource[] = [main];
            const reship = args.reship?.[node.name];
            if (reship) ready.push(shipKit(`${name}-${node.name}-reship`, node, [kit.id, reship.signature], staged, [main], this));
            this.nodes[node.name] = { id: kit.id, ready };
        }
        this.registerOutputs({ id: this.id });
    }
}

/** Copy + activation for one node; returns the activation. */
function shipKit(name: string, node: NodeSpec, triggers: string[], staged: string, after: pulumi.Resource[], parent: pulumi.Resource): pulumi.Resource {
    const id = triggers[0];
    const root = node.transport === "local" ? node.localRoot : undefined;
    const copy = node.transport === "local"
        ? localCopy(name, node, triggers, staged, after, parent)
        : new command.remote.CopyToRemote(name, {
            connection: connectionOf(node),
            // The staged folder is named <id>: it lands at .incoming/<id> (copyController.go sftpCopy).
            source: new pulumi.asset.FileArchive(staged),
            remotePath: KIT_INCOMING,
            triggers,
        }, { parent, dependsOn: after });
    return nodeCommand(`${name}-activate`, node, {
        create: activationCommand(id, node.name, root),
        // A changed connection alone ships nothing, so there is nothing to activate.
        update: `echo "kit ${id}: settings changed, nothing shipped"`,
        triggers,
    }, { parent, dependsOn: [copy] });
}

/** The local transport's copy (CopyToRemote is SSH only): from the staged folder into <root>/…/.incoming/<id>. */
function localCopy(name: string, node: NodeSpec, triggers: string[], staged: string, after: pulumi.Resource[], parent: pulumi.Resource): pulumi.Resource {
    const id = triggers[0];
    const incoming = shellQuote(`${node.localRoot ?? ""}${KIT_INCOMING}`);
    return new command.local.Command(name, {
        create: `rm -rf ${incoming}/${id} && mkdir -p ${incoming} && cp -R ${shellQuote(staged)} ${incoming}/${id}`,
        // The staged folder moved (another checkout): the same id is already shipped.
        update: `echo "kit ${id}: settings changed, nothing shipped"`,
        triggers,
        addPreviousOutputInEnv: false,
    }, { parent, dependsOn: after });
}
