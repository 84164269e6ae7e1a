/**
 * decideRotation (src/pki/ca-rotation.ts): the phase the next `up` declares, from node readings
 * built with real certificates and parsed as inventory.sh's output is (test/drift/rotation-certs.ts).
 * A "world" says per node what its trust anchors hold (old/new, in order) and which CA signed its
 * leaves; applying a phase's contents (PHASE_CONTENTS) to nodes is what a finished `up` leaves.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseCert } from "../../src/drift/cert-info";
import { assembleFiles, type NodeInventory, type ServedCert } from "../../src/drift/inventory";
import { parseInventoryOutput } from "../../src/drift/script-output";
import { decideRotation, PHASE_CONTENTS, rotationMarker, type RotationPhase } from "../../src/pki/ca-rotation";
import type { CaId } from "../../src/pki/catalog";
import { KUBELET_CLIENT_CURRENT } from "../../src/pki/layout";
import { planCluster } from "../../src/pki/plan";
import type { CaRotationSpec, ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { makeCa, makeLeaf, scriptOutput, type ScriptFile, type TestCa } from "../drift/rotation-certs";

type Side = "old" | "new";
interface FileState { trust?: Side[]; signer?: Side; absent?: true }
interface NodeState {
    trust: Side[];
    signer: Side;
    /** By plan file key (or "kubelet-client-current"). */
    files?: Record<string, FileState>;
    unreachable?: true;
    /** A component serves a certificate other than the one on disk (etcd on masters). */
    servedMismatch?: true;
}
const PRE: NodeState = { trust: ["old"], signer: "old" };
const after = (phase: RotationPhase): NodeState => ({ trust: [...PHASE_CONTENTS[phase].trust], signer: PHASE_CONTENTS[phase].signer });

const CN: Record<CaId, string> = { "ca": "kubernetes", "front-proxy-ca": "front-proxy-ca", "etcd-ca": "etcd-ca" };
const ID = "2027";

let old: Record<CaId, TestCa>;
let generated: Record<CaId, TestCa>;
let adopted: TestCa;
let otherRotation: TestCa;
const leaves = new Map<string, string>();

beforeAll(async () => {
    old = { "ca": await makeCa(CN.ca), "front-proxy-ca": await makeCa(CN["front-proxy-ca"]), "etcd-ca": await makeCa(CN["etcd-ca"]) };
    generated = { "ca": await makeCa(CN.ca, rotationMarker(ID)), "front-proxy-ca": await makeCa(CN["front-proxy-ca"], rotationMarker(ID)), "etcd-ca": await makeCa(CN["etcd-ca"], rotationMarker(ID)) };
    // Adopted: the operator's own CA, same CN, no marker.
    adopted = await makeCa(CN["etcd-ca"]);
    otherRotation = await makeCa(CN["etcd-ca"], rotationMarker("2026"));
    for (const ca of [...Object.values(old), ...Object.values(generated), adopted, otherRotation]) leaves.set(ca.pem, await makeLeaf("leaf", ca));
});

interface World {
    cluster: ClusterSpec;
    ca: CaId;
    /** The new CA's certificate (generated or adopted). */
    newCa: () => TestCa;
}

/** Node readings of a world in these states (unlisted nodes: `fallback`). */
function inventories(w: World, states: Record<string, NodeState>, fallback: NodeState = PRE): NodeInventory[] {
    const plan = planCluster(w.cluster);
    const caOf = (side: Side, id: CaId) => (id === w.ca && side === "new" ? w.newCa() : old[id]);
    return w.cluster.nodes.map((node) => {
        const s = states[node.name] ?? fallback;
        if (s.unreachable) return { node: node.name, role: node.role, reachable: false, error: "ssh: connect: connection refused", files: [], served: [] };
        const fileState = (key: string): Required<Pick<FileState, "trust" | "signer">> & FileState => ({ trust: s.trust, signer: s.signer, ...s.files?.[key] });
        const out: ScriptFile[] = [];
        const leafOf = (issuer: CaId, fs: { signer: Side }) => leaves.get(caOf(issuer === w.ca ? fs.signer : "old", issuer).pem)!;
        for (const f of plan.nodes[node.name].files) {
            const fs = fileState(f.key);
            const m = f.material;
            if (fs.absent) { out.push({ path: f.path, absent: true }); continue; }
            if (m.kind === "ca-cert") {
                out.push({ path: f.path, pems: m.ca === w.ca ? fs.trust.map((side) => caOf(side, m.ca).pem) : [old[m.ca].pem] });
            } else if (m.kind === "leaf-cert") {
                out.push({ path: f.path, pems: [leafOf(plan.certificates.get(m.certificate)!.issuer, fs)] });
            } else if (m.kind === "kubeconfig" || m.kind === "rotating-kubeconfig") {
                const caPems = w.ca === "ca" ? fs.trust.map((side) => caOf(side, "ca").pem) : [old.ca.pem];
                out.push({ path: f.path, caPems, ...(m.kind === "kubeconfig" ? { clientPem: leafOf("ca", fs) } : {}) });
            }
        }
        // kubeadm's kubelet-client-current.pem: read in rotate mode, and here on demand in embedded mode too.
        if (w.cluster.kubelet.clientCertificate === "rotate" || s.files?.["kubelet-client-current"]) out.push({ path: KUBELET_CLIENT_CURRENT, pems: [leafOf("ca", fileState("kubelet-client-current"))] });
        const files = assembleFiles(parseInventoryOutput(scriptOutput(out)), w.cluster.layout, node);
        const served: ServedCert[] = [];
        const etcdServer = files.find((f) => f.key === "etcd/server.crt");
        if (node.role === "master" && etcdServer?.cert) {
            const cert = s.servedMismatch ? parseCert(leaves.get(old["front-proxy-ca"].pem)!) : etcdServer.cert;
            served.push({ component: "etcd", host: "127.0.0.1", port: 2379, diskPath: etcdServer.path, cert });
        }
        return { node: node.name, role: node.role, reachable: true, files, served };
    });
}

function decide(w: World, states: Record<string, NodeState>, opts: { abort?: boolean; source?: CaRotationSpec["source"]; fallback?: NodeState; pem?: string | null } = {}) {
    const source = opts.source ?? "generate";
    const spec: CaRotationSpec = { id: ID, source, abort: opts.abort ?? false, ...(source === "adopt" ? { certFile: "new-ca.crt", keyFile: "new-ca.key" } : {}) };
    const pem = opts.pem === null ? undefined : opts.pem ?? (source === "adopt" ? w.newCa().pem : undefined);
    return decideRotation({ ca: w.ca, spec, cluster: w.cluster, inventories: inventories(w, states, opts.fallback), ...(pem ? { newCaCertPem: pem } : {}) });
}

const masters = ["master-1", "master-2", "master-3"];
const all = (state: NodeState, names = masters) => Object.fromEntries(names.map((n) => [n, state]));

describe("etcd CA rotation (generated new CA: known by its marker)", () => {
    const w: World = { cluster: haCluster("1.30.4", 1), ca: "etcd-ca", newCa: () => generated["etcd-ca"] };

    it("walks trust-both → reissue → drop-old, one phase per up, then stays complete", () => {
        const walk: Array<[NodeState, RotationPhase, boolean, RegExp]> = [
            [PRE, "trust-both", false, /^CA rotation etcd-ca → 2027: phase 1 of 3 \(trust both\) next: etcd\/ca\.crt on 3 masters; restarts etcd, kube-apiserver$/],
            [after("trust-both"), "reissue", false, /^CA rotation etcd-ca → 2027: phase 2 of 3 \(reissue\) next: etcd\/ca\.crt on 3 masters; reissues 12 leaves on 3 nodes; restarts etcd, kube-apiserver$/],
            [after("reissue"), "drop-old", false, /^CA rotation etcd-ca → 2027: phase 3 of 3 \(drop the old CA\) next: etcd\/ca\.crt on 3 masters; restarts etcd, kube-apiserver$/],
            [after("drop-old"), "drop-old", true, /^CA rotation etcd-ca → 2027: complete \(every node trusts only the new CA\)$/],
        ];
        for (const [state, phase, complete, summary] of walk) {
            const d = decide(w, all(state));
            expect(d, JSON.stringify(state)).toMatchObject({ ca: "etcd-ca", id: ID, phase, complete });
            expect(d.held).toBeUndefined();
            expect(d.summary).toMatch(summary);
            // The CAs other than the new one the nodes trust: the stack's old one while any is left.
            expect(d.oldSeen).toEqual(state.trust.includes("old") ? [parseCert(old["etcd-ca"].pem).sha256] : []);
        }
    });

    it("judges masters only: the worker holds nothing of the etcd CA and an unreachable worker does not hold it", () => {
        const d = decide(w, { ...all(after("trust-both")), "worker-1": { ...PRE, unreachable: true } });
        expect(Object.keys(d.nodes)).toEqual(masters);
        expect(d).toMatchObject({ phase: "reissue", complete: false });
        expect(d.held).toBeUndefined();
        expect(Object.values(d.nodes).map((n) => n.stage)).toEqual(["S1", "S1", "S1"]);
    });

    it("a master behind keeps the phase the others already did (one node at a time is never skipped)", () => {
        const behind = decide(w, { ...all(after("trust-both")), "master-3": PRE });
        expect(behind.phase).toBe("trust-both");
        expect(behind.summary).toMatch(/next: etcd\/ca\.crt on 1 master; restarts/);
        expect(behind.nodes["master-3"].stage).toBe("S0");
        // One master reissued, the others not yet: reissue again.
        expect(decide(w, { ...all(after("trust-both")), "master-1": after("reissue") }).phase).toBe("reissue");
        // Leaves by the new CA but the key's file still leads with the old one (controller-manager would sign with it).
        const keyBehind = decide(w, { ...all(after("reissue")), "master-2": { trust: ["old", "new"], signer: "new" } });
        expect(keyBehind.phase).toBe("reissue");
        expect(keyBehind.nodes["master-2"].stage).toBe("S1");
        // One leaf still by the old CA.
        const leafBehind = decide(w, { ...all(after("reissue")), "master-1": { ...after("reissue"), files: { "etcd/peer.crt": { signer: "old" } } } });
        expect(leafBehind.phase).toBe("reissue");
        expect(leafBehind.summary).toMatch(/reissues 1 leaf on 1 node; restarts etcd$/);
    });

    it("holds on a master that was not read: declares what every read node already completed", () => {
        const unread = { ...PRE, unreachable: true as const };
        const cases: Array<[NodeState, RotationPhase]> = [[after("trust-both"), "trust-both"], [after("reissue"), "reissue"], [after("drop-old"), "drop-old"]];
        for (const [state, phase] of cases) {
            const d = decide(w, { ...all(state), "master-2": unread });
            expect(d).toMatchObject({ phase, complete: false });
            expect(d.held).toBe("master-2 not read (ssh: connect: connection refused)");
            expect(d.summary).toMatch(new RegExp(`^CA rotation etcd-ca → 2027: held at phase \\d of 3 \\(.*\\): master-2 not read`));
            expect(d.nodes["master-2"]).toEqual({ held: "master-2 not read (ssh: connect: connection refused)" });
        }
        // A master missing from the readings altogether is unread too.
        const readings = inventories(w, all(after("trust-both"))).filter((i) => i.node !== "master-3");
        const d = decideRotation({ ca: "etcd-ca", spec: { id: ID, source: "generate", abort: false }, cluster: w.cluster, inventories: readings });
        expect(d).toMatchObject({ phase: "trust-both", held: "master-3 not read" });
    });

    it("holds on a missing trust anchor and on a component serving other than its disk", () => {
        const missing = decide(w, { ...all(after("trust-both")), "master-3": { ...after("trust-both"), files: { "etcd/ca.crt": { absent: true } } } });
        expect(missing).toMatchObject({ phase: "trust-both", held: "master-3: etcd/ca.crt missing", complete: false });
        const served = decide(w, { ...all(after("reissue")), "master-1": { ...after("reissue"), servedMismatch: true } });
        expect(served.phase).toBe("reissue");
        expect(served.held).toMatch(/^master-1: etcd serves sha256:[0-9a-f]{8}… ≠ disk sha256:[0-9a-f]{8}…$/);
        expect(served.nodes["master-1"]).toMatchObject({ stage: "S2" });
    });

    it("a CA carrying another rotation's marker is not the new one", async () => {
        const other: World = { ...w, newCa: () => otherRotation };
        const d = decide(other, all(after("trust-both")));
        expect(d.phase).toBe("trust-both");
        expect(Object.values(d.nodes).map((n) => n.stage)).toEqual(["S0", "S0", "S0"]);
    });

    it("abort walks back: sign with the old CA again, drop the new, then stays complete", () => {
        const walk: Array<[NodeState, RotationPhase, boolean, RegExp]> = [
            [after("reissue"), "abort-trust", false, /^CA rotation etcd-ca → 2027 \(abort\): abort 1 of 2 \(sign with the old CA again, both trusted\) next: etcd\/ca\.crt on 3 masters; reissues 12 leaves on 3 nodes; restarts etcd, kube-apiserver$/],
            [after("abort-trust"), "abort-drop-new", false, /^CA rotation etcd-ca → 2027 \(abort\): abort 2 of 2 \(drop the new CA\) next: etcd\/ca\.crt on 3 masters; restarts etcd, kube-apiserver$/],
            [after("abort-drop-new"), "abort-drop-new", true, /^CA rotation etcd-ca → 2027 \(abort\): complete \(every node trusts only the old CA\)$/],
        ];
        for (const [state, phase, complete, summary] of walk) {
            const d = decide(w, all(state), { abort: true });
            expect(d, JSON.stringify(state)).toMatchObject({ phase, complete });
            expect(d.summary).toMatch(summary);
        }
        expect(decide(w, all(after("reissue")), { abort: true }).nodes["master-1"].stage).toBe("B1");
    });

    it("abort before anything reached the nodes has nothing to do; after trust-both on some, it drops the new CA there", () => {
        expect(decide(w, all(PRE), { abort: true })).toMatchObject({ phase: "abort-drop-new", complete: true });
        const some = decide(w, { ...all(PRE), "master-1": after("trust-both") }, { abort: true });
        expect(some).toMatchObject({ phase: "abort-drop-new", complete: false });
        expect(some.summary).toMatch(/next: etcd\/ca\.crt on 1 master;/);
    });

    it("abort after a master already dropped the old CA: trust the old one again first, the new one still signing", () => {
        const d = decide(w, { ...all(after("reissue")), "master-1": after("drop-old") }, { abort: true });
        expect(d).toMatchObject({ phase: "reissue", complete: false });
        expect(d.summary).toMatch(/\(abort\): abort 0 of 2 \(trust the old CA again, the new one still signs\) next: etcd\/ca\.crt on 1 master;/);
        expect(d.nodes["master-1"].stage).toBe("B0");
    });

    it("abort of a finished rotation is a config error naming the key", () => {
        expect(() => decide(w, all(after("drop-old")), { abort: true }))
            .toThrow(/^kube-pki:authorities\.rotate\.etcdCa\.abort: the rotation of etcd-ca to 2027 is complete .*remove abort \(a second rotation of the same CA, back or onward, is not supported yet\)$/);
        // Not every master verified: no error, the abort holds instead.
        const d = decide(w, { ...all(after("drop-old")), "master-3": { ...PRE, unreachable: true } }, { abort: true });
        expect(d.held).toMatch(/master-3 not read/);
    });
});

describe("adopted new CA: known by its certificate", () => {
    const w: World = { cluster: haCluster("1.30.4", 1), ca: "etcd-ca", newCa: () => adopted };

    it("walks the same phases with the operator's CA (same CN, no marker)", () => {
        expect(decide(w, all(PRE), { source: "adopt" }).phase).toBe("trust-both");
        expect(decide(w, all(after("trust-both")), { source: "adopt" }).phase).toBe("reissue");
        expect(decide(w, all(after("reissue")), { source: "adopt" }).phase).toBe("drop-old");
        expect(decide(w, all(after("drop-old")), { source: "adopt" })).toMatchObject({ phase: "drop-old", complete: true });
    });

    it("a CA with the same name but another key is not it (leaves judged by signature)", () => {
        // The nodes hold the generated CA; the stack adopts another one.
        const d = decideRotation({
            ca: "etcd-ca", spec: { id: ID, source: "adopt", certFile: "a", keyFile: "b", abort: false }, newCaCertPem: adopted.pem,
            cluster: w.cluster, inventories: inventories({ ...w, newCa: () => generated["etcd-ca"] }, all(after("reissue"))),
        });
        expect(d.phase).toBe("trust-both");
    });

    it("without the adopted certificate: an error naming certFile", () => {
        expect(() => decide(w, all(PRE), { source: "adopt", pem: null })).toThrow(/^kube-pki:authorities\.rotate\.etcdCa\.certFile: /);
    });
});

describe("cluster CA rotation: kubeconfig CA data and the kubelet's own client certificate", () => {
    const embedded: World = { cluster: haCluster("1.30.4", 1), ca: "ca", newCa: () => generated.ca };
    const rotate: World = { ...embedded, cluster: haCluster("1.30.4", 1, { kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" } }) };
    const everyone = ["master-1", "master-2", "master-3", "worker-1"];

    it("trust anchors are the CA files on every node and the CA data of every kubeconfig", () => {
        const d = decide(embedded, all(PRE, everyone));
        expect(d.phase).toBe("trust-both");
        // 5 kubeconfigs per master (admin, super-admin, controller-manager, scheduler, kubelet), kubelet.conf on the worker.
        expect(d.summary).toBe("CA rotation ca → 2027: phase 1 of 3 (trust both) next: ca.crt on 3 masters + 1 worker, "
            + "CA data of 16 kubeconfigs on 3 masters + 1 worker; restarts kube-apiserver, kube-controller-manager, kube-scheduler, kubelet");
        expect(Object.keys(d.nodes)).toEqual(everyone);
        // One kubeconfig behind: trust-both again, only it named.
        const behind = decide(embedded, { ...all(after("trust-both"), everyone), "worker-1": { ...after("trust-both"), files: { "kubelet.conf": { trust: ["old"] } } } });
        expect(behind.phase).toBe("trust-both");
        expect(behind.summary).toMatch(/next: kubelet\.conf CA data on 1 worker; restarts kubelet$/);
        expect(decide(embedded, all(after("trust-both"), everyone)).phase).toBe("reissue");
        expect(decide(embedded, all(after("reissue"), everyone)).phase).toBe("drop-old");
        expect(decide(embedded, all(after("drop-old"), everyone)).complete).toBe(true);
    });

    it("rotate mode: kubelet-client-current.pem is a leaf of the CA; embedded mode leaves it alone", () => {
        const state = { ...after("reissue"), files: { "kubelet-client-current": { signer: "old" as Side } } };
        const d = decide(rotate, all(state, everyone));
        expect(d.phase).toBe("reissue");
        expect(d.summary).toMatch(/next: reissues 4 leaves on 4 nodes; restarts kubelet$/);
        expect(decide(rotate, all(after("reissue"), everyone)).phase).toBe("drop-old");
        // embedded: the kubelet uses kubelet.conf's certificate; a stale rotated file is not kube-pki's to judge.
        expect(decide(embedded, all(state, everyone)).phase).toBe("drop-old");
    });

    it("same-as-ca etcd: its CA file follows the cluster CA; rotating etcdCa itself is refused", () => {
        const same: World = { ...embedded, cluster: haCluster("1.30.4", 1, { authorities: { ...embedded.cluster.authorities, etcdCa: "same-as-ca" } }) };
        expect(decide(same, all(PRE, everyone)).summary).toContain("etcd/ca.crt on 3 masters");
        expect(() => decide({ ...same, ca: "etcd-ca" }, all(PRE, everyone))).toThrow(/^kube-pki:authorities\.rotate\.etcdCa: etcd-ca is the cluster CA/);
    });
});
