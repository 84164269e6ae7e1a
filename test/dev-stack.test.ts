/**
 * The dev stack end to end: stacks/Pulumi.dev.yaml through the real config parser, the program
 * under executing mocks (real keys and certs, real local commands running the node scripts),
 * into a temp directory standing in for the node. Judged by openssl and kubectl's config parser.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseClusterSpec } from "../src/config";
import { currentKit } from "../src/node/kit";
import { kubePki, type CertificateRow } from "../src/program";
import { createExecutingMocks, MockStateStore, runProgram, type RunResult } from "./harness/mocks";
import { findKubectl, itNeeding, kubectlMissing } from "./harness/sim/tools";

const project = path.join(__dirname, "..");

describe("pulumi up --stack dev (local transport)", () => {
    let cwd: string;
    let root: string;
    let result: RunResult;
    const store = new MockStateStore();
    const pki = (p: string) => path.join(root, "etc/kubernetes/pki", p);

    beforeAll(async () => {
        cwd = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-dev-"));
        const stack = parse(fs.readFileSync(path.join(project, "stacks/Pulumi.dev.yaml"), "utf8")).config;
        const raw = Object.fromEntries(Object.entries(stack).map(([k, v]) => [k.replace(/^kube-pki:/, ""), v]));
        const spec = parseClusterSpec(raw, { readFile: (f) => fs.readFileSync(f, "utf8"), cwd, home: os.homedir() });
        root = spec.nodes[0].localRoot!;
        result = await runProgram(() => kubePki({ spec }), { mocks: createExecutingMocks({ store }), stack: "dev" });
    }, 120_000);

    it("leaves a complete kubeadm tree under .dev-node with the right modes", () => {
        expect(root).toBe(path.join(cwd, ".dev-node"));
        const files = [
            "ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key",
            "apiserver.crt", "apiserver.key", "apiserver-kubelet-client.crt", "front-proxy-client.crt",
            "etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt", "apiserver-etcd-client.crt", "sa.key", "sa.pub",
        ];
        for (const f of files) expect(fs.existsSync(pki(f)), f).toBe(true);
        for (const conf of ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"]) {
            expect((fs.statSync(path.join(root, "etc/kubernetes", conf)).mode & 0o777).toString(8), conf).toBe("600");
        }
        expect((fs.statSync(pki("apiserver.key")).mode & 0o777).toString(8)).toBe("600");
        expect((fs.statSync(pki("apiserver.crt")).mode & 0o777).toString(8)).toBe("644");
        expect((fs.statSync(path.join(root, "var/lib/kube-pki/backups")).mode & 0o777).toString(8)).toBe("700");
        // The node kit, copied locally and activated under the node's root.
        const kit = path.join(root, "var/lib/kube-pki/kit", currentKit().id);
        expect(fs.readFileSync(path.join(kit, "MANIFEST"), "utf8")).toBe(currentKit().manifest);
        expect((fs.statSync(kit).mode & 0o777).toString(8)).toBe("700");
        expect(result.get("dev-rollout-dev-master-install").inputs.create).toContain(`/bin/sh "$k/install.sh"`);
    });

    it("issues certificates openssl accepts for their purpose against their CA", () => {
        const verify = (ca: string, cert: string, purpose: string) =>
            execFileSync("openssl", ["verify", "-CAfile", pki(ca), "-purpose", purpose, pki(cert)], { encoding: "utf8" });
        expect(verify("ca.crt", "apiserver.crt", "sslserver")).toContain(": OK");
        expect(verify("ca.crt", "apiserver-kubelet-client.crt", "sslclient")).toContain(": OK");
        expect(verify("front-proxy-ca.crt", "front-proxy-client.crt", "sslclient")).toContain(": OK");
        expect(verify("etcd/ca.crt", "etcd/peer.crt", "sslserver")).toContain(": OK");
        expect(verify("etcd/ca.crt", "etcd/peer.crt", "sslclient")).toContain(": OK");
        expect(() => verify("ca.crt", "front-proxy-client.crt", "sslclient")).toThrow();
        const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", pki("apiserver.crt")], { encoding: "utf8" });
        expect(text).toContain("DNS:dev-master, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local");
        expect(text).toContain("IP Address:10.96.0.1, IP Address:127.0.0.1");
    });

    itNeeding(kubectlMissing(), "writes kubeconfigs kubectl reads, with the admin kubeconfig as a secret output", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-home-"));
        const view = execFileSync(findKubectl()!,
            ["config", "view", "--raw", "-o", "jsonpath={.users[0].name} {.clusters[0].cluster.server}", "--kubeconfig", path.join(root, "etc/kubernetes/admin.conf")],
            { encoding: "utf8", env: { ...process.env, HOME: home } });
        expect(view).toBe("kubernetes-admin https://127.0.0.1:6443");
        expect(result.outputs.adminKubeconfig.secret).toBe(true);
        expect(result.outputs.adminKubeconfig.value).toBe(fs.readFileSync(path.join(root, "etc/kubernetes/admin.conf"), "utf8"));
    });

    it("a second up changes nothing; drift of the local node is reported and repaired", async () => {
        await runProgram(() => kubePki({ spec: parseDev() }), { mocks: createExecutingMocks({ store }), stack: "dev" });
        expect(store.lastRun.executions).toEqual([]);
        // After up, the next preview keeps every file, each with the expiry state holds.
        const clean = await runProgram(() => kubePki({ spec: parseDev() }), { mocks: createExecutingMocks({ store }), stack: "dev", preview: true });
        expect(clean.outputs.certificates.known).toBe(true);
        const rows = Object.entries(clean.outputs.certificates.value["dev-master"]) as [string, CertificateRow][];
        expect(rows.length).toBe(Object.keys(result.outputs.certificates.value["dev-master"]).length);
        for (const [key, row] of rows) {
            expect(row.action, `${key}: ${row.reason}`).toBe("keep");
            // The certificate keeps whole seconds; state's validityEndTime has the issue time's fraction.
            const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
            expect(seconds(row.expires), key).toBe(seconds(result.outputs.certificates.value["dev-master"][key].expires));
        }
        fs.rmSync(pki("front-proxy-client.crt"));
        // Preview: the reason and the repair show, and nothing runs.
        const preview = await runProgram(() => kubePki({ spec: parseDev() }), { mocks: createExecutingMocks({ store }), stack: "dev", preview: true });
        expect(preview.outputs.certificates.value["dev-master"]["front-proxy-client.crt"]).toEqual({ action: "re-push", reason: "missing", expires: "" });
        expect(preview.outputs.certificates.value["dev-master"]["apiserver.crt"]).toMatchObject({ action: "keep", reason: expect.stringMatching(/^ok \(expires in 36[45] d\)$/) });
        expect(preview.resources.map((r) => r.name).filter((n) => n.includes("repair"))).toEqual(["dev-rollout-dev-master-repair"]);
        expect(store.lastRun.executions).toEqual([]);
        expect(fs.existsSync(pki("front-proxy-client.crt"))).toBe(false);
        const repaired = await runProgram(() => kubePki({ spec: parseDev() }), { mocks: createExecutingMocks({ store }), stack: "dev" });
        expect(repaired.outputs.certificates.value["dev-master"]["front-proxy-client.crt"]).toMatchObject({
            action: "re-push", reason: "missing", expires: result.outputs.certificates.value["dev-master"]["front-proxy-client.crt"].expires,
        });
        expect(repaired.resources.map((r) => r.name)).toContain("dev-rollout-dev-master-repair");
        expect(fs.existsSync(pki("front-proxy-client.crt"))).toBe(true);
        const quiet = await runProgram(() => kubePki({ spec: parseDev() }), { mocks: createExecutingMocks({ store }), stack: "dev" });
        expect(quiet.resources.map((r) => r.name)).not.toContain("dev-rollout-dev-master-repair");
    }, 120_000);

    function parseDev() {
        const stack = parse(fs.readFileSync(path.join(project, "stacks/Pulumi.dev.yaml"), "utf8")).config;
        const raw = Object.fromEntries(Object.entries(stack).map(([k, v]) => [k.replace(/^kube-pki:/, ""), v]));
        return parseClusterSpec(raw, { readFile: (f) => fs.readFileSync(f, "utf8"), cwd, home: os.homedir() });
    }
});
