/**
 * Issue 12 (a): a kubeadm HA cluster (3 masters + 1 worker) whose every leaf has expired: etcd
 * members refuse each other, the apiservers crash-loop. One `up` brings it back in the recovery
 * order; a second `up` does nothing.
 * Judges: etcdctl (a quorum write with the new client certificate), kubectl with the new admin
 * kubeconfig, openssl fingerprints of the CA files, the mock engine's record of what ran.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "../harness/mocks";
import type { ExecutionEvent } from "../harness/mocks/state-store";
import { describeLive, SimCluster } from "../harness/sim";
import { fileFingerprint, quorumWrite, specFor } from "./sim-spec";

const COMMAND = "command:remote:Command";
const CA_FILES = ["ca.crt", "etcd/ca.crt", "front-proxy-ca.crt"];

function tcpOpen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 500 }, () => { s.destroy(); resolve(true); });
        s.on("error", () => resolve(false));
        s.on("timeout", () => { s.destroy(); resolve(false); });
    });
}

describeLive("recovery of a fully expired HA control plane", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    let first: RunResult;
    let firstRun: ExecutionEvent[] = [];
    let warnings: string[] = [];
    const caBefore: Record<string, string> = {};
    const up = (s: ClusterSpec) => runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "recovery", timeoutMs: 540_000 });
    const m1Certs = () => {
        const m1 = sim.masters[0];
        return { ca: m1.hostPath("/etc/kubernetes/pki/etcd/ca.crt"), cert: m1.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.crt"),
            key: m1.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.key") };
    };

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 3, workers: 1, leafExpiresInDays: -30, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh", waitForControlPlane: false });
        store = new MockStateStore();
        spec = specFor(sim);
        for (const m of sim.masters) for (const f of CA_FILES) caBefore[`${m.name} ${f}`] = fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${f}`));
        // The outage: every etcd runs (its port answers) but no write gets a quorum; no apiserver serves.
        const deadline = Date.now() + 30_000;
        while (!(await Promise.all(sim.masters.map((m) => tcpOpen(m.ip, 2379)))).every(Boolean)) {
            if (Date.now() > deadline) throw new Error("seeded etcd members did not open :2379");
            await new Promise((r) => setTimeout(r, 200));
        }
        expect(await quorumWrite(sim, m1Certs(), "before")).toBeDefined();
        const warn = vi.spyOn(pulumi.log, "warn");
        try {
            first = await up(spec);
            firstRun = store.lastRun.executions;
            warnings = warn.mock.calls.map((c) => String(c[0]));
        } finally {
            warn.mockRestore();
        }
    }, 720_000);

    afterAll(async () => { await sim?.stop(); });

    it("says the control plane is down and why", () => {
        expect(warnings.filter((w) => w.startsWith("control plane down: recovery order (0 of 3 masters hold a valid etcd peer and server certificate")))
            .toHaveLength(1);
    });

    it("one `up` brings etcd back: a quorum write with the new client certificate", async () => {
        const deadline = Date.now() + 20_000;
        let failure = await quorumWrite(sim, m1Certs(), "after");
        while (failure && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 500));
            failure = await quorumWrite(sim, m1Certs(), "after");
        }
        expect(failure).toBeUndefined();
    });

    it("kubectl with the new admin kubeconfig reaches the apiserver", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-recovery-kubectl-"));
        try {
            const kubeconfig = path.join(dir, "admin.conf");
            fs.writeFileSync(kubeconfig, first.outputs.adminKubeconfig.value, { mode: 0o600 });
            const r = await sim.kubectl(kubeconfig, ["get", "--raw", "/healthz"]);
            expect(r.stdout.trim(), r.stderr).toBe("ok");
            const nodes = await sim.kubectl(kubeconfig, ["get", "nodes", "-o", "name"]);
            expect(nodes.stdout.trim().split("\n").sort(), nodes.stderr).toEqual(sim.nodes.map((n) => `node/${n.name}`).sort());
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("`up` itself proved it on master-1 after every etcd and apiserver: an etcd quorum write and /healthz with admin.conf", () => {
        const check = first.get("kubernetes-rollout-recovery-check", COMMAND);
        const stdout = String(check.outputs.stdout);
        expect(stdout).toContain("etcd quorum write ok (put /kube-pki/recovery-check at 127.0.0.1:2379)");
        expect(stdout).toMatch(/apiserver healthz ok at [\d.]+:6443 with \/etc\/kubernetes\/admin\.conf \((kubectl|openssl s_client)\)/);
        const ran = firstRun.find((e) => e.urn.endsWith("::kubernetes-rollout-recovery-check"))!;
        const apiservers = firstRun.filter((e) => /-master-\d+-kube-apiserver$/.test(e.urn));
        expect(ran.startedAt).toBeGreaterThanOrEqual(Math.max(...apiservers.map((e) => e.finishedAt)));
    });

    it("keeps the CAs and every master's components serve their new files", () => {
        for (const m of sim.masters) for (const f of CA_FILES) expect(fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${f}`)), `${m.name} ${f}`).toBe(caBefore[`${m.name} ${f}`]);
        const served = first.outputs.served.value as Record<string, Record<string, string>>;
        for (const m of sim.masters) {
            const disk = (p: string) => `sha256:${fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${p}`))}`;
            expect(served[m.name]).toMatchObject({ etcd: disk("etcd/server.crt"), "kube-apiserver": disk("apiserver.crt") });
        }
    });

    it("ran in the recovery order: every install, then etcd on all masters, then the apiservers, then the rest", () => {
        const step = (suffix: string) => firstRun.filter((e) => e.action === "create" && new RegExp(`::kubernetes-rollout-master-\\d+-(${suffix})$`).test(e.urn));
        const phases = ["install", "etcd", "kube-apiserver", "kube-controller-manager|kube-scheduler", "kubelet"].map(step);
        expect(phases.map((p) => p.length), JSON.stringify(phases.map((p) => p.map((e) => e.urn.split("::").pop())))).toEqual([3, 3, 3, 6, 3]);
        for (let i = 1; i < phases.length; i++) {
            expect(Math.min(...phases[i].map((e) => e.startedAt))).toBeGreaterThanOrEqual(Math.max(...phases[i - 1].map((e) => e.finishedAt)));
        }
        // etcd restarts went together: each started before any of them finished.
        expect(Math.max(...phases[1].map((e) => e.startedAt))).toBeLessThan(Math.min(...phases[1].map((e) => e.finishedAt)));
        expect(firstRun.every((e) => e.ok)).toBe(true);
    });

    it("a second `up` does nothing", async () => {
        await up(spec);
        // First-run-only resources (the kit's re-ship, the manifest copy, recovery's check) go away with a delete that runs nothing.
        const ops = Object.entries(store.lastRun.operations)
            .filter(([urn, op]) => op !== "same" && op !== "delete" && urn.split("::")[2].split("$").pop() === COMMAND);
        expect(ops).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
    }, 300_000);
});
