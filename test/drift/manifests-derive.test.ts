/**
 * Deriving a wiped master's static pod manifests from a healthy master's (src/drift/manifest-derive.ts):
 * token-exact substitution of the source's name and address, refusal where the text names another
 * master (etcd's --initial-cluster), no-node manifests copied as they are; the program-time read
 * (real /bin/sh on local roots, checked against the inventory's sha256); the plan and preview words;
 * manifests.sh restore --derived (framed stdin, sha256-checked, never over a manifest on disk).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deriveManifest, deriveMissingManifests, derivedStdin, readManifestTexts, sha256Text, type DerivedManifest } from "../../src/drift/manifest-derive";
import { manifestMessage, notRestartable, restoredComponents, type NodeManifests } from "../../src/drift/manifests";
import type { NodeSpec } from "../../src/spec";
import { BASH_POSIX, DASH, runScript } from "../scripts/fixtures";

const M1 = { name: "master-1", address: "10.0.0.1" };
const M2 = { name: "master-2", address: "10.0.0.2" };
const M10 = { name: "master-10", address: "10.0.0.11" };

const apiserver = (m: { name: string; address: string }) =>
    `metadata:\n  annotations:\n    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: ${m.address}:6443\n` +
    `spec:\n  nodeName: ${m.name}\n  containers:\n  - command:\n    - kube-apiserver\n    - --advertise-address=${m.address}\n` +
    `    - --etcd-servers=https://127.0.0.1:2379\n    livenessProbe:\n      httpGet:\n        host: ${m.address}\n`;

describe("deriveManifest", () => {
    const masters = [M1, M2, { name: "master-3", address: "10.0.0.3" }];
    it.each([
        ["apiserver: name and address substituted", apiserver(M1), M1, M2, masters, { text: apiserver(M2), substituted: true }],
        ["etcd naming every member in --initial-cluster: refused",
            "- --name=master-1\n- --initial-cluster=master-1=https://10.0.0.1:2380,master-2=https://10.0.0.2:2380,master-3=https://10.0.0.3:2380\n",
            M1, M2, masters, { refused: "master-1's manifest also names master master-2" }],
        ["name prefix: master-1 is not replaced inside master-10",
            "nodeName: master-1\nlabel: master-10x\n", M1, M2, [M1, M2], { text: "nodeName: master-2\nlabel: master-10x\n", substituted: true }],
        ["address prefix: 10.0.0.1 is not replaced inside 10.0.0.11 or 110.0.0.1",
            "- --advertise-address=10.0.0.1\n- --x=10.0.0.11,110.0.0.1,10.0.0.1:6443\n", M1, M2, [M1, M2],
            { text: "- --advertise-address=10.0.0.2\n- --x=10.0.0.11,110.0.0.1,10.0.0.2:6443\n", substituted: true }],
        ["source master-1 beside master-10: master-10's address inside the text is another master",
            "- --advertise-address=10.0.0.1\n- --peer=10.0.0.11\n", M1, M2, [M1, M2, M10], { refused: "master-1's manifest also names master-10's address 10.0.0.11" }],
        ["no node named (controller-manager on 127.0.0.1): copied as it is",
            "- kube-controller-manager\n- --bind-address=127.0.0.1\n", M1, M2, masters, { text: "- kube-controller-manager\n- --bind-address=127.0.0.1\n", substituted: false }],
        ["IPv6: fd00::1 replaced, fd00::10 left, brackets are boundaries",
            "- --advertise-address=fd00::1\n- --etcd-servers=https://[fd00::1]:2379\n- --x=fd00::10\n",
            { name: "cp-a", address: "fd00::1" }, { name: "cp-b", address: "fd00::2" }, [{ name: "cp-a", address: "fd00::1" }, { name: "cp-b", address: "fd00::2" }],
            { text: "- --advertise-address=fd00::2\n- --etcd-servers=https://[fd00::2]:2379\n- --x=fd00::10\n", substituted: true }],
        ["a node name that is a manifest word is refused", "- etcd\n", { name: "etcd", address: "10.0.0.1" }, M2, [{ name: "etcd", address: "10.0.0.1" }, M2],
            { refused: 'node name "etcd" is also a word of the manifest' }],
        ["a line that looks like the restore framing is refused", "#kube-pki-manifest etcd x\n", M1, M2, [M1, M2],
            { refused: 'a line starts with "#kube-pki-manifest"' }],
    ])("%s", (_label, text, source, target, all, want) => {
        expect(deriveManifest(text, source, target, all)).toEqual(want);
    });
});

function localMaster(name: string, address: string, manifests: Record<string, string>): NodeSpec {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `kp-derive-${name}-`));
    fs.mkdirSync(path.join(root, "etc/kubernetes/manifests"), { recursive: true });
    for (const [c, t] of Object.entries(manifests)) fs.writeFileSync(path.join(root, "etc/kubernetes/manifests", `${c}.yaml`), t);
    return { name, role: "master", advertiseAddress: address, transport: "local", localRoot: root };
}

describe("deriveMissingManifests", () => {
    const etcd = (m: { name: string; address: string }) => `- --name=${m.name}\n- --initial-cluster=master-1=https://10.0.0.1:2380,master-2=https://10.0.0.2:2380\n`;
    const cm = "- kube-controller-manager\n- --bind-address=127.0.0.1\n";
    const m1Text = { etcd: etcd(M1), "kube-apiserver": apiserver(M1), "kube-controller-manager": cm, "kube-scheduler": "- kube-scheduler\n" };
    const shaOf = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).map(([c, x]) => [c, { sha256: sha256Text(x), copy: sha256Text(x) }]));
    const all = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
    const wiped: NodeManifests = { restore: [], left: [...all] };

    it("reads master-1 once, derives apiserver/controller-manager/scheduler, leaves etcd (ambiguous) and says where each comes from", async () => {
        const nodes = [localMaster("master-1", M1.address, m1Text), localMaster("master-2", M2.address, {})];
        const inventories = [{ node: "master-1", reachable: true, manifests: shaOf(m1Text) }, { node: "master-2", reachable: true, nodeTime: new Date(0), manifests: {} }];
        const reads: string[] = [];
        const plans = await deriveMissingManifests(nodes, "/etc/kubernetes/manifests", inventories, { "master-2": wiped },
            (n, d, c, t) => { reads.push(n.name); return readManifestTexts(n, d, c, t); });
        expect(reads).toEqual(["master-1"]);
        const plan = plans["master-2"];
        expect(plan.left).toEqual(["etcd"]);
        expect(plan.refused).toEqual({ etcd: "master-1's manifest also names master master-2" });
        expect(plan.derived!.map((d) => [d.component, d.from, d.substituted])).toEqual([
            ["kube-apiserver", "master-1", true], ["kube-controller-manager", "master-1", false], ["kube-scheduler", "master-1", false]]);
        expect(plan.derived![0].text).toBe(apiserver(M2));
        expect(plan.restoreTrigger).toBe("kube-apiserver,kube-controller-manager,kube-scheduler@1970-01-01T00:00:00.000Z");
        expect(restoredComponents(plan)).toEqual(["kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
        // The apiserver needs its local etcd: written, not restarted while etcd is left.
        expect(notRestartable(plan)).toEqual(["etcd", "kube-apiserver"]);
        const message = manifestMessage("master-2", "/etc/kubernetes/manifests", plan)!;
        expect(message).toContain("kube-apiserver.yaml missing with no copy: written from master-1's with master-2's name and address");
        expect(message).toContain("kube-scheduler.yaml missing with no copy: written from master-1's as it is (it names no node)");
        expect(message).toContain("not derived from another master: etcd: master-1's manifest also names master master-2");
        expect(message).toContain("kubeadm init phase etcd local --config");
        expect(message).not.toContain("control-plane all");
    });

    it("nothing left: nothing is read; a source changed since its inventory is refused", async () => {
        const nodes = [localMaster("master-1", M1.address, m1Text), localMaster("master-2", M2.address, {})];
        const never = () => { throw new Error("must not read"); };
        const plans = { "master-2": { restore: [...all], left: [] } };
        expect(await deriveMissingManifests(nodes, "/etc/kubernetes/manifests", [], plans, never)).toEqual(plans);
        const stale = { ...shaOf(m1Text), "kube-scheduler": { sha256: "0".repeat(64) } };
        const out = await deriveMissingManifests(nodes, "/etc/kubernetes/manifests",
            [{ node: "master-1", reachable: true, manifests: stale }, { node: "master-2", reachable: true, manifests: {} }], { "master-2": wiped });
        expect(out["master-2"].refused!["kube-scheduler"]).toBe("master-1's changed since it was inspected");
        expect(out["master-2"].left).toEqual(["etcd", "kube-scheduler"]);
    });

    it("no healthy source (the only other master is missing manifests too, or unreachable): everything stays left", async () => {
        const nodes = [localMaster("master-1", M1.address, m1Text), localMaster("master-2", M2.address, {})];
        const out = await deriveMissingManifests(nodes, "/etc/kubernetes/manifests",
            [{ node: "master-1", reachable: false }, { node: "master-2", reachable: true, manifests: {} }], { "master-2": wiped });
        expect(out["master-2"]).toEqual(expect.objectContaining({ left: [...all], refused: Object.fromEntries(all.map((c) => [c, "no healthy master has it"])) }));
        expect(out["master-2"].derived).toBeUndefined();
    });
});

for (const [shellName, shell] of [["dash", [DASH]], ["bash --posix", BASH_POSIX]] as const) {
    describe(`manifests.sh restore --derived under ${shellName}`, () => {
        const d = (component: DerivedManifest["component"], text: string): DerivedManifest => ({ component, from: "master-1", substituted: true, text, sha256: sha256Text(text) });
        it("writes derived manifests that are missing (0600), never over one on disk, and checks each sha256", () => {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "kp-derived-"));
            const dir = path.join(root, "etc/kubernetes/manifests");
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(path.join(dir, "kube-scheduler.yaml"), "operator's own\n");
            const stdin = derivedStdin([d("kube-apiserver", "a: 1\n\nb: ü\n"), d("kube-scheduler", "derived\n")]);
            const r = runScript("manifests", ["--root", root, "--derived", "restore", "kube-apiserver", "kube-scheduler"], stdin, 30_000, [...shell]);
            expect(r.status, r.stderr).toBe(0);
            expect(fs.readFileSync(path.join(dir, "kube-apiserver.yaml"), "utf8")).toBe("a: 1\n\nb: ü\n");
            expect((fs.statSync(path.join(dir, "kube-apiserver.yaml")).mode & 0o777).toString(8)).toBe("600");
            expect(fs.readFileSync(path.join(dir, "kube-scheduler.yaml"), "utf8")).toBe("operator's own\n");
            expect(r.stdout).toMatch(/^present .*kube-scheduler\.yaml \(left as it is\)$/m);
            expect(fs.readdirSync(path.join(root, "var/lib/kube-pki"))).toEqual([]);
            // A truncated stdin fails naming the manifest and writes nothing.
            fs.rmSync(path.join(dir, "kube-apiserver.yaml"));
            const bad = runScript("manifests", ["--root", root, "--derived", "restore", "kube-apiserver"], stdin.replace("b: ü\n", ""), 30_000, [...shell]);
            expect(bad.status).toBe(1);
            expect(bad.stderr).toContain("kube-apiserver.yaml does not match its sha256");
            expect(fs.existsSync(path.join(dir, "kube-apiserver.yaml"))).toBe(false);
        });
    });
}
