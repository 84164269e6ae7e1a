import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { local } from "@pulumi/command";
import { runProgram, ProgramRunError } from "./run-program";
import { createExecutingMocks } from "./executing-mocks";
import { MockStateStore } from "./state-store";
import { findLeaks, keyLeakNeedles, runHaystacks, runKeyPems, runPublicTexts } from "../leaks";

const OPENSSL = "/usr/bin/openssl";
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-mocks-")); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
}

function openssl(args: string[]): { ok: boolean; out: string } {
    const r = spawnSync(OPENSSL, args, { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

interface PkiOpts { leafHours?: number; caHours?: number; earlyRenewalHours?: number; extraUse?: string }

/** A small kubeadm-like PKI: RSA CA, server+client leaf (ECDSA), client-only leaf (ED25519 CA-signed). */
function pkiProgram(o: PkiOpts = {}) {
    return () => {
        const caKey = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
        const ca = new tls.SelfSignedCert("ca", {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: "kubernetes" },
            validityPeriodHours: o.caHours ?? 87600,
            isCaCertificate: true,
            allowedUses: ["digital_signature", "key_encipherment", "cert_signing"],
        });
        const leaf = (name: string, algorithm: string, subject: tls.types.input.CertRequestSubject, uses: string[], sans: { dns?: string[]; ip?: string[] }) => {
            const key = new tls.PrivateKey(`${name}-key`, { algorithm, ecdsaCurve: algorithm === "ECDSA" ? "P256" : undefined });
            const csr = new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject, dnsNames: sans.dns, ipAddresses: sans.ip });
            const cert = new tls.LocallySignedCert(`${name}-cert`, {
                certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: caKey.privateKeyPem,
                validityPeriodHours: o.leafHours ?? 8760, earlyRenewalHours: o.earlyRenewalHours,
                allowedUses: ["digital_signature", "key_encipherment", ...uses, ...(o.extraUse ? [o.extraUse] : [])],
                setSubjectKeyId: true,
            });
            return { key, cert };
        };
        const server = leaf("apiserver", "ECDSA", { commonName: "kube-apiserver" }, ["server_auth", "client_auth"],
            { dns: ["kubernetes", "kubernetes.default.svc.cluster.local"], ip: ["10.96.0.1", "192.0.2.10"] });
        const client = leaf("admin", "ED25519", { commonName: "kubernetes-admin", organization: "kubeadm:cluster-admins" }, ["client_auth"], {});
        return {
            caPem: ca.certPem, caKeyPem: caKey.privateKeyPem,
            serverPem: server.cert.certPem, serverKeyPem: server.key.privateKeyPem,
            clientPem: client.cert.certPem, clientKeyPem: client.key.privateKeyPem,
            serverEnd: server.cert.validityEndTime,
        };
    };
}

describe("executing mocks: tls", () => {
    const store = new MockStateStore();
    const mocks = createExecutingMocks({ store });
    let first: Awaited<ReturnType<typeof runProgram>>;

    it("issues a CA and leaves that openssl accepts for the given purposes", async () => {
        const t0 = Date.now();
        first = await runProgram(pkiProgram(), { mocks });
        console.log(`pki run: ${Date.now() - t0} ms, ${first.resources.length} resources`);
        const ca = write("ca.pem", first.outputs.caPem.value);
        const server = write("server.pem", first.outputs.serverPem.value);
        const client = write("client.pem", first.outputs.clientPem.value);
        expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", server])).toMatchObject({ ok: true });
        expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", server])).toMatchObject({ ok: true });
        expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", client])).toMatchObject({ ok: true });
        const clientAsServer = openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", client]);
        expect(clientAsServer.ok).toBe(false);
        expect(clientAsServer.out).toMatch(/unsuitable certificate purpose/);
    });

    it("puts the requested subject, SANs and usages into the certificates", () => {
        const text = (f: string) => openssl(["x509", "-noout", "-text", "-in", path.join(dir, f)]).out;
        const ca = text("ca.pem");
        expect(ca).toMatch(/Subject: CN ?= ?kubernetes\n/);
        expect(ca).toMatch(/Basic Constraints: critical\n\s+CA:TRUE/);
        expect(ca).toMatch(/Key Usage: critical\n\s+Digital Signature, Key Encipherment, Certificate Sign/);
        const server = text("server.pem");
        expect(server).toMatch(/Issuer: CN ?= ?kubernetes\n/);
        expect(server).toMatch(/Subject: CN ?= ?kube-apiserver\n/);
        expect(server).toMatch(/DNS:kubernetes, DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:192.0.2.10/);
        expect(server).toMatch(/Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication/);
        expect(server).toMatch(/Basic Constraints: critical\n\s+CA:FALSE/);
        const caSki = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(ca)![1];
        expect(server).toContain(caSki); // as authority key id
        const client = text("client.pem");
        expect(client).toMatch(/Subject: O ?= ?kubeadm:cluster-admins, CN ?= ?kubernetes-admin\n/);
        expect(client).toMatch(/Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
        expect(client).toMatch(/Public Key Algorithm: ED25519/);
    });

    it("pairs every certificate with its private key and uses the provider's PEM types", () => {
        const pub = (args: string[], input?: string) => execFileSync(OPENSSL, args, { input, encoding: "utf8" });
        for (const [cert, key, header] of [["caPem", "caKeyPem", "RSA PRIVATE KEY"], ["serverPem", "serverKeyPem", "EC PRIVATE KEY"], ["clientPem", "clientKeyPem", "PRIVATE KEY"]]) {
            const keyPem: string = first.outputs[key].value;
            expect(keyPem.startsWith(`-----BEGIN ${header}-----\n`)).toBe(true);
            // Key goes through stdin, never argv.
            expect(pub(["pkey", "-pubout"], keyPem)).toBe(pub(["x509", "-noout", "-pubkey"], first.outputs[cert].value));
        }
    });

    it("keeps private keys secret and out of every non-secret value", () => {
        expect(first.outputs.caKeyPem.secret).toBe(true);
        expect(first.outputs.serverPem.secret).toBe(false);
        for (const r of first.ofType("tls:index/privateKey:PrivateKey")) {
            expect(r.secretOutputs).toEqual(expect.arrayContaining(["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]));
        }
        for (const r of first.resources) {
            for (const [k, v] of Object.entries(r.outputs)) {
                if (!r.secretOutputs.includes(k)) expect(JSON.stringify(v), `${r.name}.${k}`).not.toMatch(/PRIVATE KEY/);
            }
            for (const [k, v] of Object.entries(r.inputs)) {
                if (!r.secretInputs.includes(k)) expect(JSON.stringify(v), `${r.name}.${k}`).not.toMatch(/PRIVATE KEY/);
            }
        }
        expect(first.get("apiserver-cert").secretInputs).toEqual(["caPrivateKeyPem"]);
        const needles = keyLeakNeedles(runKeyPems(first), { publicTexts: runPublicTexts(first) });
        expect(needles.length).toBeGreaterThan(20);
        expect(findLeaks(needles, runHaystacks(first))).toEqual([]);
    });

    it("returns identical PEMs and executes nothing when run again unchanged", async () => {
        const again = await runProgram(pkiProgram(), { mocks });
        for (const k of Object.keys(first.outputs)) expect(again.outputs[k].value).toBe(first.outputs[k].value);
        expect(store.lastRun.executions).toEqual([]);
        expect(store.lastRun.unchanged).toHaveLength(first.resources.length);
    });

    it("regenerates a certificate whose validity changed, and only that", async () => {
        const changed = await runProgram(pkiProgram({ leafHours: 4000 }), { mocks });
        expect(changed.outputs.serverPem.value).not.toBe(first.outputs.serverPem.value);
        expect(changed.outputs.serverKeyPem.value).toBe(first.outputs.serverKeyPem.value);
        expect(changed.outputs.caPem.value).toBe(first.outputs.caPem.value);
        expect(store.lastRun.replaced.map((u) => u.split("::").pop()).sort()).toEqual(["admin-cert", "apiserver-cert"]);
        const hours = (Date.parse(changed.outputs.serverEnd.value) - Date.now()) / 3_600_000;
        expect(hours).toBeGreaterThan(3999);
        expect(hours).toBeLessThanOrEqual(4000);
    });

    it("preview reports the change, leaves new outputs unknown and executes nothing", async () => {
        const before = store.get(first.get("apiserver-cert").urn)!.state.certPem;
        const preview = await runProgram(pkiProgram({ leafHours: 3000 }), { mocks, preview: true });
        expect(preview.outputs.serverPem.known).toBe(false);
        expect(preview.outputs.caPem).toMatchObject({ known: true, value: first.outputs.caPem.value });
        expect(store.lastRun.preview).toBe(true);
        expect(store.lastRun.replaced).toHaveLength(2);
        expect(store.lastRun.executions).toEqual([]);
        expect(store.get(first.get("apiserver-cert").urn)!.state.certPem).toBe(before);
    });

    it("reissues a certificate once it is due for renewal", async () => {
        const renewStore = new MockStateStore();
        let clock = new Date();
        const m = createExecutingMocks({ store: renewStore, now: () => clock });
        const a = await runProgram(pkiProgram({ leafHours: 48, earlyRenewalHours: 24 }), { mocks: m });
        clock = new Date(clock.getTime() + 23 * 3_600_000);
        await runProgram(pkiProgram({ leafHours: 48, earlyRenewalHours: 24 }), { mocks: m });
        expect(renewStore.lastRun.replaced).toEqual([]);
        clock = new Date(clock.getTime() + 2 * 3_600_000);
        const c = await runProgram(pkiProgram({ leafHours: 48, earlyRenewalHours: 24 }), { mocks: m });
        expect(renewStore.lastRun.replaced.map((u) => u.split("::").pop()).sort()).toEqual(["admin-cert", "apiserver-cert"]);
        expect(c.outputs.serverPem.value).not.toBe(a.outputs.serverPem.value);
        // notBefore follows the mock clock, like the provider's time.Now().
        expect(Date.parse(c.outputs.serverEnd.value)).toBeGreaterThan(clock.getTime() + 47 * 3_600_000);
    });

    it("rejects an allowedUses value the provider does not know, naming it", async () => {
        const err = await runProgram(pkiProgram({ extraUse: "serverAuth" }), { mocks: createExecutingMocks({ store: new MockStateStore() }) }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toMatch(/"serverAuth"/);
        expect(err.result.failures.map((f: { urn: string }) => f.urn.split("::").pop()).sort()).toEqual(["admin-cert", "apiserver-cert"]);
    });
});

describe("executing mocks: local commands", () => {
    it("runs create with stdin, orders dependsOn after completion, runs independents in parallel", async () => {
        const store = new MockStateStore(path.join(dir, "state", "cmd.json"));
        const mocks = createExecutingMocks({ store });
        const out = path.join(dir, "cmd-out");
        const program = (marker: string) => () => {
            const a = new local.Command("a", { create: `sleep 0.4; cat > ${out}-a; echo done-a`, stdin: pulumi.secret("secret-1") });
            const b = new local.Command("b", { create: "sleep 0.4; echo b" });
            const c = new local.Command("c", { create: `cat ${out}-a`, triggers: [marker] }, { dependsOn: [a] });
            return { a: a.stdout, c: c.stdout };
        };
        const first = await runProgram(program("1"), { mocks });
        expect(first.outputs.a.value).toBe("done-a");
        expect(first.outputs.c.value).toBe("secret-1");
        expect(first.get("a").secretOutputs).toContain("stdin");
        const ev = (name: string) => store.lastRun.executions.find((e) => e.urn.endsWith(`::${name}`))!;
        expect(ev("c").startedAt).toBeGreaterThanOrEqual(ev("a").finishedAt);
        expect(ev("b").startedAt).toBeLessThan(ev("a").finishedAt); // no false serialisation
        expect(first.get("c").dependencies).toEqual([first.get("a").urn]);
        expect(fs.statSync(store.file!).mode & 0o777).toBe(0o600);

        // A fresh store object from the same file = a later `pulumi up`: nothing runs.
        const reloaded = new MockStateStore(store.file);
        await runProgram(program("1"), { mocks: createExecutingMocks({ store: reloaded }) });
        expect(reloaded.lastRun.executions).toEqual([]);
        // Trigger change replaces c only.
        await runProgram(program("2"), { mocks: createExecutingMocks({ store: reloaded }) });
        expect(reloaded.lastRun.replaced.map((u) => u.split("::").pop())).toEqual(["c"]);
        expect(reloaded.lastRun.executions.map((e) => e.urn.split("::").pop())).toEqual(["c"]);
    });

    it("update runs `update` with the previous stdout; a failing command is not stored and is retried", async () => {
        const store = new MockStateStore();
        const mocks = createExecutingMocks({ store });
        const cmd = (create: string, update?: string) => () => {
            const x = new local.Command("x", { create, update });
            return { out: x.stdout };
        };
        expect((await runProgram(cmd("echo one"), { mocks })).outputs.out.value).toBe("one");
        const upd = await runProgram(cmd("echo two", 'echo "was:$PULUMI_COMMAND_STDOUT"'), { mocks });
        expect(upd.outputs.out.value).toBe("was:one");
        expect(store.lastRun.updated).toHaveLength(1);
        const err = await runProgram(cmd("echo oops >&2; exit 7"), { mocks }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toMatch(/status 7/);
        expect(err.message).toMatch(/oops/);
        // The failed update kept the previous state; the next run tries again.
        expect(store.get(upd.get("x").urn)!.state.stdout).toBe("was:one");
        await runProgram(cmd("echo oops >&2; exit 7"), { mocks }).catch(() => undefined);
        expect(store.lastRun.failed).toHaveLength(1);
    });
});
