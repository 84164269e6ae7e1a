/**
 * Static pod manifests and kube-pki's copy (src/drift/manifests.ts): what the inventory script
 * reports for a master's manifests dir and copy (real inventory.sh on a local root), which
 * manifests are restored from the copy or left to kubeadm, when the copy is saved, the preview's
 * words, and the repair trigger of a node missing files (a new one every run until it is whole).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { kubeadmCommands, manifestInventoryArgs, manifestMessage, manifestPlans, planManifests, type ManifestState } from "../../src/drift/manifests";
import { readInventory } from "../../src/drift/inventory";
import { repairFor, servedOnlyWhereRunnable } from "../../src/findings";
import { consumersOf } from "../../src/pki/catalog";
import { KUBEADM_LAYOUT, type FileKey } from "../../src/pki/layout";
import type { FileVerdict, NodeDriftResult } from "../../src/drift/report";
import type { LayoutSpec, NodeSpec } from "../../src/spec";

const ALL = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
const healthy = (copy: "same" | "none" | "old"): ManifestState =>
    Object.fromEntries(ALL.map((c) => [c, { sha256: `${c}-v2`, ...(copy === "same" ? { copy: `${c}-v2` } : copy === "old" ? { copy: `${c}-v1` } : {}) }]));
const master = { role: "master" as const };

describe("manifest plan", () => {
    it("a current copy plans nothing; a missing or older copy is saved (its digest is the trigger)", () => {
        expect(planManifests(KUBEADM_LAYOUT, master, healthy("same"), [])).toEqual({ restore: [], left: [] });
        const none = planManifests(KUBEADM_LAYOUT, master, healthy("none"), []);
        const old = planManifests(KUBEADM_LAYOUT, master, healthy("old"), []);
        expect(none.save).toMatch(/^[0-9a-f]{64}$/);
        // Same manifests, so the same trigger: the copy is recorded once, whatever it was before.
        expect(old.save).toBe(none.save);
        expect(planManifests(KUBEADM_LAYOUT, master, { ...healthy("none"), etcd: { sha256: "etcd-v3" } }, []).save).not.toBe(none.save);
    });

    it("a wiped master: missing manifests with a copy are restored, without one left (only where another master runs it)", () => {
        const wiped: ManifestState = { etcd: { copy: "e" }, "kube-apiserver": { copy: "a" }, "kube-controller-manager": {}, "kube-scheduler": {} };
        const other: ManifestState = { ...healthy("same"), "kube-scheduler": {} };
        expect(planManifests(KUBEADM_LAYOUT, master, wiped, [other])).toEqual({ restore: ["etcd", "kube-apiserver"], left: ["kube-controller-manager"] });
        // External etcd: no master has etcd.yaml, so none is missing.
        expect(planManifests(KUBEADM_LAYOUT, master, { ...healthy("same"), etcd: {} }, [{ ...healthy("same"), etcd: {} }])).toEqual({ restore: [], left: [] });
    });

    it("workers and layouts without static pods plan nothing and send no --manifests", () => {
        const systemd: LayoutSpec = { ...KUBEADM_LAYOUT, restart: "systemd" };
        expect(manifestInventoryArgs(KUBEADM_LAYOUT, master)).toEqual(["--manifests", "/etc/kubernetes/manifests", "/var/lib/kube-pki/manifests"]);
        expect(manifestInventoryArgs(KUBEADM_LAYOUT, { role: "worker" })).toEqual([]);
        expect(manifestInventoryArgs(systemd, master)).toEqual([]);
        expect(planManifests(systemd, master, { etcd: { copy: "e" } }, [])).toEqual({ restore: [], left: [] });
    });

    it("per cluster: only nodes with something to do, the restore trigger changing with the node's clock", () => {
        const inv = (node: string, manifests: ManifestState, at = 0) => ({ node, role: "master" as const, reachable: true, nodeTime: new Date(at), manifests });
        const wiped: ManifestState = Object.fromEntries(ALL.map((c) => [c, { copy: c }]));
        const one = manifestPlans(KUBEADM_LAYOUT, [inv("m1", healthy("same")), inv("m2", wiped, 1000), inv("m3", healthy("none"))]);
        expect(Object.keys(one).sort()).toEqual(["m2", "m3"]);
        expect(one.m2.restore).toEqual([...ALL]);
        const two = manifestPlans(KUBEADM_LAYOUT, [inv("m1", healthy("same")), inv("m2", wiped, 2000)]);
        expect(two.m2.restoreTrigger).not.toBe(one.m2.restoreTrigger);
    });

    it("names the kubeadm commands that recreate what has no copy, and what it restores", () => {
        expect(kubeadmCommands([...ALL])).toEqual([
            "kubeadm init phase control-plane all --config <your kubeadm config>", "kubeadm init phase etcd local --config <your kubeadm config>"]);
        expect(kubeadmCommands(["kube-scheduler"])).toEqual(["kubeadm init phase control-plane scheduler --config <your kubeadm config>"]);
        const text = manifestMessage("master-2", "/etc/kubernetes/manifests", { restore: ["etcd"], left: ["kube-apiserver"] })!;
        expect(text).toContain('node "master-2": static pod manifests missing: /etc/kubernetes/manifests/etcd.yaml; restored from kube-pki\'s copy');
        expect(text).toContain("leaves kube-apiserver alone");
        expect(text).toContain("kubeadm init phase control-plane apiserver --config");
        expect(manifestMessage("m", "/x", { restore: [], left: [], save: "ab" })).toBeUndefined();
    });
});

describe("inventory.sh --manifests", () => {
    it("reports each manifest's and its copy's sha256, '-' for an absent file", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "kp-inv-manifests-"));
        fs.mkdirSync(path.join(root, "etc/kubernetes/manifests"), { recursive: true });
        fs.mkdirSync(path.join(root, "var/lib/kube-pki/manifests"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/kubernetes/manifests/etcd.yaml"), "etcd\n");
        fs.writeFileSync(path.join(root, "var/lib/kube-pki/manifests/etcd.yaml"), "etcd old\n");
        fs.writeFileSync(path.join(root, "var/lib/kube-pki/manifests/kube-scheduler.yaml"), "s\n");
        const node: NodeSpec = { name: "m1", role: "master", advertiseAddress: "10.0.0.1", transport: "local", localRoot: root } as NodeSpec;
        const inv = await readInventory(node, KUBEADM_LAYOUT);
        expect(inv.reachable, inv.error).toBe(true);
        const h = (s: string) => createHash("sha256").update(s).digest("hex");
        expect(inv.manifests).toEqual({
            etcd: { sha256: h("etcd\n"), copy: h("etcd old\n") }, "kube-apiserver": {}, "kube-controller-manager": {}, "kube-scheduler": { copy: h("s\n") },
        });
        fs.rmSync(root, { recursive: true, force: true });
    });
});

describe("repair trigger of a node missing files", () => {
    const verdict = (key: string, reason: FileVerdict["reason"]): FileVerdict =>
        ({ key, path: `/etc/kubernetes/pki/${key}`, reason, reasons: [reason], detail: "", managed: true, consumers: consumersOf(key as FileKey) });
    const result = (files: FileVerdict[]): NodeDriftResult => ({ node: "master-2", role: "master", reachable: true, files, served: [] });

    it("changes every run while a file is missing (a failed repair is tried again), stays for other drift", () => {
        const missing = result([verdict("apiserver.crt", "missing")]);
        expect(repairFor(missing, true, "run-1")!.signature).not.toBe(repairFor(missing, true, "run-2")!.signature);
        const differs = result([verdict("apiserver.crt", "differs")]);
        expect(repairFor(differs, true, "run-1")!.signature).toBe(repairFor(differs, true, "run-2")!.signature);
        expect(repairFor(differs, true, "run-1")!.signature).toBe(repairFor(differs)!.signature);
    });

    it("a component left without a manifest serving nothing is no repair; other drift still is", () => {
        const down = { ...verdict("etcd/server.crt", "served-mismatch"), served: { component: "etcd" as const, port: 2379, sha256: "" } };
        const plan = { restore: [], left: ["etcd" as const] };
        expect(repairFor(result([down]))?.components).toEqual(["etcd"]);
        expect(repairFor(servedOnlyWhereRunnable(result([down]), plan))).toBeUndefined();
        expect(repairFor(servedOnlyWhereRunnable(result([down, verdict("scheduler.conf", "missing")]), plan))?.components).toEqual(["kube-scheduler"]);
    });
});
