/**
 * One test per fact of provider-contract.ts, run through the mocks that plan from it
 * (executing mocks with real tls and local `sh` commands; echo mocks where no work is needed).
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { local, remote } from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { UNKNOWN } from "./wire-values";
import { runProgram, ProgramRunError } from "./run-program";
import { createExecutingMocks } from "./executing-mocks";
import { createEchoMocks } from "./echo-mocks";
import { MockStateStore } from "./state-store";
import { runLocalCommand } from "./local-exec";
import {
    FACTS, TYPES, copyToRemoteCopies, copyToRemoteTarget, goQuote, goTimeText, planResource, protectedDeleteMessage, protectedReplaceMessage, type FactId,
} from "./provider-contract";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-contract-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const names = (urns: string[]) => urns.map((u) => u.split("::").pop()).sort();
const tested = new Set<FactId>();
const fact = (id: FactId) => { tested.add(id); return `${id}: ${FACTS[id].says.slice(0, 60)}…`; };

interface CertOpts { hours?: number; early?: number; uses?: string[]; curve?: string; dns?: string[]; ignore?: string[]; protect?: boolean; withLeaf?: boolean }
function pki(o: CertOpts = {}) {
    return () => {
        const key = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: o.curve ?? "P256" });
        const ca = new tls.SelfSignedCert("ca", {
            privateKeyPem: key.privateKeyPem, subject: { commonName: "ca" }, isCaCertificate: true,
            validityPeriodHours: o.hours ?? 100, earlyRenewalHours: o.early, allowedUses: o.uses ?? ["cert_signing"],
        }, { ignoreChanges: o.ignore, protect: o.protect });
        if (o.withLeaf === false) return { caPem: ca.certPem, end: ca.validityEndTime };
        const leafKey = new tls.PrivateKey("leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const csr = new tls.CertRequest("leaf-csr", { privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "leaf" }, dnsNames: o.dns ?? ["a"] });
        const leaf = new tls.LocallySignedCert("leaf", {
            certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: key.privateKeyPem,
            validityPeriodHours: 10, allowedUses: ["server_auth"],
        });
        return { caPem: ca.certPem, end: ca.validityEndTime, leafPem: leaf.certPem };
    };
}

describe("tls", () => {
    it(fact("tls.privateKey.replaces"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        await runProgram(pki({ withLeaf: false }), { mocks });
        await runProgram(pki({ withLeaf: false, curve: "P384" }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["ca", "ca-key"]); // the cert follows its new key
        // Provider defaults: an absent rsaBits/ecdsaCurve equals the default value.
        const prior = { type: TYPES.privateKey, inputs: { algorithm: "RSA" }, state: {} };
        expect(planResource(prior, { urn: "k", type: TYPES.privateKey, inputs: { algorithm: "RSA", rsaBits: 2048 } }, new Date()).op).toBe("same");
        expect(planResource(prior, { urn: "k", type: TYPES.privateKey, inputs: { algorithm: "RSA", rsaBits: 4096 } }, new Date()).op).toBe("replace");
    });

    it(fact("tls.certRequest.replaces"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        await runProgram(pki(), { mocks });
        await runProgram(pki({ dns: ["a", "b"] }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["leaf", "leaf-csr"]);
        expect(names(store.lastRun.unchanged)).toEqual(["ca", "ca-key", "leaf-key"]);
    });

    it(fact("tls.cert.replaces"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const first = await runProgram(pki(), { mocks });
        const second = await runProgram(pki({ uses: ["cert_signing", "digital_signature"] }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["ca", "leaf"]);
        expect(second.outputs.caPem.value).not.toBe(first.outputs.caPem.value);
        await runProgram(pki({ uses: ["cert_signing", "digital_signature"], hours: 200 }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["ca", "leaf"]);
    });

    it(fact("tls.cert.earlyRenewalInPlace"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const first = await runProgram(pki(), { mocks });
        const preview = await runProgram(pki({ early: 5 }), { mocks, preview: true });
        expect(names(store.lastRun.updated)).toEqual(["ca"]);
        expect(preview.outputs.caPem).toMatchObject({ known: true, value: first.outputs.caPem.value });
        const up = await runProgram(pki({ early: 5 }), { mocks });
        expect(names(store.lastRun.updated)).toEqual(["ca"]);
        expect(store.lastRun.replaced).toEqual([]);
        expect(store.lastRun.executions).toEqual([]);
        expect(up.outputs.caPem.value).toBe(first.outputs.caPem.value);
        expect(store.get(up.get("ca").urn)!.inputs.earlyRenewalHours).toBe(5);
        // Absent and 0 are the same (provider default).
        await runProgram(pki({ early: 0 }), { mocks });
        await runProgram(pki(), { mocks });
        expect(store.lastRun.updated).toEqual([]);
    });

    it(fact("tls.cert.readyForRenewal"), async () => {
        const store = new MockStateStore();
        let clock = new Date("2030-01-01T00:00:00Z");
        const mocks = createExecutingMocks({ store, now: () => clock });
        const first = await runProgram(pki({ hours: 100, early: 10, withLeaf: false }), { mocks });
        clock = new Date(clock.getTime() + 80 * 3_600_000);
        // The planned earlyRenewalHours counts: 25 h puts "now" inside the window, at plan time.
        const preview = await runProgram(pki({ hours: 100, early: 25, withLeaf: false }), { mocks, preview: true });
        expect(names(store.lastRun.replaced)).toEqual(["ca"]);
        expect(preview.outputs.caPem.known).toBe(false);
        // ignoreChanges on every input cannot stop it.
        clock = new Date(clock.getTime() + 15 * 3_600_000);
        const up = await runProgram(pki({ hours: 100, early: 10, withLeaf: false, ignore: ["validityPeriodHours", "earlyRenewalHours", "allowedUses", "subject"] }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["ca"]);
        expect(up.outputs.caPem.value).not.toBe(first.outputs.caPem.value);
    });

    it(fact("tls.cert.timeFormat"), async () => {
        const go = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?(Z|[+-]\d\d:\d\d)$/;
        const res = await runProgram(pki({ withLeaf: false }), { mocks: createExecutingMocks({ store: new MockStateStore() }) });
        const { validityStartTime: start, validityEndTime: end } = res.get("ca").outputs;
        expect(start).toMatch(go);
        expect(end).toMatch(go);
        expect(Date.parse(end) - Date.parse(start)).toBe(100 * 3_600_000);
        // Go's MarshalText: nanoseconds with trailing zeros dropped, no fraction when zero.
        const at = new Date("2025-03-04T05:06:07.120Z");
        const zone = at.getTimezoneOffset() === 0 ? "Z" : /[+-]\d\d:\d\d$/.exec(goTimeText(at))![0];
        expect(goTimeText(at, 4_500)).toMatch(new RegExp(`:07\\.1200045${zone.replace("+", "\\+")}$`));
        expect(goTimeText(new Date("2025-03-04T05:06:07Z"))).toMatch(/:07(Z|[+-]\d\d:\d\d)$/);
        expect(Date.parse(goTimeText(at, 4_500))).toBe(at.getTime());
        // Echo mocks write the same format.
        const echo = await runProgram(pki({ withLeaf: false }), { mocks: "echo" });
        expect(echo.get("ca").outputs.validityEndTime).toMatch(go);
    });

    it(fact("tls.secretInputs"), async () => {
        const res = await runProgram(pki(), { mocks: "echo" });
        expect(res.get("leaf").secretInputs).toEqual(["caPrivateKeyPem"]);
        expect(res.get("ca").secretInputs).toEqual(["privateKeyPem"]);
        expect(res.get("leaf-csr").secretInputs).toEqual(["privateKeyPem"]);
    });
});

/** A local command that logs what ran into a file, so order and count are visible. */
function logged(log: string, o: { env?: string; trigger?: string; update?: string; del?: boolean; ignore?: string[]; protect?: boolean; create?: string; logging?: string } = {}) {
    return () => {
        const c = new local.Command("c", {
            create: o.create ?? `echo "create $V" >> ${log}; echo "out $V"; echo "err $V" >&2`,
            update: o.update,
            delete: o.del ? `echo "delete $V prev=$PULUMI_COMMAND_STDOUT" >> ${log}` : undefined,
            environment: { V: o.env ?? "1" },
            triggers: o.trigger ? [o.trigger] : undefined,
            logging: o.logging as any,
        }, { ignoreChanges: o.ignore, protect: o.protect });
        return { stdout: c.stdout, stderr: c.stderr, create: c.create };
    };
}
const readLog = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : []);

describe("command", () => {
    it(fact("command.triggersReplace"), async () => {
        const log = path.join(dir, "triggers.log");
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        await runProgram(logged(log, { trigger: "a", del: true }), { mocks });
        await runProgram(logged(log, { trigger: "b", del: true, env: "2" }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["c"]);
        // Create before delete: the new create runs, then the old delete (with the old outputs).
        expect(readLog(log)).toEqual(["create 1", "create 2", "delete 1 prev=out 1"]);
    });

    it(fact("command.updateRuns"), async () => {
        const log = path.join(dir, "update.log");
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        await runProgram(logged(log), { mocks });
        await runProgram(logged(log, { env: "2" }), { mocks }); // no `update`: create runs again
        expect(names(store.lastRun.updated)).toEqual(["c"]);
        await runProgram(logged(log, { env: "3", update: `echo "update $V" >> ${log}` }), { mocks });
        expect(readLog(log)).toEqual(["create 1", "create 2", "update 3"]);
        expect(store.lastRun.executions.map((e) => e.action)).toEqual(["update"]);
    });

    it(fact("command.outputReplaced"), async () => {
        const log = path.join(dir, "out.log");
        const mocks = createExecutingMocks({ store: new MockStateStore() });
        const a = await runProgram(logged(log), { mocks });
        expect(a.outputs).toMatchObject({ stdout: { value: "out 1" }, stderr: { value: "err 1" } });
        const b = await runProgram(logged(log, { env: "2", update: "echo \"was: $PULUMI_COMMAND_STDOUT\"" }), { mocks });
        expect(b.outputs).toMatchObject({ stdout: { value: "was: out 1" }, stderr: { value: "" } });
        // A no-op update blanks the outputs read from the create.
        const c = await runProgram(logged(log, { env: "3", update: "true" }), { mocks });
        expect(c.outputs).toMatchObject({ stdout: { value: "" }, stderr: { value: "" } });
    });

    it(fact("command.previewUnknowns"), async () => {
        const log = path.join(dir, "preview.log");
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const created = await runProgram(logged(log), { mocks, preview: true });
        expect(created.outputs.stdout.known).toBe(false);
        await runProgram(logged(log), { mocks });
        for (const change of [{ env: "2" }, { trigger: "x" }]) {
            const p = await runProgram(logged(log, change), { mocks, preview: true });
            expect(p.outputs.stdout.known).toBe(false);
            expect(p.outputs.stderr.known).toBe(false);
            expect(p.outputs.create).toMatchObject({ known: true });
        }
        expect(readLog(log)).toEqual(["create 1"]);
        const same = await runProgram(logged(log), { mocks, preview: true });
        expect(same.outputs.stdout).toMatchObject({ known: true, value: "out 1" });
    });

    it(fact("command.failedNotStored"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const fail = () => { new local.Command("c", { create: "exit 4" }); };
        await expect(runProgram(fail, { mocks })).rejects.toBeInstanceOf(ProgramRunError);
        expect(store.urns()).toEqual([]);
        await runProgram(fail, { mocks }).catch(() => undefined);
        expect(store.lastRun.failed).toHaveLength(1);
        expect(store.lastRun.executions.map((e) => e.action)).toEqual(["create"]);
    });

    it(fact("command.noTimeout"), async () => {
        // No kill timer unless a test asks for one.
        const spy = vi.spyOn(globalThis, "setTimeout");
        try {
            await runLocalCommand({ command: "sleep 0.2; echo ok" });
            expect(spy).not.toHaveBeenCalled();
        } finally {
            spy.mockRestore();
        }
        const slow = () => { new local.Command("slow", { create: "sleep 1.2; echo done" }); };
        await runProgram(slow, { mocks: createExecutingMocks({ store: new MockStateStore() }) });
        await expect(runProgram(slow, { mocks: createExecutingMocks({ store: new MockStateStore(), sshTimeoutMs: 300 }) })).rejects.toThrow(/signal: killed/);
    });

    it(fact("command.errorText"), async () => {
        const create = "printf 'out1\\n'; printf 'err1\\n' >&2; sleep 0.1; printf 'out2\\tend'; exit 3";
        const err = await runProgram(() => { new local.Command("c", { create, logging: "none" }); },
            { mocks: createExecutingMocks({ store: new MockStateStore() }) }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.result.failures[0].message).toBe(`exit status 3: running ${goQuote(create)}:\nout1\nerr1\nout2\tend`);
        expect(goQuote("a\"b\\c\td\x01é")).toBe("\"a\\\"b\\\\c\\td\\x01é\"");
    });

    it(fact("command.secretInputs"), async () => {
        const res = await runProgram(() => {
            new remote.Command("r", { connection: { host: "127.0.0.1" }, create: "cat", stdin: "not secret" });
        }, { mocks: "echo" });
        expect(res.get("r").secretInputs).toEqual(["connection"]);
    });
});

describe("engine", () => {
    it(fact("engine.ignoreChanges"), async () => {
        const log = path.join(dir, "ignore.log");
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const first = await runProgram(logged(log), { mocks });
        const again = await runProgram(logged(log, { env: "2", ignore: ["environment"] }), { mocks });
        expect(names(store.lastRun.unchanged)).toEqual(["c"]);
        expect(store.get(first.get("c").urn)!.inputs.environment).toEqual({ V: "1" }); // the old value stays
        expect(again.outputs.stdout.value).toBe("out 1");
        // With another change, the update gets the old value of the ignored input.
        await runProgram(logged(log, { env: "2", ignore: ["environment.V"], update: "echo \"V=$V\"" }), { mocks });
        expect(store.get(first.get("c").urn)!.state.stdout).toBe("V=1");
        const tlsStore = new MockStateStore();
        const tlsMocks = createExecutingMocks({ store: tlsStore });
        await runProgram(pki({ withLeaf: false }), { mocks: tlsMocks });
        await runProgram(pki({ withLeaf: false, hours: 500, ignore: ["validityPeriodHours"] }), { mocks: tlsMocks });
        expect(tlsStore.lastRun.replaced).toEqual([]);
    });

    it(fact("engine.protect"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const first = await runProgram(pki({ withLeaf: false, protect: true }), { mocks });
        const urn = first.get("ca").urn;
        expect(store.get(urn)!.protect).toBe(true);
        for (const preview of [true, false]) {
            const err = await runProgram(pki({ withLeaf: false, protect: true, hours: 200 }), { mocks, preview }).catch((e) => e);
            expect(err).toBeInstanceOf(ProgramRunError);
            expect(err.message).toContain(protectedReplaceMessage(urn));
        }
        expect(store.get(urn)!.inputs.validityPeriodHours).toBe(100);
        // Removing it from the program: the delete is refused.
        const gone = await runProgram(() => { new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }); }, { mocks }).catch((e) => e);
        expect(gone).toBeInstanceOf(ProgramRunError);
        expect(gone.message).toContain(protectedDeleteMessage(urn));
        expect(protectedDeleteMessage(urn)).toContain(`pulumi state unprotect '${urn}'`);
        // Unprotecting and replacing in one run is allowed (the engine checks new && old).
        await runProgram(pki({ withLeaf: false, protect: false, hours: 200 }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["ca"]);
    });

    it(fact("engine.applyNotInPreview"), async () => {
        const program = () => {
            const key = new tls.PrivateKey("k", { algorithm: "ED25519" });
            key.publicKeyOpenssh.apply((pub) => new local.Command("from-apply", { create: `echo ${JSON.stringify(pub.trim())}` }));
        };
        const preview = await runProgram(program, { mocks: "echo", preview: true });
        expect(preview.resources.map((r) => r.name)).toEqual(["k"]);
        const up = await runProgram(program, { mocks: "echo" });
        expect(up.resources.map((r) => r.name).sort()).toEqual(["from-apply", "k"]);
    });
});

describe("echo mocks with a store", () => {
    it("plan successive runs like `pulumi up`: same, in-place update, replace, preview unknowns", async () => {
        const store = new MockStateStore();
        const mocks = createEchoMocks({ store });
        const first = await runProgram(pki(), { mocks });
        expect(store.lastRun.created).toHaveLength(5);
        await runProgram(pki(), { mocks });
        expect(store.lastRun.unchanged).toHaveLength(5);
        await runProgram(pki({ early: 3 }), { mocks });
        expect(names(store.lastRun.updated)).toEqual(["ca"]);
        const preview = await runProgram(pki({ early: 3, dns: ["z"] }), { mocks, preview: true });
        expect(names(store.lastRun.replaced)).toEqual(["leaf", "leaf-csr"]);
        expect(preview.outputs.leafPem.known).toBe(false);
        expect(preview.outputs.caPem).toMatchObject({ known: true, value: first.outputs.caPem.value });
    });
});

describe("CopyToRemote", () => {
    const tree = (content: string) => {
        const d = fs.mkdtempSync(path.join(dir, "copy-"));
        const src = path.join(d, "payload");
        fs.mkdirSync(src);
        fs.writeFileSync(path.join(src, "a.sh"), content);
        return src;
    };
    const copy = (src: string, o: { triggers?: string[]; port?: number } = {}) => () => {
        const c = new remote.CopyToRemote("copy", {
            connection: { host: "10.9.9.9", port: o.port ?? 22, user: "root", privateKey: pulumi.secret("FAKE") },
            source: new pulumi.asset.FileArchive(src), remotePath: "/var/lib/x", triggers: o.triggers,
        });
        return { remotePath: c.remotePath };
    };

    it(fact("copyToRemote.triggersReplace"), async () => {
        const store = new MockStateStore();
        const mocks = createEchoMocks({ store });
        const src = tree("one");
        await runProgram(copy(src, { triggers: ["a"] }), { mocks });
        await runProgram(copy(src, { triggers: ["a"], port: 2222 }), { mocks });
        expect(names(store.lastRun.updated)).toEqual(["copy"]);
        await runProgram(copy(src, { triggers: ["b"], port: 2222 }), { mocks });
        expect(names(store.lastRun.replaced)).toEqual(["copy"]);
    });

    it(fact("copyToRemote.updateCopiesOnChange"), () => {
        const prior = { source: { archive: true, path: "/p", hash: "h1" }, remotePath: "/r" };
        expect(copyToRemoteCopies("update", prior, { ...prior, connection: { port: 2222 } })).toBe(false);
        expect(copyToRemoteCopies("update", prior, { ...prior, source: { archive: true, path: "/elsewhere", hash: "h1" } })).toBe(false);
        expect(copyToRemoteCopies("update", prior, { ...prior, source: { archive: true, path: "/p", hash: "h2" } })).toBe(true);
        expect(copyToRemoteCopies("update", prior, { ...prior, remotePath: "/other" })).toBe(true);
        expect(copyToRemoteCopies("create", undefined, prior)).toBe(true);
        expect(copyToRemoteCopies("replace", prior, prior)).toBe(true);
    });

    it(fact("copyToRemote.noDelete"), async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const src = tree("one");
        // Recorded as created without dialing: the store already holds it (a copy never reaches 10.9.9.9).
        await runProgram(copy(src), { mocks: createEchoMocks({ store }) });
        await runProgram(() => ({}), { mocks });
        expect(names(store.lastRun.deleted)).toEqual(["copy"]);
        expect(store.lastRun.executions).toEqual([]);
    });

    it(fact("copyToRemote.directoryLanding"), () => {
        expect(copyToRemoteTarget("/cache/kit/abc", "/var/lib/kube-pki/kit/.incoming")).toBe("/var/lib/kube-pki/kit/.incoming/abc");
        expect(copyToRemoteTarget("/cache/kit/abc/", "/var/lib/kube-pki/kit/.incoming")).toBe("/var/lib/kube-pki/kit/.incoming");
        // The real SFTP landing (modes, overwrite, extra files left) is checked in ssh.live.test.ts.
    });

    it(fact("copyToRemote.stateIsInputs"), async () => {
        const store = new MockStateStore();
        const src = tree("echo secretless-script-text");
        await runProgram(copy(src), { mocks: createEchoMocks({ store }) });
        const saved = store.get(store.urns()[0])!;
        expect(saved.state.source).toMatchObject({ archive: true, path: src });
        expect(saved.state.source.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.stringify(saved.state)).not.toContain("secretless-script-text");
        expect(saved.state.connection).toHaveProperty("value"); // secret wrapper
        // A content change is a new hash: the next plan updates (and the update copies).
        fs.writeFileSync(path.join(src, "a.sh"), "two");
        await runProgram(copy(src), { mocks: createEchoMocks({ store }) });
        expect(names(store.lastRun.updated)).toEqual(["copy"]);
    });
});

describe("kubernetes and retainOnDelete", () => {
    const crb = (name: string, o: { retain?: boolean; subjects?: string[]; role?: string } = {}) => () => {
        const p = new k8s.Provider("k8s", { kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config\n"), clusterIdentifier: "kube-pki/test" });
        new k8s.rbac.v1.ClusterRoleBindingPatch(name, {
            metadata: { name },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: o.role ?? "cluster-admin" },
            subjects: (o.subjects ?? ["a"]).map((g) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: g })),
        }, { provider: p, retainOnDelete: o.retain });
    };

    it(fact("engine.retainOnDelete"), async () => {
        const store = new MockStateStore();
        await runProgram(crb("kept", { retain: true }), { mocks: createEchoMocks({ store }) });
        await runProgram(() => ({}), { mocks: createEchoMocks({ store }) });
        expect(names(store.lastRun.deleted)).toEqual(["k8s", "kept"]);
        expect(store.lastRun.executions).toEqual([]); // no provider delete ran
    });

    it(fact("kubernetes.patchDeleteRelinquishes"), async () => {
        const store = new MockStateStore();
        await runProgram(crb("given-up"), { mocks: createEchoMocks({ store }) });
        await runProgram(() => ({}), { mocks: createEchoMocks({ store }) });
        // Without retainOnDelete the provider's delete (a relinquish of the Patch's fields) runs.
        expect(store.lastRun.executions.map((e) => [e.urn.split("::").pop(), e.action])).toEqual([["given-up", "delete"]]);
    });

    it(fact("kubernetes.patchServerSideApply"), async () => {
        const store = new MockStateStore();
        const first = await runProgram(crb("b"), { mocks: createEchoMocks({ store }) });
        const rec = first.get("b", TYPES.clusterRoleBindingPatch);
        expect(rec.outputs).toMatchObject(rec.inputs); // outputs are what was applied
        await runProgram(crb("b", { subjects: ["a", "c"] }), { mocks: createEchoMocks({ store }) });
        expect(names(store.lastRun.updated)).toEqual(["b"]);
        await runProgram(crb("b", { subjects: ["a", "c"], role: "view" }), { mocks: createEchoMocks({ store }) });
        expect(names(store.lastRun.replaced)).toEqual(["b"]); // roleRef is immutable
        const cm = (name: string, ns: string) => ({ type: TYPES.configMapPatch, inputs: { metadata: { name, namespace: ns }, data: { k: "1" } }, state: {} });
        expect(planResource(cm("x", "a"), { urn: "u", type: TYPES.configMapPatch, inputs: { metadata: { name: "x", namespace: "a" }, data: { k: "2" } } }, new Date()).op).toBe("update");
        expect(planResource(cm("x", "a"), { urn: "u", type: TYPES.configMapPatch, inputs: { metadata: { name: "x", namespace: "b" }, data: { k: "1" } } }, new Date()).replaceBecause).toEqual(["metadata.namespace"]);
    });

    it(fact("kubernetes.providerClusterIdentifier"), () => {
        const prior = (inputs: Record<string, unknown>) => ({ type: TYPES.k8sProvider, inputs, state: {} });
        const plan = (old: Record<string, unknown>, news: Record<string, unknown>) => planResource(prior(old), { urn: "p", type: TYPES.k8sProvider, inputs: news }, new Date());
        // A reissued kubeconfig is unknown in preview: replaced without an identifier, updated with one.
        expect(plan({ kubeconfig: "a" }, { kubeconfig: UNKNOWN }).op).toBe("replace");
        expect(plan({ kubeconfig: "a", clusterIdentifier: "x" }, { kubeconfig: UNKNOWN, clusterIdentifier: "x" }).op).toBe("update");
        expect(plan({ kubeconfig: "a", clusterIdentifier: "x" }, { kubeconfig: "b", clusterIdentifier: "x" }).op).toBe("update");
        expect(plan({ kubeconfig: "a", clusterIdentifier: "x" }, { kubeconfig: "a", clusterIdentifier: "y" }).op).toBe("replace");
    });

    it(fact("kubernetes.providerKubeconfigSecret"), async () => {
        const plain = await runProgram(() => { new k8s.Provider("plain", { kubeconfig: "text" }); }, { mocks: createEchoMocks() });
        expect(plain.get("plain").secretInputs).not.toContain("kubeconfig");
        const secret = await runProgram(() => { new k8s.Provider("secret", { kubeconfig: pulumi.secret("text") }); }, { mocks: createEchoMocks() });
        expect(secret.get("secret").secretInputs).toContain("kubeconfig");
        expect(secret.get("secret").secretOutputs).toContain("kubeconfig");
    });
});

it("every fact has a test and names its sources", () => {
    expect([...tested].sort()).toEqual(Object.keys(FACTS).sort());
    for (const f of Object.values(FACTS)) {
        expect(f.sources.length).toBeGreaterThan(0);
        for (const s of f.sources) expect(s.repo).toMatch(/^[\w-]+\/[\w.-]+$/);
    }
});

void pulumi;
