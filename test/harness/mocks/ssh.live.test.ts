import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { runProgram, ProgramRunError } from "./run-program";
import { createExecutingMocks } from "./executing-mocks";
import { MockStateStore } from "./state-store";
import { sshdPrerequisites, startLoopbackSshd, type LoopbackSshd } from "./loopback-sshd";

const missing = sshdPrerequisites();
const requireSim = process.env.KUBE_PKI_REQUIRE_SIM === "1";
if (missing && !requireSim) console.warn(`skipping ssh.live.test.ts: ${missing}`);

describe.skipIf(missing !== undefined && !requireSim)("executing mocks: remote.Command over a loopback sshd", () => {
    let sshd: LoopbackSshd;
    beforeAll(async () => {
        if (missing) throw new Error(`KUBE_PKI_REQUIRE_SIM=1 but ${missing}`);
        sshd = await startLoopbackSshd();
    });
    afterAll(async () => { await sshd?.stop(); });

    const connection = () => ({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: pulumi.secret(sshd.clientKey), hostKey: sshd.hostKey });

    it("delivers stdin byte-exact to the node", async () => {
        // A few hundred KB of PEM-like text (stdin is a string input).
        const payload = crypto.randomBytes(300 * 1024).toString("base64").replace(/.{64}/g, "$&\n");
        const target = path.join(sshd.dir, "payload");
        const t0 = Date.now();
        const res = await runProgram(() => {
            const push = new remote.Command("push", {
                connection: connection(),
                create: `umask 077; /bin/cat > ${target} && /usr/bin/sha256sum ${target} | /usr/bin/cut -d' ' -f1`,
                stdin: pulumi.secret(payload),
            });
            return { hash: push.stdout };
        }, { mocks: createExecutingMocks({ store: new MockStateStore() }) });
        console.log(`remote push of ${payload.length} bytes: ${Date.now() - t0} ms`);
        const expected = crypto.createHash("sha256").update(payload).digest("hex");
        expect(res.outputs.hash.value).toBe(expected);
        expect(crypto.createHash("sha256").update(fs.readFileSync(target)).digest("hex")).toBe(expected);
        expect(fs.statSync(target).mode & 0o777).toBe(0o600);
        expect(res.get("push").secretInputs).toEqual(["connection", "stdin"]);
        expect(res.get("push").secretOutputs).toEqual(expect.arrayContaining(["connection", "stdin"]));
    });

    it("fails the resource with exit code and stderr on a non-zero exit", async () => {
        const store = new MockStateStore();
        const err = await runProgram(() => {
            new remote.Command("broken", { connection: connection(), create: "echo 'no such cert' >&2; exit 3" });
        }, { mocks: createExecutingMocks({ store }) }).catch((e) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect(err.message).toMatch(/status 3/);
        expect(err.message).toMatch(/no such cert/);
        expect(store.urns()).toEqual([]);
    });

    it("does not execute an unchanged command again; a trigger change re-executes it", async () => {
        const store = new MockStateStore();
        const counter = path.join(sshd.dir, "counter");
        const program = (trigger: string) => () => {
            const c = new remote.Command("count", {
                connection: connection(),
                create: `/bin/echo run >> ${counter}; /usr/bin/wc -l < ${counter}`,
                triggers: [trigger],
            });
            return { n: c.stdout };
        };
        const runs = () => fs.readFileSync(counter, "utf8").split("\n").filter(Boolean).length;
        const first = await runProgram(program("v1"), { mocks: createExecutingMocks({ store }) });
        expect(first.outputs.n.value).toBe("1");
        const second = await runProgram(program("v1"), { mocks: createExecutingMocks({ store }) });
        expect(runs()).toBe(1);
        expect(second.outputs.n.value).toBe("1");
        expect(store.lastRun.executions).toEqual([]);
        const third = await runProgram(program("v2"), { mocks: createExecutingMocks({ store }) });
        expect(runs()).toBe(2);
        expect(third.outputs.n.value).toBe("2");
        expect(store.lastRun.replaced).toHaveLength(1);
    });

    it("refuses a host whose key differs from connection.hostKey, and reports refused connections", async () => {
        const otherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMLhMNeXxYQwVMJFmvvSKm/GaUYhJc1kv4CPkV0NiW1A";
        const err = await runProgram(() => {
            new remote.Command("mitm", { connection: { ...connection(), hostKey: otherKey }, create: "true" });
        }, { mocks: createExecutingMocks({ store: new MockStateStore() }) }).catch((e) => e);
        expect(err.message).toMatch(/host key mismatch/);
        const refused = await runProgram(() => {
            new remote.Command("nobody", { connection: { ...connection(), port: 1, dialErrorLimit: 2 }, create: "true" });
        }, { mocks: createExecutingMocks({ store: new MockStateStore() }) }).catch((e) => e);
        expect(refused.message).toMatch(/cannot connect to root@127.0.0.1:1: .*ECONNREFUSED/);
    });
});
