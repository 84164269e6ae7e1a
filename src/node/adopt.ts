/**
 * Adoption, node side: reads a CA's or the sa key pair's files once, through the kit's
 * read-adopted script, as a secret command output. src/pki says what to read and where the
 * resource sits (its name and parent, so URNs stay put); this module knows how to reach the node.
 */
import type { AdoptReader } from "../pki/authority";
import { currentKit, kitCommand } from "./kit";
import type { NodeKit } from "./kit-ship";
import { nodeCommand } from "./transport";

/** The reader ClusterPki's adoptions call: one protected command on the node, with its kit (if shipped). */
export function adoptReader(kits?: Readonly<Record<string, NodeKit>>): AdoptReader {
    return (name, node, paths, parent) => {
        const kit = kits?.[node.name];
        const read = nodeCommand(name, node, {
            create: kitCommand(kit?.id ?? currentKit().id, node.name, node.localRoot, "read-adopted", [...(node.localRoot ? ["--root", node.localRoot] : []), ...paths]),
            secretOutput: true,
        }, {
            parent,
            dependsOn: kit?.ready ?? [],
            // Protected like a generated CA: deleting this reading would drop the CA from state.
            protect: true,
            ignoreChanges: ["create", "update", "connection", "interpreter", "triggers", "stdin", "logging"],
        });
        return read.stdout;
    };
}
