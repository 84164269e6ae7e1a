/**
 * decideSaRotation (src/pki/sa-rotation.ts): the phase of a service-account key rotation, from
 * node readings built as inventory.sh's output is parsed (real keys: sa.pub's PEM and sa.key's
 * public half). Applying a phase's contents (PHASE_CONTENTS) to a node is what a finished `up` leaves.
 */
import { generateKeyPairSync } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { assembleFiles, type NodeInventory } from "../../src/drift/inventory";
import type { RawInventory } from "../../src/drift/script-output";
import { PHASE_CONTENTS, type RotationPhase } from "../../src/pki/ca-rotation";
import { planCluster } from "../../src/pki/plan";
import { decideSaRotation } from "../../src/pki/sa-rotation";
import type { ClusterSpec, SaRotationSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";

type Side = "old" | "new";
interface NodeState { pub: Side[]; key: Side; unreachable?: true; pubMissing?: true; pkcs1?: true }
const PRE: NodeState = { pub: ["old"], key: "old" };
const after = (phase: RotationPhase): NodeState => ({ pub: [...PHASE_CONTENTS[phase].trust], key: PHASE_CONTENTS[phase].key });

interface Pair { privatePem: string; spki: string; pkcs1?: string }
let keys: Record<Side, Pair>;
beforeAll(() => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    keys = {
        old: {
            privatePem: rsa.privateKey.export({ type: "pkcs1", format: "pem" }) as string,
            spki: rsa.publicKey.export({ type: "spki", format: "pem" }) as string,
            pkcs1: rsa.publicKey.export({ type: "pkcs1", format: "pem" }) as string,
        },
        new: { privatePem: ec.privateKey.export({ type: "pkcs8", format: "pem" }) as string, spki: ec.publicKey.export({ type: "spki", format: "pem" }) as string },
    };
});

const cluster: ClusterSpec = haCluster("1.30.4", 1);
const masters = ["master-1", "master-2", "master-3"];
const all = (state: NodeState) => Object.fromEntries(masters.map((n) => [n, state]));

/** What inventory.sh reports of sa.pub (its PEM) and sa.key (its public half, as keypub/openssl would give it). */
function inventories(states: Record<string, NodeState>): NodeInventory[] {
    const plan = planCluster(cluster);
    return cluster.nodes.map((node) => {
        const s = states[node.name] ?? PRE;
        if (s.unreachable) return { node: node.name, role: node.role, reachable: false, error: "ssh: connect: connection refused", files: [], served: [] };
        const pub = plan.nodes[node.name].files.find((f) => f.key === "sa.pub");
        const key = plan.nodes[node.name].files.find((f) => f.key === "sa.key");
        const raw: RawInventory = {
            files: new Map(), pairs: new Map(), pubs: new Map(), pubLists: new Map(), kubeconfigs: new Map(), links: new Map(),
            served: [], installed: new Map(), rollbacks: 0, complete: true,
        } as unknown as RawInventory;
        if (pub && key) {
            raw.files.set(pub.path, { path: pub.path, state: s.pubMissing ? "absent" : "present", pems: [] } as never);
            raw.files.set(key.path, { path: key.path, state: "present", pems: [] } as never);
            raw.pubLists.set(pub.path, s.pub.map((side) => (s.pkcs1 && keys[side].pkcs1) || keys[side].spki));
            raw.pubs.set(pub.path, keys[s.pub[0]].spki);
            raw.pubs.set(key.path, keys[s.key].spki);
        }
        return { node: node.name, role: node.role, reachable: true, files: assembleFiles(raw, cluster.layout, node), served: [] };
    });
}

const decide = (states: Record<string, NodeState>, abort = false) => {
    const spec: SaRotationSpec = { id: "2027", keyFile: "/p/sa-2027.key", keyPem: keys.new.privatePem, publicKeyPem: keys.new.spki, abort };
    return decideSaRotation({ spec, cluster, inventories: inventories(states) });
};

describe("service-account key rotation: the phase from the masters' sa.pub and sa.key", () => {
    it("walks trust-both → reissue → drop-old, one phase per up, then stays complete", () => {
        const walk: Array<[NodeState, RotationPhase, boolean, RegExp]> = [
            [PRE, "trust-both", false, /^service-account key rotation → 2027: phase 1 of 3 \(trust both\) next: sa\.pub on 3 masters; restarts kube-apiserver$/],
            [after("trust-both"), "reissue", false, /^service-account key rotation → 2027: phase 2 of 3 \(reissue\) next: sa\.pub on 3 masters; sa\.key on 3 masters; restarts kube-apiserver, kube-controller-manager$/],
            [after("reissue"), "drop-old", false, /^service-account key rotation → 2027: phase 3 of 3 \(drop the old key\) next: sa\.pub on 3 masters; restarts kube-apiserver; tokens signed by the old key are refused from then on/],
            [after("drop-old"), "drop-old", true, /^service-account key rotation → 2027: complete \(every master's sa\.pub holds only the new key\)$/],
        ];
        for (const [state, phase, complete, summary] of walk) {
            const d = decide(all(state));
            expect(d, JSON.stringify(state)).toMatchObject({ id: "2027", phase, complete });
            expect(d.held).toBeUndefined();
            expect(d.summary).toMatch(summary);
            // The keys other than the new one the masters hold: the stack's old key while any is left.
            expect(d.oldSeen).toEqual(state.pub.includes("old") ? [keys.old.spki] : []);
        }
    });

    it("judges the masters only, and reads an old key kept in PKCS#1 form (\"RSA PUBLIC KEY\") as the same key", () => {
        const d = decide({ ...all({ ...after("trust-both"), pkcs1: true }), "worker-1": { ...PRE, unreachable: true } });
        expect(Object.keys(d.nodes)).toEqual(masters);
        expect(d).toMatchObject({ phase: "reissue", complete: false });
        expect(Object.values(d.nodes).map((n) => n.stage)).toEqual(["S1", "S1", "S1"]);
    });

    it("a master behind keeps the phase the others did: no master signs with the new key before every apiserver accepts it", () => {
        const behind = decide({ ...all(after("trust-both")), "master-3": PRE });
        expect(behind.phase).toBe("trust-both");
        expect(behind.summary).toMatch(/next: sa\.pub on 1 master; restarts kube-apiserver$/);
        expect(decide({ ...all(after("trust-both")), "master-1": after("reissue") }).phase).toBe("reissue");
        // sa.pub already leads with the new key but sa.key is still the old: not reissued.
        const keyBehind = decide({ ...all(after("reissue")), "master-2": { pub: ["new", "old"], key: "old" } });
        expect(keyBehind.phase).toBe("reissue");
        expect(keyBehind.nodes["master-2"].stage).toBe("S1");
    });

    it("an unread master or a missing sa.pub holds the rotation at the phase the others completed, naming why", () => {
        const unread = decide({ ...all(after("trust-both")), "master-2": { ...PRE, unreachable: true } });
        expect(unread).toMatchObject({ phase: "trust-both", complete: false });
        expect(unread.held).toBe("master-2 not read (ssh: connect: connection refused)");
        expect(unread.summary).toMatch(/held at phase 1 of 3 \(trust both\): master-2 not read/);
        const missing = decide({ ...all(after("reissue")), "master-3": { ...after("reissue"), pubMissing: true } });
        expect(missing).toMatchObject({ phase: "reissue", held: "master-3: sa.pub missing" });
    });

    it("abort walks back: sign with the old key again, then drop the new; refused once the rotation is complete", () => {
        expect(decide(all(after("trust-both")), true)).toMatchObject({ phase: "abort-drop-new", complete: false });
        const fromReissue = decide(all(after("reissue")), true);
        expect(fromReissue.phase).toBe("abort-trust");
        expect(fromReissue.summary).toMatch(/abort 1 of 2 \(sign with the old key again, both trusted\) next: sa\.pub on 3 masters; sa\.key on 3 masters; restarts kube-apiserver, kube-controller-manager$/);
        expect(decide(all(after("abort-trust")), true).phase).toBe("abort-drop-new");
        expect(decide(all(after("abort-drop-new")), true)).toMatchObject({ phase: "abort-drop-new", complete: true });
        // Nothing started: the abort is complete at once and changes nothing.
        expect(decide(all(PRE), true)).toMatchObject({ phase: "abort-drop-new", complete: true });
        expect(() => decide(all(after("drop-old")), true)).toThrow(/^kube-pki:authorities\.rotate\.serviceAccount\.abort: the rotation of the service-account key to 2027 is complete .* remove abort \(a second rotation, back or onward, is not supported yet\)$/);
    });
});
