/**
 * Day 2 on the simulated cluster (issue 8, item 2): settings that change no file — the component
 * timeout, the SSH port and user, the SSH login key, host-key pins, a new kube-pki version's node
 * scripts — restart nothing and swap nothing, and the `served` and `certificates` outputs still
 * tell what the nodes really hold and serve. Changing what one component reads restarts exactly
 * that component. One cluster (3 masters + 1 worker) for the whole file; every test builds on the
 * state the previous one left.
 *
 * Judges: the fake kubelet's event log and the live component PIDs, SHA-256 of every file under
 * /etc/kubernetes, openssl s_client on every component port, the nodes' sshd logs.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { kubePki } from "../../src/program";
import { SCRIPTS_DIR } from "../../src/node/scripts";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "../harness/mocks";
import { describeLive, SIM_ALT_SSH_PORT, SIM_ALT_SSH_USER, SIM_BINARIES, SimCluster, type SimNode } from "../harness/sim";
import { fileFingerprint, servedFingerprint, specFor, treeDigest } from "./sim-spec";

/**
 * "A new kube-pki version": once `upgrade.libSh` is set, reading that file (src/scripts/lib.sh)
 * returns it with one more comment line, as an upgrade that touched lib.sh would ship. The program
 * is then imported afresh (vi.resetModules), as a new kube-pki process would start, so whatever
 * builds node commands from the scripts (inlined or shipped) sees the new file.
 */
const { upgrade, withNewLibSh } = vi.hoisted(() => {
    const upgrade = { libSh: "" };
    const withNewLibSh = async (importOriginal: () => Promise<unknown>) => {
        const actual = (await importOriginal()) as typeof import("node:fs");
        const readFileSync = ((file: unknown, options?: unknown) => {
            const real = (actual.readFileSync as (f: unknown, o?: unknown) => string | Buffer)(file, options);
            if (!upgrade.libSh || String(file) !== upgrade.libSh) return real;
            const extra = "# kube-pki vNext: one more comment line in lib.sh\n";
            return typeof real === "string" ? real + extra : Buffer.concat([real, Buffer.from(extra)]);
        }) as typeof actual.readFileSync;
        return { ...actual, default: { ...actual, readFileSync }, readFileSync };
    };
    return { upgrade, withNewLibSh };
});
vi.mock("node:fs", withNewLibSh);
vi.mock("fs", withNewLibSh);

const COMMAND = "command:remote:Command";
/** Names of the per-node restart commands. */
const RESTART = /-(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet)$/;
/** Children of the NodeKits component (the scripts shipped to each node), where the program has one. */
const isKit = (urn: string) => urn.includes("kube-pki:index:NodeKits$");
/** The resource type of a URN (`…::parent$type::name`). */
const typeOf = (urn: string) => urn.split("::")[2].split("$").pop();
type Served = Record<string, Record<string, string>>;

describeLive("day 2: settings that change no file", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    let secondKey: { privateKey: string; fingerprint: string };

    let program = kubePki;
    const up = (s: ClusterSpec) => runProgram(() => program({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "day2", timeoutMs: 300_000 });
    const withSsh = (s: ClusterSpec, f: (ssh: NonNullable<ClusterSpec["nodes"][number]["ssh"]>, node: SimNode) => Record<string, unknown>): ClusterSpec => ({
        ...s, nodes: s.nodes.map((n) => ({ ...n, ssh: f(n.ssh!, sim.node(n.name)) as any })),
    });

    /** Per node: the PID each control-plane component runs under now (last start, still alive). */
    const componentPids = () => Object.fromEntries(sim.nodes.map((n) => {
        const last: Record<string, number> = {};
        for (const e of n.events()) if (e.event === "start") last[e.component] = e.pid;
        for (const [c, pid] of Object.entries(last)) if (!fs.existsSync(`/proc/${pid}`)) delete last[c];
        return [n.name, last];
    }));
    const restartsSince = (t: number) => sim.nodes.flatMap((n) => n.events())
        .filter((e) => Date.parse(e.ts) >= t && (e.event === "start" || e.event === "kubelet-restart"))
        .map((e) => `${e.node}:${e.component}`);
    const sshdLog = (n: SimNode) => fs.readFileSync(path.join(n.dir, "sim", "sshd.log"), "utf8");

    /** What each component really serves, read on the node with openssl s_client. */
    async function reallyServed(m: SimNode): Promise<Record<string, string>> {
        const etcdClient = { cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt", key: "/etc/kubernetes/pki/etcd/healthcheck-client.key" };
        const [etcd, api, cm, sched] = await Promise.all([
            servedFingerprint(m, "127.0.0.1:2379", etcdClient), servedFingerprint(m, `${m.ip}:6443`),
            servedFingerprint(m, "127.0.0.1:10257"), servedFingerprint(m, "127.0.0.1:10259"),
        ]);
        return { etcd, "kube-apiserver": api, "kube-controller-manager": cm, "kube-scheduler": sched };
    }

    /** The `served` output is what each master component serves, and that is the file on its disk. */
    async function expectServedTrue(result: RunResult): Promise<void> {
        const served = result.outputs.served.value as Served;
        for (const m of sim.masters) {
            const real = await reallyServed(m);
            const disk = (p: string) => fileFingerprint(m.hostPath(`/etc/kubernetes/pki/${p}`));
            expect(real).toEqual({ etcd: disk("etcd/server.crt"), "kube-apiserver": disk("apiserver.crt"),
                "kube-controller-manager": disk("controller-manager.crt"), "kube-scheduler": disk("scheduler.crt") });
            for (const [component, fp] of Object.entries(real)) expect(served[m.name]?.[component], `${m.name} ${component}`).toBe(`sha256:${fp}`);
        }
    }

    /** Every certificate row's expiry is the notAfter of that file on the node. */
    function expectExpiriesTrue(result: RunResult): void {
        const rows = result.outputs.certificates.value as Record<string, Record<string, { action: string; expires: string }>>;
        let checked = 0;
        for (const n of sim.nodes) {
            for (const [key, row] of Object.entries(rows[n.name] ?? {})) {
                if (!key.endsWith(".crt")) continue;
                const onDisk = new crypto.X509Certificate(fs.readFileSync(n.hostPath(`/etc/kubernetes/pki/${key}`)));
                expect(Math.abs(Date.parse(row.expires) - Date.parse(onDisk.validTo)), `${n.name} ${key}`).toBeLessThan(1000);
                checked++;
            }
        }
        expect(checked).toBeGreaterThan(3 * 9);
    }

    /** One settings-only change: a run that updates commands in place and touches nothing on a node. */
    async function expectNothingTouched(next: ClusterSpec, updated: RegExp, opts: { kitShipped?: boolean } = {}): Promise<RunResult> {
        const digests = sim.nodes.map(treeDigest);
        const pids = componentPids();
        const t = Date.now();
        const result = await up(next);
        expect(restartsSince(t)).toEqual([]);
        expect(componentPids()).toEqual(pids);
        expect(sim.nodes.map(treeDigest)).toEqual(digests);

        // The node kit (the scripts every command calls) ships only with a new version: its pair is
        // replaced, and a `-reship` pair is created too, since the inventory finds the new kit
        // missing (src/findings.ts kitReshipsFrom); a `-reship` pair of an earlier run goes away,
        // and its delete does nothing on a node; so does the delete of the first run's `manifest-copy`
        // (it exists only while kube-pki's manifest copy is missing or stale: src/drift/manifests.ts).
        const ops = Object.entries(store.lastRun.operations);
        const kitShipped = (urn: string) => opts.kitShipped === true && isKit(urn);
        expect(ops.filter(([urn, op]) => op !== "same" && !(op === "delete" && /-(reship(-activate)?|manifest-copy)$/.test(urn)) &&
            !((typeOf(urn) === COMMAND || isKit(urn)) && op === "update") && !(kitShipped(urn) && (op === "replace" || op === "create")))).toEqual([]);
        const names = ops.filter(([urn, op]) => op === "update" && !isKit(urn)).map(([urn]) => urn.split("::").pop()!);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(name).toMatch(updated);
        // Nothing generated; restart commands ran their check-only `update`. Only the CA read
        // (read-only, no `update` of its own) runs its create again, as the provider does.
        expect(store.lastRun.executions.filter((e) => e.action !== "update" && !e.urn.endsWith("-adopt") && !kitShipped(e.urn))).toEqual([]);
        const stdout = result.ofType(COMMAND).filter((c) => RESTART.test(c.name)).map((c) => String(c.outputs.stdout));
        for (const out of stdout) expect(out).toMatch(/settings changed, not restarted/);

        await expectServedTrue(result);
        expectExpiriesTrue(result);
        return result;
    }

    beforeAll(async () => {
        // Root logs in with /bin/sh: this host's root ~/.bashrc costs seconds per SSH session (see rootLoginShell).
        sim = await SimCluster.start({ masters: 3, workers: 1, leafExpiresInDays: 10, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" });
        store = new MockStateStore();
        // Start as a stack that has not pinned host keys yet (the explicit opt-out); step (d) pins them.
        const base = specFor(sim, { rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 30, clockSkewToleranceSeconds: 30, keepBackups: 3 } });
        spec = { ...base, nodes: base.nodes.map((n) => {
            const { hostKey: _pinned, ...ssh } = n.ssh!;
            return { ...n, ssh: { ...ssh, insecureIgnoreHostKey: true as const } };
        }) };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-day2-"));
        const keyPath = path.join(dir, "second_ed25519");
        const { execFileSync } = await import("node:child_process");
        execFileSync(SIM_BINARIES.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "kube-pki-day2-second", "-f", keyPath]);
        const fingerprint = execFileSync(SIM_BINARIES.sshKeygen, ["-l", "-f", `${keyPath}.pub`], { encoding: "utf8" }).split(" ")[1];
        secondKey = { privateKey: fs.readFileSync(keyPath, "utf8"), fingerprint };
        for (const n of sim.nodes) n.authorizeKey(fs.readFileSync(`${keyPath}.pub`, "utf8"));
        fs.rmSync(dir, { recursive: true, force: true });

        const first = await up(spec);
        await expectServedTrue(first);
        expectExpiriesTrue(first);
    }, 300_000);

    afterAll(async () => { await sim?.stop(); });

    it("(a) rollout.componentTimeoutSeconds: the restart commands update, nothing restarts", async () => {
        spec = { ...spec, rollout: { ...spec.rollout, componentTimeoutSeconds: 45 } };
        await expectNothingTouched(spec, RESTART);
    }, 300_000);

    it("(b) SSH port and user: every command updates over the new login, nothing restarts", async () => {
        const before = sim.nodes.map((n) => sshdLog(n).length);
        spec = withSsh(spec, (ssh) => ({ ...ssh, port: SIM_ALT_SSH_PORT, user: SIM_ALT_SSH_USER }));
        await expectNothingTouched(spec, /./);
        sim.nodes.forEach((n, i) => {
            const log = sshdLog(n).slice(before[i]);
            expect(log).toMatch(new RegExp(`Accepted publickey for ${SIM_ALT_SSH_USER} from `));
            expect(log).not.toMatch(/Accepted publickey for root /);
        });
    }, 300_000);

    it("(c) the SSH login key: a second authorised key, nothing restarts", async () => {
        const before = sim.nodes.map((n) => sshdLog(n).length);
        spec = withSsh(spec, (ssh) => ({ ...ssh, privateKey: secondKey.privateKey }));
        await expectNothingTouched(spec, /./);
        sim.nodes.forEach((n, i) => {
            const accepted = sshdLog(n).slice(before[i]).split("\n").filter((l) => l.includes("Accepted publickey"));
            expect(accepted.length).toBeGreaterThan(0);
            for (const l of accepted) expect(l).toContain(secondKey.fingerprint);
        });
    }, 300_000);

    it("(d) host-key pins added (ed25519): nothing restarts", async () => {
        spec = withSsh(spec, ({ insecureIgnoreHostKey: _optOut, ...ssh }, n) => ({ ...ssh, hostKey: n.hostPublicKey }));
        await expectNothingTouched(spec, /./);
    }, 300_000);

    it("(e) a new kube-pki version with changed node scripts: nothing restarts", async () => {
        upgrade.libSh = path.join(SCRIPTS_DIR, "lib.sh");
        expect(fs.readFileSync(upgrade.libSh, "utf8")).toMatch(/# kube-pki vNext: one more comment line in lib.sh\n$/);
        vi.resetModules();
        program = (await import("../../src/program")).kubePki;
        await expectNothingTouched(spec, /./, { kitShipped: true });
        // The next run of the same version does nothing at all.
        await up(spec);
        expect(store.lastRun.executions).toEqual([]);
    }, 300_000);

    it("changing what only the apiserver reads (front-proxy-client validity) restarts exactly the apiservers", async () => {
        const pids = componentPids();
        const t = Date.now();
        spec = { ...spec, validity: { ...spec.validity, leafDaysOverrides: { "front-proxy-client": 200 } } };
        const result = await up(spec);
        expect(restartsSince(t)).toEqual(sim.masters.map((m) => `${m.name}:kube-apiserver`));
        const after = componentPids();
        for (const m of sim.masters) {
            expect(after[m.name]["kube-apiserver"]).not.toBe(pids[m.name]["kube-apiserver"]);
            expect({ ...after[m.name], "kube-apiserver": 0 }).toEqual({ ...pids[m.name], "kube-apiserver": 0 });
            const fp = new crypto.X509Certificate(fs.readFileSync(m.hostPath("/etc/kubernetes/pki/front-proxy-client.crt")));
            const days = (Date.parse(fp.validTo) - Date.now()) / 86_400_000;
            expect(days).toBeGreaterThan(198);
            expect(days).toBeLessThan(201);
        }
        await expectServedTrue(result);
        expectExpiriesTrue(result);
    }, 300_000);
});
