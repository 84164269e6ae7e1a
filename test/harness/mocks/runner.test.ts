import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { remote } from "@pulumi/command";
import { runProgram, ProgramRunError } from "./run-program";

describe("runProgram with echo mocks", () => {
    it("records tls resources, secrets and dependencies", async () => {
        const res = await runProgram(() => {
            const key = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
            const ca = new tls.SelfSignedCert("ca", {
                privateKeyPem: key.privateKeyPem, allowedUses: ["cert_signing"], validityPeriodHours: 10,
                isCaCertificate: true, subject: { commonName: "kubernetes" },
            });
            const cmd = new remote.Command("push", {
                connection: { host: "127.0.0.1", privateKey: key.privateKeyPem },
                create: "cat > /dev/null", stdin: pulumi.secret(key.privateKeyPem), triggers: [ca.certPem],
            }, { dependsOn: [ca] });
            return { caPem: ca.certPem, key: key.privateKeyPem, nested: { k: key.privateKeyPem, c: ca.certPem }, cfg: new pulumi.Config("kube-pki").requireObject("nodes") };
        }, { mocks: "echo", config: { "kube-pki:nodes": [{ name: "a" }] } });
        const key = res.get("ca-key");
        expect(key.secretOutputs).toEqual(expect.arrayContaining(["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]));
        expect(key.secretOutputs).not.toContain("publicKeyPem");
        const ca = res.get("ca");
        expect(ca.secretInputs).toEqual(["privateKeyPem"]);
        expect(ca.dependencies).toEqual([key.urn]);
        expect(ca.propertyDependencies.privateKeyPem).toEqual([key.urn]);
        const push = res.get("push");
        expect(push.dependencies.sort()).toEqual([ca.urn, key.urn].sort());
        expect(push.secretInputs).toEqual(["connection", "stdin"]);
        expect(push.replaceOnChanges).toEqual(["triggers[*]"]);
        expect(push.inputs.connection.port).toBe(22);
        expect(res.outputs.key.secret).toBe(true);
        expect(res.outputs.caPem.secret).toBe(false);
        expect(res.outputs.nested).toMatchObject({ secret: true, known: true });
        expect(res.outputs.cfg.value).toEqual([{ name: "a" }]);
        console.log(JSON.stringify(res.resources.map(r => [r.order, r.urn]), null, 0));
    });

    it("preview leaves outputs unknown", async () => {
        const res = await runProgram(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ED25519" });
            return { pem: key.publicKeyPem };
        }, { mocks: "echo", preview: true });
        expect(res.outputs.pem.known).toBe(false);
    });

    it("failing mock fails the run", async () => {
        const err = await runProgram(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ED25519" });
            const x = pulumi.output(pulumi.runtime.invoke("tls:index/getPublicKey:getPublicKey", {}));
            return { pem: key.publicKeyPem, x };
        }, { mocks: "echo" }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        console.log(err.message);
    });
});
