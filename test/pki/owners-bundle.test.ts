/**
 * A planned file's owner reaches the node: ClusterPki's wanted file carries it, the node bundle
 * writes it in the F line install.sh chowns from, and the install trigger changes with it. Files
 * without an owner keep "-" and their trigger text.
 */
import { describe, expect, it } from "vitest";
import { parseBundle } from "../../src/node/bundle-format";
import { fileFingerprints, nodeBundle } from "../../src/node/bundle";
import { ClusterPki } from "../../src/pki/cluster-pki";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { runProgram } from "../harness/mocks/run-program";

const KEY = "/etc/kubernetes/pki/etcd/server.key";

async function master1(spec: ClusterSpec) {
    let bundle = "";
    let prints: Record<string, string> = {};
    let owner: string | undefined;
    await runProgram(() => {
        const node = new ClusterPki(spec.name, { cluster: spec }).nodes["master-1"];
        owner = node.files.find((f) => f.path === KEY)?.owner;
        nodeBundle(node).apply((b) => { bundle = b; });
        fileFingerprints(node.files).apply((p) => { prints = p; });
        return {};
    }, { mocks: "echo" });
    return { owner, files: parseBundle(bundle).files, prints };
}

describe("owner pass-through to the node", () => {
    it("etcd/server.key owned by etcd:etcd: in the wanted file, the bundle and the install trigger; other files unchanged", async () => {
        const plain = await master1(haCluster("1.30.4", 0));
        const base = haCluster("1.30.4", 0);
        const owned = await master1({ ...base, layout: { ...base.layout, owners: { "etcd/server.key": "etcd:etcd" } } });
        expect(plain.owner).toBeUndefined();
        expect(owned.owner).toBe("etcd:etcd");
        expect(owned.files.filter((f) => f.owner !== undefined).map((f) => [f.path, f.owner])).toEqual([[KEY, "etcd:etcd"]]);
        expect(plain.files.filter((f) => f.owner !== undefined)).toEqual([]);
        expect(owned.prints[KEY]).toMatch(/^sha256:[0-9a-f]{64} owner=etcd:etcd$/);
        expect(plain.prints[KEY]).toMatch(/^sha256:[0-9a-f]{64}$/);
        for (const [path, print] of Object.entries(plain.prints)) {
            if (path !== KEY) expect(owned.prints[path], path).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(print).toMatch(/^sha256:[0-9a-f]{64}$/);
        }
    });
});
