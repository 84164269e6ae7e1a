/**
 * `kube-pki check --stack dev` over the shipped stack file: its local node `.dev-node` (relative to
 * the project directory) seeded with openssl, judged against the spec (wantedFromSpec), so a
 * changed spec (an extra apiserver SAN) shows as spec-changed without touching the node.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { CliIo } from "../../src/cli/io";
import { run } from "../../src/cli/main";
import { fixturePrerequisites } from "../drift/fixture-tree";
import { seedNode } from "../drift/kubeadm-tree";
import { describeNeeding } from "../harness/sim/tools";

const missing = fixturePrerequisites();
const NOW = "2024-06-01T00:00:00Z";
const SHIPPED = path.join(__dirname, "..", "..", "stacks");

async function check(cwd: string, args: string[]) {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd, now: () => new Date(NOW) };
    const code = await run(["check", ...args, "--now", NOW], io);
    return { code, stdout, stderr };
}

describeNeeding(missing, "kube-pki check --stack dev", () => {
    let project: string;
    beforeAll(() => {
        // A project directory of our own: the shipped stack files plus the dev node they name.
        project = fs.mkdtempSync(path.join(os.tmpdir(), "kp-stack-"));
        fs.cpSync(SHIPPED, path.join(project, "stacks"), { recursive: true });
        seedNode(path.join(project, ".dev-node"), { name: "dev-master", ip: "127.0.0.1", role: "master" });
    }, 60_000);

    it("reads the local node under .dev-node and finds it matching the spec", async () => {
        const res = await check(project, ["--stack", "dev", "-o", "json"]);
        expect(res.stderr).toBe("");
        const doc = JSON.parse(res.stdout);
        expect(Object.keys(doc.nodes)).toEqual(["dev-master"]);
        const certs = doc.nodes["dev-master"].certificates;
        // Every wanted certificate is on the node with the wanted subject, SANs and issuer.
        expect(Object.values(certs).filter((c: any) => c.status === "spec-changed" || c.status === "missing")).toEqual([]);
        expect(certs.apiserver).toMatchObject({ path: path.join("/etc/kubernetes/pki/apiserver.crt"), status: "ok", certificateAuthority: "ca" });
        expect(new Set(Object.values(certs).map((c: any) => c.status))).toEqual(new Set(["ok"]));
        expect(res.code).toBe(0);
    });

    it("judges a changed spec: an extra apiserver SAN in the stack is spec-changed on the node", async () => {
        const file = path.join(project, "stacks", "Pulumi.dev.yaml");
        const stack = parse(fs.readFileSync(file, "utf8"));
        stack.config["kube-pki:cluster"].apiServerCertSans = ["api.dev.example.com"];
        const changed = fs.mkdtempSync(path.join(project, "changed-"));
        fs.writeFileSync(path.join(changed, "Pulumi.dev.yaml"), stringify(stack));
        const res = await check(project, ["--stack", "dev", "--stacks-dir", changed, "-o", "json"]);
        expect(res.code).toBe(2);
        const apiserver = JSON.parse(res.stdout).nodes["dev-master"].certificates.apiserver;
        expect(apiserver).toMatchObject({ status: "spec-changed", detail: "SANs +DNS:api.dev.example.com", severity: "critical" });
    });
});
