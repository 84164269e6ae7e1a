/**
 * Issue 10 (c), kube-pki:kubelet.servingCertificate on a 1-master + 1-worker simulated cluster
 * (the fake kubelet serves /var/lib/kubelet/pki/kubelet.crt/.key on :10250, loaded at each
 * (re)start). self-signed (default): the kubelet's own pair is left alone and not reported.
 * managed: every node's :10250 serves the certificate on disk, which chains to the cluster CA with
 * the kubelet's subject and SANs; only kubelets restart, master before worker, each once; the
 * next `up` does nothing. Judges: openssl s_client from inside each node, openssl verify against
 * the seeded CA, and the fake kubelet's event log (not kube-pki's output).
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "../harness/mocks";
import { describeLive, SimCluster, type SimEvent, type SimNode } from "../harness/sim";
import { fileFingerprint, specFor } from "./sim-spec";

const run = promisify(execFile);
const SERVING = "/var/lib/kubelet/pki/kubelet.crt";

describeLive("kubelet serving certificates (1 master + 1 worker)", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    let seeded: Record<string, string>;
    let selfSignedRun: RunResult;
    let managedRun: RunResult;
    let switchedAt: number;

    const up = (s: ClusterSpec) => runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "e2e", timeoutMs: 300_000 });
    const managed = () => ({ ...spec, kubelet: { ...spec.kubelet, servingCertificate: "managed" as const } });
    const eventsSince = (t: number): SimEvent[] =>
        sim.nodes.flatMap((n) => n.events()).filter((e) => Date.parse(e.ts) >= t).sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    const restarts = (events: SimEvent[]) => events
        .filter((e) => e.event === "start" || e.event === "kubelet-restart").map((e) => `${e.node}:${e.component}`);

    /** The PEM :10250 serves, fetched from inside the node. */
    async function served(node: SimNode): Promise<string> {
        const r = await node.exec(`/usr/bin/openssl s_client -connect ${node.ip}:10250 </dev/null 2>/dev/null | /usr/bin/openssl x509`, { timeoutMs: 15_000 });
        return r.stdout;
    }
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 1, leafExpiresInDays: 200, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" });
        store = new MockStateStore();
        spec = specFor(sim);
        seeded = Object.fromEntries(sim.nodes.map((n) => [n.name, fileFingerprint(n.hostPath(SERVING))]));
        selfSignedRun = await up(spec);
        switchedAt = Date.now();
        managedRun = await up(managed());
    }, 600_000);

    afterAll(async () => { await sim?.stop(); });

    it("self-signed: the kubelet's own pair stays, is served, and is not reported as drift", async () => {
        expect(spec.kubelet.servingCertificate).toBe("self-signed");
        const drift = String(selfSignedRun.outputs.drift.value);
        expect(drift).not.toContain("kubelet.crt");
        // The kubelet was restarted (kubelet.conf is new) but nothing of ours is served on :10250.
        for (const n of sim.nodes) expect(selfSignedRun.outputs.served.value[n.name].kubelet, n.name).toBe("");
        // The seeded pair was served until the switch (the fake kubelet recorded what it loaded).
        for (const n of sim.nodes) {
            const loaded = n.events().filter((e) => e.event === "serving" && Date.parse(e.ts) < switchedAt);
            expect(loaded.length, n.name).toBeGreaterThan(0);
            expect(loaded.every((e) => e.certSha256 === seeded[n.name]), n.name).toBe(true);
        }
    });

    it("managed: every node's :10250 serves the certificate on disk, from the cluster CA, with the kubelet's subject and SANs", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-kubelet-serving-"));
        for (const n of sim.nodes) {
            const pem = await served(n);
            const disk = fileFingerprint(n.hostPath(SERVING));
            expect(disk, n.name).not.toBe(seeded[n.name]);
            expect(fingerprint(pem), n.name).toBe(disk);
            const file = path.join(dir, `${n.name}.pem`);
            fs.writeFileSync(file, pem);
            const verify = await run("/usr/bin/openssl", ["verify", "-CAfile", sim.authorities.ca.cert, "-purpose", "sslserver", file]);
            expect(verify.stdout.trim()).toBe(`${file}: OK`);
            const cert = new X509Certificate(pem);
            expect(cert.subject.split("\n").sort()).toEqual([`CN=system:node:${n.name}`, "O=system:nodes"]);
            expect(cert.subjectAltName).toBe(`DNS:${n.name}, IP Address:${n.ip}`);
            expect((fs.statSync(n.hostPath("/var/lib/kubelet/pki/kubelet.key")).mode & 0o777).toString(8)).toBe("600");
            expect(managedRun.outputs.served.value[n.name].kubelet).toBe(`sha256:${disk}`);
        }
    });

    it("managed: only the kubelets restart, the master's before the worker's, each once, and each reloaded the new pair", () => {
        // The switching run's drift report sees the kubelet's own pair as not from the cluster CA, so
        // it also declares a repair; its re-check finds :10250 serving the file and restarts nothing.
        expect(managedRun.resources.filter((r) => r.name.includes("-repair")).map((r) => r.name).sort())
            .toEqual(sim.nodes.flatMap((n) => [`${spec.name}-rollout-${n.name}-repair`, `${spec.name}-rollout-${n.name}-repair-kubelet`]).sort());
        const events = eventsSince(switchedAt);
        expect(restarts(events)).toEqual([`${sim.masters[0].name}:kubelet`, `${sim.workers[0].name}:kubelet`]);
        for (const n of sim.nodes) {
            const loads = events.filter((e) => e.node === n.name && e.event === "serving");
            expect(loads.map((e) => [e.trigger, e.certSha256]), n.name).toEqual([["kubelet-restart", fileFingerprint(n.hostPath(SERVING))]]);
        }
    });

    it("a second `up` runs nothing, restarts nothing and reports no drift of kubelet.crt", async () => {
        const t = Date.now();
        const second = await up(managed());
        expect(store.lastRun.executions).toEqual([]);
        expect(restarts(eventsSince(t))).toEqual([]);
        expect(String(second.outputs.drift.value)).not.toContain("kubelet.crt");
        expect(second.resources.filter((r) => r.name.endsWith("-repair"))).toEqual([]);
    }, 300_000);
});
