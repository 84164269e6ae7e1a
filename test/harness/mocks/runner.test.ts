import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { remote } from "@pulumi/command";
import { runProgram, ProgramRunError } from "./run-program";
import { FAKE_KEY_MARK } from "./echo-mocks";

class Pair extends pulumi.ComponentResource {
    readonly key: tls.PrivateKey;
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:test:Pair", name, {}, opts);
        this.key = new tls.PrivateKey(`${name}-key`, { algorithm: "ED25519" }, { parent: this });
        this.registerOutputs({});
    }
}

describe("runProgram with echo mocks", () => {
    it("records inputs, secrecy, dependencies and resource options", async () => {
        const res = await runProgram(() => {
            const cfg = new pulumi.Config("kube-pki");
            const key = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
            const ca = new tls.SelfSignedCert("ca", {
                privateKeyPem: key.privateKeyPem, allowedUses: ["cert_signing"], validityPeriodHours: 10,
                isCaCertificate: true, subject: { commonName: "kubernetes" },
            }, { ignoreChanges: ["subject"], deleteBeforeReplace: true });
            const pair = new Pair("p");
            const push = new remote.Command("push", {
                connection: { host: "127.0.0.1", privateKey: key.privateKeyPem },
                create: "cat > /dev/null", stdin: pulumi.secret(key.privateKeyPem), triggers: [ca.certPem],
            }, { dependsOn: [pair] });
            return {
                caPem: ca.certPem, key: key.privateKeyPem,
                nested: { k: key.privateKeyPem, c: ca.certPem },
                nodes: cfg.requireObject("nodes"), token: cfg.requireSecret("token"),
            };
        }, { mocks: "echo", config: { "kube-pki:nodes": [{ name: "a" }], "kube-pki:token": "t0k" }, secretConfigKeys: ["kube-pki:token"] });

        const key = res.get("ca-key");
        expect(key.custom).toBe(true);
        expect(key.secretOutputs).toEqual(["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]);
        expect(key.outputs.privateKeyPem).toContain(`${FAKE_KEY_MARK}ca-key`);
        const ca = res.get("ca");
        expect(ca.inputs).toMatchObject({ validityPeriodHours: 10, isCaCertificate: true, subject: { commonName: "kubernetes" } });
        expect(ca.secretInputs).toEqual(["privateKeyPem"]);
        expect(ca.dependencies).toEqual([key.urn]);
        expect(ca.propertyDependencies.privateKeyPem).toEqual([key.urn]);
        expect(ca.ignoreChanges).toEqual(["subject"]);
        expect(ca.deleteBeforeReplace).toBe(true);
        expect(ca.additionalSecretOutputs).toEqual(["privateKeyPem", "privateKeyPemWo"]);
        const pair = res.get("p");
        expect(pair.custom).toBe(false);
        expect(res.get("p-key").parent).toBe(pair.urn);
        const push = res.get("push");
        // The SDK expands dependsOn on a component into its custom children; plus the inputs' resources.
        expect(push.dependencies.sort()).toEqual([ca.urn, key.urn, res.get("p-key").urn].sort());
        expect(push.secretInputs).toEqual(["connection", "stdin"]);
        expect(push.replaceOnChanges).toEqual(["triggers[*]"]);
        expect(push.inputs.connection).toMatchObject({ host: "127.0.0.1", port: 22, user: "root" });
        expect(res.order.indexOf(push.urn)).toBeGreaterThan(res.order.indexOf(res.get("p-key").urn));
        expect(res.outputs.key).toMatchObject({ secret: true, known: true });
        expect(res.outputs.caPem.secret).toBe(false);
        expect(res.outputs.nested).toMatchObject({ secret: true, known: true });
        expect(res.outputs.nested.value.c).toContain("FAKE-CERTIFICATE:ca");
        expect(res.outputs.nodes.value).toEqual([{ name: "a" }]);
        expect(res.outputs.token).toMatchObject({ value: "t0k", secret: true });
    });

    it("stdin is secret only when the program wraps it (@pulumi/command marks just `connection`)", async () => {
        const res = await runProgram(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ED25519" });
            new remote.Command("plain", { connection: { host: "127.0.0.1" }, create: "cat", stdin: key.publicKeyPem });
            new remote.Command("leaky", { connection: { host: "127.0.0.1" }, create: "cat", stdin: key.privateKeyPem });
        }, { mocks: "echo" });
        expect(res.get("plain").secretInputs).toEqual(["connection"]);
        // A secret Output stays secret when passed as stdin: secrecy follows the value.
        expect(res.get("leaky").secretInputs).toEqual(["connection", "stdin"]);
        expect(res.get("leaky").secretOutputs).toEqual(["connection", "stdin"]);
    });

    it("resets state between runs and leaves outputs unknown in previews", async () => {
        const res = await runProgram(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ED25519" });
            return { pem: key.publicKeyPem, alg: key.algorithm };
        }, { mocks: "echo", preview: true, stack: "other" });
        expect(res.resources).toHaveLength(1);
        expect(res.get("k").urn).toBe("urn:pulumi:other::kube-pki::tls:index/privateKey:PrivateKey::k");
        expect(res.outputs.pem.known).toBe(false);
        expect(res.outputs.alg).toMatchObject({ value: "ED25519", known: true });
    });

    it("fails unknown invokes with 'Mock not implemented: <token>'", async () => {
        const err = await runProgram(() => {
            const x = pulumi.output(pulumi.runtime.invoke("tls:index/getPublicKey:getPublicKey", {}));
            return { x };
        }, { mocks: "echo" }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toContain("Mock not implemented: tls:index/getPublicKey:getPublicKey");
    });

    it("reports a failing resource and records the others", async () => {
        const mocks = {
            newResource: (a: any) => {
                if (a.name === "bad") throw new Error("boom");
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call: () => ({}),
        };
        const err = await runProgram(() => {
            new tls.PrivateKey("bad", { algorithm: "ED25519" });
            new tls.PrivateKey("good", { algorithm: "ED25519" });
        }, { mocks }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toMatch(/PrivateKey::bad: boom/);
        expect(err.result.get("good").error).toBeUndefined();
        expect(err.result.get("bad").error).toBe("boom");
    });

    it("fails the run when an apply feeding a resource throws (e.g. a leaf outliving its CA)", async () => {
        const err = await runProgram(() => {
            const k = new tls.PrivateKey("k", { algorithm: "ED25519" });
            const checked = k.publicKeyPem.apply((p) => { if (p) throw new pulumi.ResourceError("leaf outlives CA", k); return p; });
            new tls.CertRequest("csr", { privateKeyPem: checked });
        }, { mocks: "echo" }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toMatch(/leaf outlives CA/);
        expect(err.result.resources.map((r: { name: string }) => r.name)).toEqual(["k"]);
    });

    it("handles 600 resources quickly", async () => {
        const t0 = Date.now();
        const res = await runProgram(() => {
            const ca = new tls.PrivateKey("ca", { algorithm: "RSA" });
            for (let i = 0; i < 200; i++) {
                const k = new tls.PrivateKey(`k${i}`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
                const csr = new tls.CertRequest(`csr${i}`, { privateKeyPem: k.privateKeyPem, subject: { commonName: `n${i}` } });
                new tls.LocallySignedCert(`c${i}`, {
                    certRequestPem: csr.certRequestPem, caCertPem: "x", caPrivateKeyPem: ca.privateKeyPem,
                    validityPeriodHours: 1, allowedUses: ["client_auth"],
                });
            }
        }, { mocks: "echo" });
        const ms = Date.now() - t0;
        console.log(`601 echo resources: ${ms} ms`);
        expect(res.resources).toHaveLength(601);
        expect(ms).toBeLessThan(20_000);
    });
});
