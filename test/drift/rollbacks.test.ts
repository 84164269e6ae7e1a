/**
 * The rollback counter travels from the node to the program: inventory.sh prints it, the parser
 * keeps it, a node without one reads as never rolled back.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readInventories } from "../../src/drift/inventory";
import { KUBEADM_LAYOUT } from "../../src/pki/layout";
import type { NodeSpec } from "../../src/spec";

function localNode(name: string, rollbacks?: string): NodeSpec {
    const root = mkdtempSync(join(tmpdir(), "kube-pki-rollbacks-"));
    if (rollbacks !== undefined) {
        mkdirSync(join(root, "var/lib/kube-pki/backups"), { recursive: true, mode: 0o700 });
        writeFileSync(join(root, "var/lib/kube-pki/backups/rollbacks"), rollbacks);
    }
    return { name, role: "master", advertiseAddress: "127.0.0.1", transport: "local", localRoot: root };
}

describe("rollback counter in the inventory", () => {
    it("reads the count rotate.sh left, ignores garbage, and reports none without a counter", async () => {
        const [rolled, garbage, fresh] = await readInventories(
            [localNode("rolled", "3\n"), localNode("garbage", "x1\n"), localNode("fresh")], KUBEADM_LAYOUT, { checkServed: false });
        expect(rolled.reachable).toBe(true);
        expect(rolled.rollbacks).toBe(3);
        expect(garbage.rollbacks).toBeUndefined();
        expect(fresh.rollbacks).toBeUndefined();
    });
});
