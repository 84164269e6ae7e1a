/**
 * The program under a CA rotation (echo mocks, successive runs on one state store): the phase
 * decided from the program-time inventories reaches ClusterPki, preview prints one line per
 * rotation, the readers of the rotating CA's files and nothing else restart, cluster-info carries
 * the cluster CA's bundle, and a stack without rotation is left exactly as it was.
 */
import * as pulumi from "@pulumi/pulumi";
import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import type { ClusterFindings } from "../src/findings";
import { rotationMessage } from "../src/findings";
import type { NodeInventory } from "../src/drift/inventory";
import { kubePki } from "../src/program";
import { decideRotation, type RotationDecision, type RotationInputs, type RotationPhase } from "../src/pki/ca-rotation";
import { parseBundle } from "../src/node/bundle-format";
import { pemBlocks } from "../src/pki/keys";
import type { SaRotationDecision, SaRotationInputs } from "../src/pki/sa-rotation";
import { spkiPem } from "../src/drift/script-output";
import { parseCert } from "../src/drift/cert-info";
import { adoptedContent, componentsToRestart } from "../src/rollout/plan";
import type { ClusterSpec } from "../src/spec";
import { haCluster } from "./fixtures/cluster";
import { buildInventories } from "./drift/inventory-builder";
import { createAdoptingEchoMocks, createEchoMocks } from "./harness/mocks/echo-mocks";
import { runProgram, ProgramRunError } from "./harness/mocks/run-program";
import { MockStateStore, type RunReport } from "./harness/mocks/state-store";
import type { RunResult } from "./harness/mocks/records";

const COMMAND = "command:remote:Command";
const LSC = "tls:index/locallySignedCert:LocallySignedCert";
const SSC = "tls:index/selfSignedCert:SelfSignedCert";
const CLUSTER_INFO = "prod-cluster-objects-configmap-cluster-info";
const MASTERS = ["master-1", "master-2", "master-3"];
const DAY = 86_400_000;

function spec(rotate?: ClusterSpec["authorities"]["rotate"], drift = true): ClusterSpec {
    const base = haCluster("1.30.4", 1);
    return {
        ...base,
        authorities: { ...base.authorities, ...(rotate ? { rotate } : {}) },
        drift: { ...base.drift, enabled: drift },
    };
}

let inventories: NodeInventory[];
beforeAll(async () => {
    // Healthy nodes as kube-pki left them (no recovery, no repair): what the decision reads.
    inventories = await buildInventories(spec(), { issuedAt: new Date(Date.now() - 10 * DAY), days: 365, keyAlgorithm: "ECDSA-P256", installed: true });
}, 60_000);
afterEach(() => { vi.restoreAllMocks(); });

const findings = (): ClusterFindings => ({ reasons: {}, repairs: {}, report: "", inventories, apiserverServing: true });

/** A decider that answers `phase` for every rotation and records what it was given. */
function fixed(phase: RotationPhase, held?: string) {
    const calls: RotationInputs[] = [];
    const decide = (i: RotationInputs): RotationDecision => {
        calls.push(i);
        return { ca: i.ca, id: i.spec.id, phase, complete: false, summary: `CA rotation ${i.ca} → ${i.spec.id}: ${phase}${held ? ` held: ${held}` : ""}`, ...(held ? { held } : {}) };
    };
    return { decide, calls };
}

async function up(store: MockStateStore, cluster: ClusterSpec, decide?: (i: RotationInputs) => RotationDecision, preview = false): Promise<{ res: RunResult; report: RunReport }> {
    const res = await runProgram(() => kubePki({ spec: cluster, inspect: async () => findings(), ...(decide ? { decideRotation: decide } : {}) }),
        { mocks: createEchoMocks({ store }), stack: "prod", preview });
    return { res, report: store.lastRun };
}

const name = (urn: string) => urn.split("::").pop()!;
/** Component restarts (not installs, kit or repairs) the run replaces or creates, as "<node>/<component>". */
function restarts(report: RunReport): string[] {
    const components = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"];
    return [...report.replaced, ...report.created].filter((u) => u.includes(COMMAND)).map(name)
        .flatMap((n) => {
            const m = /^prod-rollout-(.+?)-(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet)$/.exec(n);
            return m && components.includes(m[2]) ? [`${m[1]}/${m[2]}`] : [];
        }).sort();
}
const onMasters = (...components: string[]) => MASTERS.flatMap((m) => components.map((c) => `${m}/${c}`));

function caData(kubeconfig: string): string[] {
    const pem = Buffer.from(parse(kubeconfig).clusters[0].cluster["certificate-authority-data"], "base64").toString("utf8");
    return pemBlocks(pem).map((b) => b.pem);
}

const messages = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith("CA rotation"));

describe("etcd CA rotation through the program", () => {
    const rotate = { etcdCa: { id: "2027", source: "generate" as const, abort: false } };

    it("passes the program-time inventories to the decision, prints its line, and restarts etcd and the apiservers only", async () => {
        const store = new MockStateStore();
        await up(store, spec());
        const info = vi.spyOn(pulumi.log, "info");
        const warn = vi.spyOn(pulumi.log, "warn");
        const { decide, calls } = fixed("trust-both");
        const { res, report } = await up(store, spec(rotate), decide);

        expect(calls).toHaveLength(1);
        expect(calls[0].ca).toBe("etcd-ca");
        expect(calls[0].spec).toEqual(rotate.etcdCa);
        expect(calls[0].inventories).toBe(inventories);
        expect(messages(info)).toEqual(["CA rotation etcd-ca → 2027: trust-both"]);
        expect(messages(warn)).toEqual([]);

        expect(res.get("prod-etcd-ca-2027", "kube-pki:index:CertificateAuthority")).toBeDefined();
        expect(report.created.map(name).filter((n) => n.startsWith("prod-etcd-ca-2027")).sort()).toEqual(["prod-etcd-ca-2027-cert", "prod-etcd-ca-2027-key"]);
        expect(report.replaced.filter((u) => u.includes(LSC) || u.includes(SSC))).toEqual([]);
        // etcd/ca.crt is read by etcd and the apiserver; workers hold no etcd CA.
        expect(restarts(report)).toEqual(onMasters("etcd", "kube-apiserver").sort());
        expect(report.replaced.map(name).filter((n) => n.endsWith("-install")).sort()).toEqual(MASTERS.map((m) => `prod-rollout-${m}-install`));
        expect(report.operations[report.unchanged.find((u) => name(u) === CLUSTER_INFO)!]).toBe("same");

        expect(res.outputs.caRotations.value).toEqual({ "etcd-ca": { id: "2027", phase: "trust-both", complete: false, summary: "CA rotation etcd-ca → 2027: trust-both" } });
        const bundle = pemBlocks(res.outputs.caBundles.value["etcd-ca"]).map((b) => b.pem);
        expect(bundle).toEqual([res.get("prod-etcd-ca-cert", SSC).outputs.certPem, res.get("prod-etcd-ca-2027-cert", SSC).outputs.certPem]);

        // Reissue: the etcd leaves are signed again (new CA), the same components restart.
        const next = await up(store, spec(rotate), fixed("reissue").decide);
        expect(next.report.replaced.filter((u) => u.includes(LSC)).map(name).sort()).toEqual(
            [...MASTERS.flatMap((m) => [`prod-${m}-etcd-peer-cert`, `prod-${m}-etcd-server-cert`]), "prod-apiserver-etcd-client-cert", "prod-etcd-healthcheck-client-cert"].sort());
        expect(restarts(next.report)).toEqual(onMasters("etcd", "kube-apiserver").sort());
        // The same phase again (an interrupted or finished one): nothing changes.
        const again = await up(store, spec(rotate), fixed("reissue").decide);
        expect([...again.report.created, ...again.report.replaced, ...again.report.updated, ...again.report.deleted]).toEqual([]);
    }, 120_000);

    it("a held rotation is a warning carrying why", async () => {
        const warn = vi.spyOn(pulumi.log, "warn");
        await up(new MockStateStore(), spec(rotate), fixed("trust-both", 'node "master-2" unread').decide, true);
        expect(messages(warn)).toEqual(['CA rotation etcd-ca → 2027: trust-both held: node "master-2" unread']);
        expect(rotationMessage({ ca: "etcd-ca", id: "2027", phase: "reissue", complete: false, summary: "CA rotation etcd-ca → 2027: reissue", held: "x" }))
            .toEqual({ level: "warn", text: "CA rotation etcd-ca → 2027: reissue; held: x" });
    }, 60_000);

    it("with drift detection off: a config error naming kube-pki:drift.enabled, before anything is declared", async () => {
        const { decide, calls } = fixed("trust-both");
        const run = up(new MockStateStore(), spec(rotate, false), decide, true);
        await expect(run).rejects.toThrow(ProgramRunError);
        const err = (await run.catch((e: unknown) => e)) as ProgramRunError;
        expect(String(err.cause ?? err.message)).toMatch(/kube-pki:authorities\.rotate\.etcdCa: .*kube-pki:drift\.enabled/);
        expect((err as ProgramRunError).result.resources).toEqual([]);
        expect(calls).toEqual([]);
    }, 60_000);

    it("the real decision on nodes that hold only the old CA: trust both next, not held", async () => {
        const info = vi.spyOn(pulumi.log, "info");
        const { res } = await up(new MockStateStore(), spec(rotate), undefined, true);
        expect(res.outputs.caRotations.value["etcd-ca"]).toMatchObject({ id: "2027", phase: "trust-both", complete: false });
        expect(res.outputs.caRotations.value["etcd-ca"].held).toBeUndefined();
        expect(messages(info)).toHaveLength(1);
    }, 60_000);
});

describe("a rotation whose old CA the nodes do not trust (an earlier rotation's CA on the nodes)", () => {
    const rotate = { etcdCa: { id: "2028", source: "generate" as const, abort: false } };
    const adopted = (r?: ClusterSpec["authorities"]["rotate"]): ClusterSpec => ({ ...spec(r), authorities: { ...spec(r).authorities, etcdCa: "adopt" } });
    const run = (store: MockStateStore, cluster: ClusterSpec, oldSeen?: string[], preview = false) => runProgram(() => kubePki({
        spec: cluster, inspect: async () => findings(),
        decideRotation: (i) => ({ ca: i.ca, id: i.spec.id, phase: "trust-both", complete: false, summary: "x", ...(oldSeen ? { oldSeen } : {}) }),
    }), { mocks: createAdoptingEchoMocks({ store }), stack: "prod", preview });

    it("is refused before any command runs, naming the key and the fix; the stack's own old CA passes", async () => {
        const store = new MockStateStore();
        const first = await run(store, adopted());
        const own = parseCert(first.get("prod-etcd-ca-adopt", COMMAND).outputs.stdout).sha256;
        // Preview already: the old CA's certificate is known from state there.
        for (const preview of [true, false]) {
            const err = (await run(store, adopted(rotate), ["ab".repeat(32)], preview).catch((e: unknown) => e)) as ProgramRunError;
            expect(err, `preview ${preview}`).toBeInstanceOf(ProgramRunError);
            expect(String(err.cause ?? err.message)).toMatch(/the nodes trust sha256:abababab… besides the new CA/);
        }
        const err = (await run(store, adopted(rotate), ["ab".repeat(32)]).catch((e: unknown) => e)) as ProgramRunError;
        expect(String(err.cause ?? err.message)).toMatch(/kube-pki:authorities\.rotate\.etcdCa\.id: the nodes trust sha256:abababab… besides the new CA, not this stack's etcd-ca \(sha256:[0-9a-f]{8}…, kube-pki:authorities\.etcdCa\): an earlier rotation's CA\? A second rotation of the same CA is not supported yet; set id back/);
        expect([...store.lastRun.created, ...store.lastRun.replaced, ...store.lastRun.updated].filter((u) => u.includes("-rollout-"))).toEqual([]);
        const ok = await run(store, adopted(rotate), [own, "cd".repeat(32)]);
        expect(ok.get("prod-etcd-ca-2028", "kube-pki:index:CertificateAuthority")).toBeDefined();
    }, 120_000);
});

describe("cluster CA rotation through the program", () => {
    const rotate = { ca: { id: "next", source: "generate" as const, abort: false } };

    it("trust both: every reader of ca.crt and of a kubeconfig restarts (not etcd), cluster-info carries old + new", async () => {
        const store = new MockStateStore();
        await up(store, spec());
        const { res, report } = await up(store, spec(rotate), fixed("trust-both").decide);
        expect(restarts(report)).toEqual([...onMasters("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"), "worker-1/kubelet"].sort());
        const old = res.get("prod-ca-cert", SSC).outputs.certPem;
        const fresh = res.get("prod-ca-next-cert", SSC).outputs.certPem;
        expect(report.operations[res.get(CLUSTER_INFO).urn]).toBe("update");
        expect(caData(res.get(CLUSTER_INFO).inputs.data.kubeconfig)).toEqual([old, fresh]);
        expect(caData(res.outputs.adminKubeconfig.value)).toEqual([old, fresh]);
        expect(res.outputs.caCertificates.value.ca).toBe(old);

        const drop = await up(store, spec(rotate), fixed("drop-old").decide);
        expect(caData(drop.res.get(CLUSTER_INFO).inputs.data.kubeconfig)).toEqual([fresh]);
        expect(drop.res.outputs.caCertificates.value.ca).toBe(fresh);
    }, 120_000);

    it("each master points kube-controller-manager at a one-certificate signing file before its install, and back at ca.crt after drop-old's restarts", async () => {
        const store = new MockStateStore();
        const before = await up(store, spec());
        expect(before.res.resources.filter((r) => r.name.endsWith("-ca-signing"))).toEqual([]);
        const { res } = await up(store, spec(rotate), fixed("trust-both").decide);
        const old = res.get("prod-ca-cert", SSC).outputs.certPem;
        for (const m of MASTERS) {
            const step = res.get(`prod-rollout-${m}-ca-signing`, COMMAND);
            expect(step.inputs.create).toMatch(/\/signing-file\.sh" '--ca-cert' '\/etc\/kubernetes\/pki\/ca\.crt' '--ca-key' '\/etc\/kubernetes\/pki\/ca\.key' '--signing' '\/etc\/kubernetes\/pki\/kube-pki-ca-signing\.crt' 'point'/);
            const install = res.get(`prod-rollout-${m}-install`, COMMAND);
            expect(install.dependencies).toContain(step.urn);
            // The engine runs it before this master's install, which carries the signing CA's certificate alone.
            const file = parseBundle(install.inputs.stdin).files.find((f) => f.path === "/etc/kubernetes/pki/kube-pki-ca-signing.crt")!;
            expect([file.mode, file.content]).toEqual(["0644", old]);
        }
        expect(res.resources.some((r) => r.name === "prod-rollout-worker-1-ca-signing")).toBe(false);

        // Reissue keeps the step as it is (same trigger): nothing runs again for it.
        const reissue = await up(store, spec(rotate), fixed("reissue").decide);
        for (const m of MASTERS) expect(reissue.report.operations[reissue.res.get(`prod-rollout-${m}-ca-signing`, COMMAND).urn]).toBe("same");

        // drop-old: back at ca.crt, after the node's restarts.
        const drop = await up(store, spec(rotate), fixed("drop-old").decide);
        for (const m of MASTERS) {
            const step = drop.res.get(`prod-rollout-${m}-ca-signing`, COMMAND);
            expect(step.inputs.create).toMatch(/'unpoint'$/);
            expect(drop.report.operations[step.urn]).toBe("replace");
            expect(step.dependencies).toContain(drop.res.get(`prod-rollout-${m}-kube-controller-manager`, COMMAND).urn);
        }
    }, 180_000);
});

describe("front-proxy CA rotation through the program", () => {
    it("trust both and reissue restart the readers of front-proxy-ca.crt and front-proxy-client (apiserver, controller-manager) on masters only", async () => {
        const store = new MockStateStore();
        await up(store, spec());
        const rotate = { frontProxyCa: { id: "fp2", source: "generate" as const, abort: false } };
        const trust = await up(store, spec(rotate), fixed("trust-both").decide);
        expect(restarts(trust.report)).toEqual(onMasters("kube-apiserver", "kube-controller-manager").sort());
        const reissue = await up(store, spec(rotate), fixed("reissue").decide);
        expect(reissue.report.replaced.filter((u) => u.includes(LSC)).map(name)).toEqual(["prod-front-proxy-client-cert"]);
        expect(restarts(reissue.report)).toEqual(onMasters("kube-apiserver", "kube-controller-manager").sort());
    }, 120_000);
});

describe("no rotation", () => {
    it("asks no decision, prints no rotation line, adds no output, and a second run changes nothing", async () => {
        const store = new MockStateStore();
        const info = vi.spyOn(pulumi.log, "info");
        const { decide, calls } = fixed("trust-both");
        const first = await up(store, spec(), decide);
        const second = await up(store, spec(), decide);
        expect(calls).toEqual([]);
        expect(messages(info)).toEqual([]);
        expect(Object.keys(first.res.outputs).sort()).toEqual(["adminKubeconfig", "caCertificates", "certificates", "drift", "served"]);
        expect([...second.report.created, ...second.report.replaced, ...second.report.updated, ...second.report.deleted]).toEqual([]);
    }, 120_000);
});

describe("adoptedContent under rotation", () => {
    const adopted = (rotate?: ClusterSpec["authorities"]["rotate"], frontProxyCa: ClusterSpec["authorities"]["frontProxyCa"] = "adopt") => ({
        authorities: { ...spec().authorities, ca: "adopt" as const, frontProxyCa, etcdCa: "adopt" as const, ...(rotate ? { rotate } : {}) },
    });

    it("a rotating CA's files (and a same-as-ca CA's, with the cluster CA) are not adopted content; the others stay so", () => {
        expect(adoptedContent("ca", adopted())).toBe(true);
        expect(adoptedContent("ca", adopted({ ca: { id: "n", source: "generate", abort: false } }))).toBe(false);
        expect(adoptedContent("etcd-ca", adopted({ ca: { id: "n", source: "generate", abort: false } }))).toBe(true);
        expect(adoptedContent("front-proxy-ca", adopted({ ca: { id: "n", source: "generate", abort: false } }, "same-as-ca"))).toBe(false);
        expect(adoptedContent("etcd-ca", adopted({ etcdCa: { id: "n", source: "generate", abort: true } }))).toBe(false);
    });

    it("so a component reading only the adopted CA file is restarted once that CA rotates", () => {
        const caFile = { key: "ca.crt", path: "/etc/kubernetes/pki/ca.crt", mode: "0644", content: pulumi.output(""), consumers: ["kube-apiserver"], source: "ca" } as const;
        expect(componentsToRestart([caFile], "master", adopted())).toEqual([]);
        expect(componentsToRestart([caFile], "master", adopted({ ca: { id: "n", source: "generate", abort: false } }))).toEqual(["kube-apiserver"]);
    });
});

describe("service-account key rotation through the program", () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const newKey = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const newPub = pair.publicKey.export({ type: "spki", format: "pem" }) as string;
    /** The stack with its service-account pair adopted (the fixture's sa.pub, a real key: what the nodes hold). */
    const adopting = (): ClusterSpec => ({ ...spec(), authorities: { ...spec().authorities, serviceAccount: "adopt" } });
    const saSpec = (abort = false): ClusterSpec => {
        const base = adopting();
        return { ...base, authorities: { ...base.authorities, serviceAccountRotation: { id: "2027", keyFile: "/p/sa-2027.key", keyPem: newKey, publicKeyPem: newPub, abort } } };
    };
    const saUp = (store: MockStateStore, cluster: ClusterSpec, phase?: RotationPhase, read: NodeInventory[] = inventories) =>
        runProgram(() => kubePki({
            spec: cluster, inspect: async () => ({ ...findings(), inventories: read }),
            ...(phase ? { decideSaRotation: (i: SaRotationInputs): SaRotationDecision => ({ id: i.spec.id, phase, complete: false, summary: `sa → ${i.spec.id}: ${phase}`, nodes: {} }) } : {}),
        }), { mocks: createAdoptingEchoMocks({ store }), stack: "prod" }).then((res) => ({ res, report: store.lastRun }));
    /** sa.key and sa.pub as master-1's install carries them; the install's stdin is a secret input. */
    const saFiles = (res: RunResult, m = "master-1") => {
        const install = res.get(`prod-rollout-${m}-install`, COMMAND);
        expect(install.secretInputs).toContain("stdin");
        const files = parseBundle(install.inputs.stdin).files;
        return { key: files.find((f) => f.path === "/etc/kubernetes/pki/sa.key")!, pub: files.find((f) => f.path === "/etc/kubernetes/pki/sa.pub")! };
    };

    /** The inventories with every master's sa.pub/sa.key holding `pub` (what the nodes hold after the first up). */
    const holdingSa = (pub: string): NodeInventory[] => inventories.map((inv) => ({
        ...inv,
        files: inv.files.map((f) => (f.key === "sa.pub" ? { ...f, publicKeys: [spkiPem(pub)!] } : f.key === "sa.key" ? { ...f, publicKey: spkiPem(pub)! } : f)),
    }));

    it("the real decision on masters holding the old pair: trust both next; sa.pub old + new, sa.key unchanged, only the apiservers restart", async () => {
        const store = new MockStateStore();
        const first = await saUp(store, adopting());
        const old = saFiles(first.res);
        const info = vi.spyOn(pulumi.log, "info");
        const { res, report } = await saUp(store, saSpec(), undefined, holdingSa(old.pub.content));
        expect(res.outputs.serviceAccountRotation.value).toEqual({ id: "2027", phase: "trust-both", complete: false,
            summary: "service-account key rotation → 2027: phase 1 of 3 (trust both) next: sa.pub on 3 masters; restarts kube-apiserver" });
        expect(info.mock.calls.map((c) => String(c[0]))).toContain(res.outputs.serviceAccountRotation.value.summary);
        const now = saFiles(res);
        expect(now.key.content).toBe(old.key.content);
        expect(pemBlocks(now.pub.content).map((b) => b.pem)).toEqual([old.pub.content, newPub]);
        expect(restarts(report)).toEqual(onMasters("kube-apiserver").sort());
        // The new private key is nowhere in plain state (stdin is secret; outputs carry no key).
        expect(JSON.stringify(res.outputs)).not.toContain(newKey.split("\n")[1]);
    }, 120_000);

    it("reissue signs with the new key (apiserver and controller-manager restart), drop-old keeps only it, abort-trust signs with the old again", async () => {
        const store = new MockStateStore();
        const old = saFiles((await saUp(store, adopting())).res);
        await saUp(store, saSpec(), "trust-both");
        const reissue = await saUp(store, saSpec(), "reissue");
        expect(saFiles(reissue.res).key.content).toBe(newKey);
        expect(pemBlocks(saFiles(reissue.res).pub.content).map((b) => b.pem)).toEqual([newPub, old.pub.content]);
        expect(saFiles(reissue.res, "master-3").key.mode).toBe("0600");
        expect(restarts(reissue.report)).toEqual(onMasters("kube-apiserver", "kube-controller-manager").sort());
        const drop = await saUp(store, saSpec(), "drop-old");
        expect(saFiles(drop.res).pub.content).toBe(newPub);
        expect(restarts(drop.report)).toEqual(onMasters("kube-apiserver").sort());

        const back = new MockStateStore();
        await saUp(back, adopting());
        await saUp(back, saSpec(true), "trust-both");
        await saUp(back, saSpec(true), "reissue");
        const abort = await saUp(back, saSpec(true), "abort-trust");
        expect(saFiles(abort.res).key.content).toBe(old.key.content);
        expect(pemBlocks(saFiles(abort.res).pub.content).map((b) => b.pem)).toEqual([old.pub.content, newPub]);
        const dropNew = await saUp(back, saSpec(true), "abort-drop-new");
        expect(saFiles(dropNew.res).pub.content).toBe(old.pub.content);
        expect(restarts(dropNew.report)).toEqual(onMasters("kube-apiserver").sort());
    }, 240_000);

    it("masters holding a key this stack's pair is not (an earlier rotation's): refused before anything changes, naming the key", async () => {
        const store = new MockStateStore();
        await saUp(store, adopting());
        const foreign = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }) as string;
        const run = saUp(store, saSpec(), undefined, holdingSa(foreign));
        const err = (await run.catch((e: unknown) => e)) as ProgramRunError;
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(String(err.cause ?? err.message)).toMatch(/kube-pki:authorities\.rotate\.serviceAccount: the masters' sa\.pub holds a key besides the new one that this stack's service-account pair is not .*set id and keyFile back to the rotation the masters finished/);
        expect([...store.lastRun.created, ...store.lastRun.replaced, ...store.lastRun.updated].filter((u) => u.includes(COMMAND))).toEqual([]);
    }, 120_000);

    it("an adopted pair under rotation is not adopted content: its readers restart", () => {
        const a = { authorities: { ...saSpec().authorities, serviceAccount: "adopt" as const } };
        expect(adoptedContent("sa", { authorities: { ...a.authorities, serviceAccountRotation: undefined } })).toBe(true);
        expect(adoptedContent("sa", a)).toBe(false);
    });
});
