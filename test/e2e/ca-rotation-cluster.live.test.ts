/**
 * Issue 14, live test 3(b): rotation of the cluster CA of a 3-master + 1-worker simulated cluster
 * (kubelets rotating their own client certificates, as kubeadm sets them up), one phase per `up`
 * (trust-both → reissue → drop-old) after a first plain `up` that adopts the seeded CAs, and in the
 * same `up`s the service-account key pair's rotation (the operator's new key).
 *
 * Judges: /healthz of every apiserver stand-in every 100 ms for the whole file (some must always
 * answer); after each phase kubectl inside every node with every kubeconfig of that node against
 * every apiserver (`get --raw /api`: the stand-in answers it only to a client certificate it
 * verified against its --client-ca-file, and kubectl verifies the server by the kubeconfig's CA
 * data); openssl on every node's files (bundle order of ca.crt and of every kubeconfig's CA data,
 * `openssl verify` of every leaf and client certificate, the CA key's public key); at the end the old
 * CA's certificate in no file and no kubeconfig of any node. The program's preview line only where
 * what preview announces is the claim.
 *
 * The controller-manager: the sim's stand-in exits, as the real one does, when
 * --cluster-signing-cert-file holds more than one certificate; kube-pki points it at
 * kube-pki-ca-signing.crt on every master before trust-both makes ca.crt a bundle, and back at ca.crt
 * after drop-old. Judged on every master after each phase: the manifest's flag and that file's one
 * certificate (the CA whose key is in ca.key).
 * Service-account tokens: the apiserver stand-ins sign TokenRequests with --service-account-signing-key-file
 * and verify bearer tokens with every key of --service-account-key-file, as the real one does. After
 * each phase every master's sa.pub/sa.key hold the phase's keys, a token minted by each apiserver is
 * accepted by every apiserver, tokens of the old key too until drop-old, and refused by all after it.
 * Interrupted (3(c)): drop-old's first `up` meets a kube-apiserver on master-2 that never comes back;
 * that master is rolled back, and once it runs again the next `up` resumes drop-old and completes.
 * The longest window with no apiserver answering is printed (a timing figure: bench/ca-rotation
 * case b reports it); every probe phase must have probed.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "../harness/mocks";
import { describeLive, SimCluster, waitFor, type SimNode } from "../harness/sim";
import { everyKubeconfigWorks, knownCa, pemCerts, placesHolding, type KnownCa } from "./ca-rotation-judges";
import { apiserverAnswers, RotationProbes } from "./ca-rotation-probes";
import {
    baseSpec, CLUSTER_CA, expectedHoldings, holdings, newCaFrom, rotating, rotationLines, ROTATION_SIM, withLogs, type NodeHoldings,
    type PhaseName,
} from "./ca-rotation-scenario";
import { allAnswered, mintTokens, oldSaPublicKey, saHoldings, spkiOf, tokenVerdicts } from "./sa-rotation-judges";

const SIGNING = "/etc/kubernetes/pki/kube-pki-ca-signing.crt";

/** The operator's new service-account key (kube-pki:authorities.rotate.serviceAccount.keyFile's content). */
const SA_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" });
const SA_NEW = {
    keyPem: SA_KEY.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKeyPem: SA_KEY.publicKey.export({ type: "spki", format: "pem" }) as string,
};

/** The cluster CA and the service-account pair rotating together. */
function rotatingBoth(spec: ClusterSpec): ClusterSpec {
    const s = rotating(spec, CLUSTER_CA);
    return { ...s, authorities: { ...s.authorities, serviceAccountRotation: { id: "sa1", keyFile: "/operator/sa1.key", ...SA_NEW, abort: false } } };
}

/** What each phase leaves in every master's sa.pub (in order) and sa.key. */
const SA_EXPECTED: Record<PhaseName, { pub: string[]; key: string }> = {
    "trust-both": { pub: ["old", "new"], key: "old" },
    "reissue": { pub: ["new", "old"], key: "new" },
    "drop-old": { pub: ["new"], key: "new" },
};

/** What a master's controller-manager signs with: its manifest's flag, and that file's certificates and whether the first is ca.key's. */
function signingOf(node: SimNode): { flag: string | undefined; certificates: number; ofKey: boolean } {
    const manifest = fs.readFileSync(node.realHostPath("/etc/kubernetes/manifests/kube-controller-manager.yaml"), "utf8");
    const flag = /--cluster-signing-cert-file=(\S+)/.exec(manifest)?.[1];
    const pem = flag ? fs.readFileSync(node.realHostPath(flag), "utf8") : "";
    const certs = pemCerts(pem);
    const keyPub = createPublicKey(createPrivateKey(fs.readFileSync(node.realHostPath("/etc/kubernetes/pki/ca.key")))).export({ type: "spki", format: "der" });
    const ofKey = certs.length > 0 && new X509Certificate(certs[0]).publicKey.export({ type: "spki", format: "der" }).equals(keyPub);
    return { flag, certificates: certs.length, ofKey };
}

/** trust-both and reissue: the one-certificate file; drop-old: ca.crt again, one certificate. */
function expectedSigning(phase: PhaseName): ReturnType<typeof signingOf> {
    return { flag: phase === "drop-old" ? "/etc/kubernetes/pki/ca.crt" : SIGNING, certificates: 1, ofKey: true };
}

describeLive("cluster CA rotation (3 masters + 1 worker)", () => {
    let sim: SimCluster;
    let store: MockStateStore;
    let spec: ClusterSpec;
    let probes: RotationProbes;
    let old: KnownCa;
    let fresh: KnownCa | undefined;
    let before: Record<string, NodeHoldings>;
    /** How many kubectl checks (kubeconfig × apiserver) each judgement made. */
    const checked: number[] = [];
    let saKeys: { old: string; new: string };
    /** Tokens minted by each apiserver, by the phase after which they were minted ("before": with the old key only). */
    const tokens: Record<string, Record<string, string>> = {};
    const labelled = (...phases: string[]) => Object.fromEntries(phases.flatMap((p) => Object.entries(tokens[p]).map(([m, t]) => [`${p}/${m}`, t])));

    const up = (s: ClusterSpec, preview = false) =>
        runProgram(() => kubePki({ spec: s }), { mocks: createExecutingMocks({ store }), stack: "ca-rotation-cluster", timeoutMs: 400_000, preview });
    async function phaseUp(): Promise<RunResult> {
        const r = await withLogs(() => up(rotatingBoth(spec)));
        if (r.error) throw r.error;
        return r.result!;
    }
    /** The preview lines of the CA rotation and of the service-account key rotation. */
    async function nextPreview(): Promise<{ ca: string; sa: string }> {
        const r = await withLogs(() => up(rotatingBoth(spec), true));
        if (r.error) throw r.error;
        const lines = rotationLines(r.lines, CLUSTER_CA);
        const sa = r.lines.filter((l) => l.startsWith("service-account key rotation → sa1"));
        expect(lines, r.lines.join("\n")).toHaveLength(1);
        expect(sa, r.lines.join("\n")).toHaveLength(1);
        return { ca: lines[0], sa: sa[0] };
    }
    /** After a phase: what the nodes hold, every kubeconfig with kubectl, and what preview announces next. */
    async function judge(phase: PhaseName, next: RegExp, saNext: RegExp): Promise<void> {
        const cas = fresh ? [old, fresh] : [old];
        expect(await holdings(sim, CLUSTER_CA, cas)).toEqual(expectedHoldings(sim, CLUSTER_CA, phase, before));
        for (const m of sim.nodes.filter((n) => n.role === "master")) expect(signingOf(m), m.name).toEqual(expectedSigning(phase));
        const kubectl = await everyKubeconfigWorks(sim);
        expect(kubectl.failures).toEqual([]);
        checked.push(kubectl.checked);
        expect(saHoldings(sim, saKeys)).toEqual(Object.fromEntries(sim.masters.map((m) => [m.name, SA_EXPECTED[phase]])));
        tokens[phase] = await mintTokens(sim);
        const preview = await nextPreview();
        expect(preview.ca).toMatch(next);
        expect(preview.sa).toMatch(saNext);
    }

    beforeAll(async () => {
        sim = await SimCluster.start(ROTATION_SIM);
        store = new MockStateStore();
        spec = baseSpec(sim);
        old = await knownCa("old", fs.readFileSync(sim.authorities.ca.cert, "utf8"));
        probes = new RotationProbes(sim, { etcd: false, apiserver: true });
        probes.start("first up (adopt)");
        await up(spec);
        before = await holdings(sim, CLUSTER_CA, [old]);
        saKeys = { old: oldSaPublicKey(sim), new: spkiOf(SA_NEW.publicKeyPem) };
        expect(saHoldings(sim, saKeys)).toEqual(Object.fromEntries(sim.masters.map((m) => [m.name, { pub: ["old"], key: "old" }])));
        tokens.before = await mintTokens(sim);
        expect(await tokenVerdicts(sim, labelled("before"))).toEqual(allAnswered(sim, Object.keys(labelled("before")), 200));
        // Every kubeconfig and the leaves of the cluster CA, all signed by the old CA, on every node.
        expect(Object.keys(before["master-1"].leaves).sort()).toEqual(expect.arrayContaining([
            "/etc/kubernetes/admin.conf client", "/etc/kubernetes/controller-manager.conf client", "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
            "/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/scheduler.conf client", "/var/lib/kubelet/pki/kubelet-client-current.pem",
        ]));
        expect(Object.keys(before["worker-1"].leaves).sort()).toEqual(["/etc/kubernetes/kubelet.conf client", "/var/lib/kubelet/pki/kubelet-client-current.pem"]);
        expect(before).toEqual(expectedHoldings(sim, CLUSTER_CA, "before", before));
        const kubectl = await everyKubeconfigWorks(sim);
        expect(kubectl.failures).toEqual([]);
        expect(kubectl.checked).toBeGreaterThanOrEqual(3 * 3 * 5);
    }, 400_000);

    afterAll(async () => {
        await probes?.stop();
        await sim?.stop();
    });

    it("phase 1 (trust-both): ca.crt and every kubeconfig's CA data hold old then new; the old CA still signs; every kubeconfig works; sa.pub old + new", async () => {
        probes.phase("trust-both");
        const result = await phaseUp();
        const found = await newCaFrom(sim, CLUSTER_CA, old, result);
        fs.rmSync(found.keyFile, { force: true });
        fresh = found.ca;
        await judge("trust-both", /phase 2 of 3 \(reissue\)/, /phase 2 of 3 \(reissue\) next: sa\.pub on 3 masters; sa\.key on 3 masters/);
        // Every apiserver verifies with both keys; all still sign with the old one.
        const all = labelled("before", "trust-both");
        expect(await tokenVerdicts(sim, all)).toEqual(allAnswered(sim, Object.keys(all), 200));
    }, 400_000);

    it("phase 2 (reissue): every leaf and client certificate by the new CA, new first in every anchor; every kubeconfig works; new-key and old-key tokens accepted", async () => {
        expect(fresh, "phase 1 ran").toBeDefined();
        probes.phase("reissue");
        await phaseUp();
        await judge("reissue", /phase 3 of 3 \(drop/, /phase 3 of 3 \(drop the old key\) next: sa\.pub on 3 masters; restarts kube-apiserver; tokens signed by the old key are refused/);
        // Tokens of the new key (minted now) and of the old one are accepted by every apiserver.
        const all = labelled("before", "trust-both", "reissue");
        expect(await tokenVerdicts(sim, all)).toEqual(allAnswered(sim, Object.keys(all), 200));
    }, 400_000);

    it("phase 3 (drop-old, interrupted by an apiserver that never comes back, then resumed): only the new CA in every anchor; every kubeconfig works; the old CA is in no file or kubeconfig of any node; old-key tokens refused", async () => {
        expect(fresh, "phase 1 ran").toBeDefined();
        probes.phase("drop-old");
        // 3(c): master-2's kube-apiserver never comes back from drop-old's restart: the `up` fails there,
        // master-2 is rolled back (master-1 finished drop-old; master-3 was not reached).
        const m2 = sim.node("master-2");
        m2.setFault("kube-apiserver", { kind: "never-return" });
        const failed = await withLogs(() => up(rotatingBoth(spec)));
        m2.clearFault();
        expect(String((failed.error as Error | undefined)?.message ?? failed.error), "the interrupted up failed").toMatch(/FAILED on node master-2[\s\S]*kube-apiserver did not come back/);
        // Once master-2's apiserver runs again (on its rolled-back files), preview resumes drop-old, not held.
        await waitFor("master-2's kube-apiserver answering again", () => apiserverAnswers(m2.ip, 1000), 60_000, 250);
        const resumed = await nextPreview();
        expect(resumed.ca).toMatch(/phase 3 of 3 \(drop the old CA\) next:/);
        expect(resumed.sa).toMatch(/phase 3 of 3 \(drop the old key\) next: sa\.pub on 2 masters;/);
        probes.phase("drop-old (resumed)");
        await phaseUp();
        await judge("drop-old", /complete/, /complete \(every master's sa\.pub holds only the new key\)/);
        // Tokens of the old key are refused by every apiserver; the new key's still work.
        const oldTokens = labelled("before", "trust-both");
        expect(await tokenVerdicts(sim, oldTokens)).toEqual(allAnswered(sim, Object.keys(oldTokens), 401));
        const newTokens = labelled("reissue", "drop-old");
        expect(await tokenVerdicts(sim, newTokens)).toEqual(allAnswered(sim, Object.keys(newTokens), 200));
        for (const n of sim.nodes) expect(await placesHolding(n, old.fingerprint), n.name).toEqual([]);
        // The new CA is trusted where the old one was (the judge sees it at all).
        expect(await placesHolding(sim.node("worker-1"), fresh!.fingerprint)).toEqual(expect.arrayContaining(["/etc/kubernetes/pki/ca.crt"]));
    }, 400_000);

    it("the apiservers were probed through every phase (the longest window with none answering is printed; bench/ca-rotation reports it)", async () => {
        await probes.stop();
        for (const p of probes.phases) expect(p.apiTicks, `probes during ${p.phase}`).toBeGreaterThan(10);
        console.log(`apiserver: longest window with none answering ${probes.summary().longestAllDown} ms; by phase: ` +
            probes.phases.map((p) => `${p.phase} ${p.longestAllDown} ms (${p.apiTicks} ticks)`).join(", "));
        expect(checked).toHaveLength(3);
    });
});
