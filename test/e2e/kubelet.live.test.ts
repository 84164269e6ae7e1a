/**
 * Issue 10, live tests 4(a) and 4(b): kube-pki:kubelet.clientCertificate rotate on a 1-master +
 * 2-worker simulated cluster whose kubelets rotate (rotateCertificates: true, kubelet.conf names
 * kubelet-client-current.pem, as kubeadm seeds them). The fake kubelet presents
 * kubelet-client-current.pem to the apiserver stand-in at every (re)start; the stand-in verifies it
 * against its --client-ca-file and records the verdict (apiserver-clients.jsonl). Judges: that
 * record, the link and files on disk, openssl verify, the fake kubelet's event log and the mocks'
 * execution log — not kube-pki's own output (except where the preview's naming is the claim).
 * Fixtures are written with openssl (issueCert), never with kube-pki code.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "../harness/mocks";
import { describeLive, issueCert, SimCluster, waitFor, type CertPaths, type SimNode } from "../harness/sim";
import { fileFingerprint, specFor } from "./sim-spec";

const run = promisify(execFile);
const PKI = "/var/lib/kubelet/pki";
const CURRENT = `${PKI}/kubelet-client-current.pem`;
const ROW = "kubelet-client-current.pem";

/** One line of the apiserver stand-in's record of the client certificates it was shown. */
interface ClientRecord { ts: string; node: string; certSha256: string; accepted: boolean; reason: string; code: number; userAgent: string }

describeLive("kubelet client certificates, rotate mode (1 master + 2 workers)", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    let scratch: string;
    let seededLinks: Record<string, string>;
    let firstRun: RunResult;
    let firstAt: number;

    const up = (preview = false) => runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "kubelet", timeoutMs: 300_000, preview });
    const link = (n: SimNode) => fs.readlinkSync(n.hostPath(CURRENT));
    const restartsSince = (t: number) => sim.nodes.flatMap((n) => n.events())
        .filter((e) => Date.parse(e.ts) >= t && (e.event === "start" || e.event === "kubelet-restart"))
        .map((e) => `${e.node}:${e.component}`).sort();
    const kubeletClientCommands = () => store.lastRun.executions.filter((e) => /-kubelet-client$/.test(e.urn)).map((e) => e.urn.split("::").pop());
    /** The kubelets' requests as the apiserver judged them (the probes kubelet-client.sh makes are not the kubelet's). */
    const kubeletRecords = (since: number): ClientRecord[] => {
        const file = path.join(sim.masters[0].dir, "apiserver-clients.jsonl");
        if (!fs.existsSync(file)) return [];
        return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ClientRecord)
            .filter((r) => Date.parse(r.ts) >= since && r.userAgent.startsWith("kubelet/"));
    };
    /** Waits until the apiserver has judged every kubelet's identity since `t`; the last verdict per node. */
    async function verdicts(t: number): Promise<Record<string, ClientRecord>> {
        await waitFor("every kubelet judged by the apiserver", () => sim.nodes.every((n) => kubeletRecords(t).some((r) => r.node === n.name)), 30_000, 200);
        return Object.fromEntries(sim.nodes.map((n) => [n.name, kubeletRecords(t).filter((r) => r.node === n.name).at(-1)!]));
    }

    /** Installs `pem` as the kubelet's own next certificate (kubelet-client-<stamp>.pem) and points the link at it, as the kubelet does. */
    function kubeletRotatesTo(n: SimNode, cert: CertPaths, stamp: string) {
        const file = `${PKI}/kubelet-client-${stamp}.pem`;
        fs.writeFileSync(n.hostPath(file), fs.readFileSync(cert.cert, "utf8") + fs.readFileSync(cert.key, "utf8"), { mode: 0o600 });
        const tmp = `${n.hostPath(CURRENT)}.test-tmp`;
        fs.rmSync(tmp, { force: true });
        fs.symlinkSync(file, tmp);
        fs.renameSync(tmp, n.hostPath(CURRENT));
    }
    const nodeCert = (n: SimNode, issuer: CertPaths, issuedDaysAgo: number, validDays: number, tag: string) => {
        const out = { cert: path.join(scratch, `${n.name}-${tag}.crt`), key: path.join(scratch, `${n.name}-${tag}.key`) };
        return issueCert({ cn: `system:node:${n.name}`, o: ["system:nodes"], eku: ["clientAuth"], issuer, issuedDaysAgo, validDays, keyType: "ecdsa-p256", out }).then(() => out);
    };
    const restartKubelet = (n: SimNode) => n.exec("systemctl restart kubelet");

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 2, leafExpiresInDays: 200, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" });
        scratch = fs.mkdtempSync(path.join(sim.masters[0].dir, "..", "kubelet-fixtures-"));
        store = new MockStateStore();
        spec = { ...specFor(sim), kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" } };
        seededLinks = Object.fromEntries(sim.nodes.map((n) => [n.name, link(n)]));
        firstAt = Date.now();
        firstRun = await up();
    }, 600_000);

    afterAll(async () => { await sim?.stop(); });

    it("(b) the first `up` leaves the kubelets' healthy rotated certificates alone: no kubelet-client command, link unchanged, no kubelet restart", async () => {
        expect(firstRun.failures).toEqual([]);
        expect(kubeletClientCommands()).toEqual([]);
        for (const n of sim.nodes) {
            expect(link(n), n.name).toBe(seededLinks[n.name]);
            expect(firstRun.outputs.certificates.value[n.name][ROW]).toMatchObject({ action: "keep" });
            expect(firstRun.outputs.certificates.value[n.name][ROW].reason).toMatch(/^ok \(expires in \d+ d; the kubelet rotates it\) \[issuer CN=kubernetes; rotation on\]$/);
        }
        expect(restartsSince(firstAt).filter((r) => r.endsWith(":kubelet"))).toEqual([]);
    });

    it("(b) after the kubelets rotated by themselves, `up` runs nothing, restarts nothing and keeps their links", async () => {
        const fresh = await Promise.all(sim.nodes.map((n) => nodeCert(n, sim.authorities.ca, 0, 365, "self-rotated")));
        sim.nodes.forEach((n, i) => kubeletRotatesTo(n, fresh[i], "2030-01-01-00-00-00"));
        const t = Date.now();
        await Promise.all(sim.nodes.map(restartKubelet));
        const seen = await verdicts(t);
        for (const [i, n] of sim.nodes.entries()) expect(seen[n.name], n.name).toMatchObject({ accepted: true, certSha256: fileFingerprint(fresh[i].cert) });
        const links = Object.fromEntries(sim.nodes.map((n) => [n.name, link(n)]));
        const before = Date.now();
        const r = await up();
        expect(r.failures).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
        expect(restartsSince(before)).toEqual([]);
        for (const n of sim.nodes) expect(link(n), n.name).toBe(links[n.name]);
    }, 300_000);

    it("(a) expired certificates, one from a foreign CA: the apiserver refuses them, preview names them, one `up` fixes every kubelet restarting only kubelets, a second `up` does nothing", async () => {
        // Fixtures: every kubelet's rotated certificate expired; worker-2's also from another CA.
        const foreign = { cert: path.join(scratch, "foreign-ca.crt"), key: path.join(scratch, "foreign-ca.key") };
        await issueCert({ cn: "foreign-ca", isCa: true, issuedDaysAgo: 500, validDays: 3650, keyType: "ecdsa-p256", out: foreign });
        const odd = sim.workers[1];
        const expired = await Promise.all(sim.nodes.map((n) => nodeCert(n, n === odd ? foreign : sim.authorities.ca, 400, 365, "expired")));
        sim.nodes.forEach((n, i) => kubeletRotatesTo(n, expired[i], "2031-01-01-00-00-00"));
        const broken = Date.now();
        await Promise.all(sim.nodes.map(restartKubelet));
        const refused = await verdicts(broken);
        for (const [i, n] of sim.nodes.entries()) {
            expect(refused[n.name], n.name).toMatchObject({ accepted: false, code: 401, certSha256: fileFingerprint(expired[i].cert) });
        }
        expect(refused[sim.masters[0].name].reason).toBe("CERT_HAS_EXPIRED");

        // Preview: names every node's certificate with the reason, runs nothing.
        const preview = await up(true);
        expect(store.lastRun.executions).toEqual([]);
        for (const n of sim.nodes) {
            const row = preview.outputs.certificates.value[n.name][ROW];
            expect(row.action, n.name).toBe("reissue");
            expect(row.reason, n.name).toMatch(new RegExp(`^expired \\d+ d ago \\[issuer CN=${n === odd ? "foreign-ca" : "kubernetes"}; rotation on\\]$`));
        }

        // One `up`: every kubelet presents a new certificate from the cluster CA, accepted.
        const fixedAt = Date.now();
        const fixed = await up();
        expect(fixed.failures).toEqual([]);
        const commands = kubeletClientCommands();
        expect(commands).toHaveLength(sim.nodes.length);
        for (const n of sim.nodes) expect(commands.filter((c) => c!.endsWith(`-${n.name}-kubelet-client`)), n.name).toHaveLength(1);
        const accepted = await verdicts(fixedAt);
        for (const n of sim.nodes) {
            const now = link(n);
            expect(now, n.name).toMatch(new RegExp(`^${PKI}/kubelet-client-kube-pki-[0-9-]+\\.pem$`));
            const file = n.hostPath(now);
            expect((fs.statSync(file).mode & 0o777).toString(8), n.name).toBe("600");
            expect(accepted[n.name], n.name).toMatchObject({ accepted: true, certSha256: fileFingerprint(file) });
            const verify = await run("/usr/bin/openssl", ["verify", "-CAfile", sim.authorities.ca.cert, "-purpose", "sslclient", file]);
            expect(verify.stdout.trim()).toBe(`${file}: OK`);
        }
        // Only kubelets restarted, each once.
        expect(restartsSince(fixedAt)).toEqual(sim.nodes.map((n) => `${n.name}:kubelet`).sort());

        // A second `up` does nothing.
        const links = Object.fromEntries(sim.nodes.map((n) => [n.name, link(n)]));
        const againAt = Date.now();
        const again = await up();
        expect(again.failures).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
        expect(restartsSince(againAt)).toEqual([]);
        for (const n of sim.nodes) expect(link(n), n.name).toBe(links[n.name]);
    }, 600_000);
});
