import { describe, expect, it } from "vitest";
import type { NodeInventory } from "../src/drift/inventory";
import { compareNode, type FileVerdict, type NodeDriftResult } from "../src/drift/report";
import { wantedFromSpec } from "../src/drift/wanted";
import { clockProblems, findingsFrom, repairFor } from "../src/findings";
import { consumersOf } from "../src/pki/catalog";
import type { FileKey } from "../src/pki/layout";
import { haCluster } from "./fixtures/cluster";

const inventory = (node: string, skewSeconds: number, reachable = true): NodeInventory =>
    ({ node, role: "master", reachable, skewSeconds, files: [], served: [] });

/** A verdict as compareNode makes it from a wanted file: its readers (newest kubeadm's here) come with it. */
const verdict = (key: string, reason: FileVerdict["reason"], extra: Partial<FileVerdict> = {}): FileVerdict =>
    ({ key, path: `/etc/kubernetes/pki/${key}`, reason, reasons: [reason], detail: reason === "ok" ? "" : `why ${key}`, managed: true,
        consumers: consumersOf(key as FileKey), ...extra });

const result = (node: string, role: "master" | "worker", files: FileVerdict[]): NodeDriftResult =>
    ({ node, role, reachable: true, files, served: [] });

describe("clock guard", () => {
    it("refuses a node whose clock lags more than the tolerance, naming node, lag and config key", () => {
        expect(clockProblems([inventory("master-1", -5), inventory("master-2", -3600), inventory("worker-1", 7200)], 30)).toEqual([
            'node "master-2": its clock is 3600s behind this machine (tolerance 30s, kube-pki:rollout.clockSkewToleranceSeconds); ' +
            "new certificates would not be valid there yet. Fix time sync (chrony/NTP) on the node and run again.",
        ]);
    });

    it("ignores unreachable nodes (they are reported as such)", () => {
        expect(clockProblems([inventory("master-1", -3600, false)], 30)).toEqual([]);
    });
});

describe("drift → repairs and reasons", () => {
    it("repairs a node whose files drifted and restarts exactly their readers, in order", () => {
        const repair = repairFor(result("master-2", "master", [
            verdict("scheduler.conf", "missing"),
            verdict("etcd/peer.crt", "spec-changed"),
            verdict("apiserver.crt", "expiring"),
            verdict("ca.crt", "ok"),
        ]));
        expect(repair?.components).toEqual(["etcd", "kube-scheduler"]);
        expect(repair?.signature).toMatch(/^[0-9a-f]{64}$/);
    });

    it("restarts a component that serves something other than its file", () => {
        const repair = repairFor(result("master-1", "master", [
            verdict("apiserver.crt", "served-mismatch", { served: { component: "kube-apiserver", port: 6443, sha256: "ab" } }),
        ]));
        expect(repair?.components).toEqual(["kube-apiserver"]);
    });

    it("does not repair for expiry alone or for files the stack does not manage; workers restart only the kubelet", () => {
        expect(repairFor(result("m", "master", [verdict("apiserver.crt", "expiring"), verdict("kubelet-client-current", "differs", { managed: false })]))).toBeUndefined();
        expect(repairFor(result("w", "worker", [verdict("ca.crt", "differs")]))?.components).toEqual(["kubelet"]);
    });

    it("on a node kube-pki never installed to, a kubeadm-made subject is no drift (the first install replaces it)", () => {
        const files = [verdict("controller-manager.crt", "spec-changed"), verdict("ca.crt", "ok")];
        expect(repairFor(result("m", "master", files), false)).toBeUndefined();
        expect(repairFor(result("m", "master", files), true)?.components).toEqual(["kube-controller-manager"]);
        expect(repairFor(result("m", "master", [verdict("scheduler.conf", "missing")]), false)?.components).toEqual(["kube-scheduler"]);
    });

    it("restarts the readers the plan gives for the cluster's version (sa.key: the apiserver reads it from 1.20 only)", () => {
        const missingSaKey = (version: string) => {
            const wanted = wantedFromSpec(haCluster(version, 0))["master-1"].filter((w) => w.key === "sa.key");
            expect(wanted).toHaveLength(1);
            const inv: NodeInventory = { node: "master-1", role: "master", reachable: true, files: [], served: [] };
            return repairFor(compareNode(wanted, inv, { now: new Date(), renewBeforeDays: 30 }))?.components;
        };
        expect(missingSaKey("1.17.17")).toEqual(["kube-controller-manager"]);
        expect(missingSaKey("1.20.0")).toEqual(["kube-apiserver", "kube-controller-manager"]);
    });

    it("a drifted file that carries no readers restarts nothing, it is still pushed", () => {
        expect(repairFor(result("m", "master", [verdict("admin.conf", "differs", { consumers: [] })]))?.components).toEqual([]);
    });

    it("keeps the same signature for the same drift, so the repair does not flip between runs", () => {
        const files = [verdict("scheduler.conf", "missing")];
        expect(repairFor(result("m", "master", files))?.signature).toBe(repairFor(result("m", "master", files))?.signature);
        expect(repairFor(result("m", "master", [verdict("scheduler.conf", "differs")]))?.signature)
            .not.toBe(repairFor(result("m", "master", files))?.signature);
    });

    it("turns verdicts into per-file reasons and a table", () => {
        const findings = findingsFrom([result("master-1", "master", [verdict("apiserver.crt", "expiring"), verdict("ca.crt", "ok")])]);
        expect(findings.reasons).toEqual({ "master-1": { "apiserver.crt": "expiring: why apiserver.crt", "ca.crt": "ok" } });
        expect(findings.repairs).toEqual({});
        expect(findings.report).toContain("master-1");
    });
});
