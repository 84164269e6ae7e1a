/**
 * `kube-pki check` as a black box over local-transport trees seeded with openssl at fixed dates:
 * exact table, JSON and textfile, exit codes, and no private key in any output.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main";
import type { CliIo } from "../../src/cli/io";
import { parseCert } from "../../src/drift/cert-info";
import { fixturePrerequisites } from "../drift/fixture-tree";
import { seedNode } from "../drift/kubeadm-tree";
import { describeNeeding } from "../harness/sim/tools";

const missing = fixturePrerequisites();
const NOW = "2024-06-01T00:00:00Z";
const BIN = path.join(__dirname, "..", "..", "bin", "kube-pki.js");

async function runCli(args: string[]) {
    let stdout = "";
    let stderr = "";
    const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, cwd: process.cwd(), now: () => new Date(NOW) };
    const code = await run(args, io);
    return { code, stdout, stderr };
}

describeNeeding(missing, "kube-pki check (local trees)", () => {
    let dir: string;
    let healthy: string;
    let warning: string;
    let mixed: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-check-"));
        healthy = path.join(dir, "healthy", "master-1");
        warning = path.join(dir, "warning", "master-2");
        mixed = path.join(dir, "mixed", "master-3");
        seedNode(healthy, { name: "master-1", ip: "10.0.0.11", role: "master" });
        seedNode(warning, { name: "master-2", ip: "10.0.0.12", role: "master",
            override: { "front-proxy-client": { issuedAt: "2023-06-20 00:00:00" } } });
        seedNode(mixed, { name: "master-3", ip: "10.0.0.13", role: "master",
            override: { "apiserver-etcd-client": { issuedAt: "2023-01-01 00:00:00" }, "admin.conf": { days: 160 } },
            skip: ["etcd-peer"], foreign: ["apiserver-kubelet-client"], wrongKey: ["etcd-healthcheck-client", "scheduler.conf"] });
    }, 60_000);

    it("exits 0 for a healthy tree, 1 for a warning, 2 for critical findings", async () => {
        expect((await runCli(["check", "--local", healthy, "--now", NOW])).code).toBe(0);
        expect((await runCli(["check", "--local", warning, "--now", NOW])).code).toBe(1);
        expect((await runCli(["check", "--local", mixed, "--now", NOW])).code).toBe(2);
        // --warn-days 10 makes the 18-day certificate fine again.
        expect((await runCli(["check", "--local", warning, "--now", NOW, "--warn-days", "10"])).code).toBe(0);
    });

    it("prints the kubeadm-style table exactly", async () => {
        const { code, stdout } = await runCli(["check", "--local", mixed, "--now", NOW]);
        expect(code).toBe(2);
        expect(stdout).toBe([
            "NODE       CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED   SERVED   STATUS",
            "master-3   admin.conf                 Jun 09, 2024 00:00 UTC   8d              ca                      no                   -        expiring: expires in 8d",
            "master-3   apiserver                  Dec 31, 2024 00:00 UTC   213d            ca                      no                   -        ok",
            "master-3   apiserver-etcd-client      Jan 01, 2024 00:00 UTC   <invalid>       etcd-ca                 no                   -        expired: expired 152d ago",
            "master-3   apiserver-kubelet-client   Dec 31, 2024 00:00 UTC   213d            foreign:someone-else    no                   -        spec-changed: issuer CN someone-else is not a CA on this node",
            "master-3   controller-manager.conf    Dec 31, 2024 00:00 UTC   213d            ca                      no                   -        ok",
            "master-3   etcd-healthcheck-client    Dec 31, 2024 00:00 UTC   213d            etcd-ca                 no                   -        key-mismatch: private key does not match the certificate",
            "master-3   !MISSING! etcd-peer                                                                                              -        missing: not on node",
            "master-3   etcd-server                Dec 31, 2024 00:00 UTC   213d            etcd-ca                 no                   -        ok",
            "master-3   front-proxy-client         Dec 31, 2024 00:00 UTC   213d            front-proxy-ca          no                   -        ok",
            "master-3   kubelet-client-current     Dec 31, 2024 00:00 UTC   213d            ca                      yes                  -        ok",
            "master-3   kubelet.conf               Dec 31, 2024 00:00 UTC   213d            ca                      no                   -        ok",
            "master-3   scheduler.conf             Dec 31, 2024 00:00 UTC   213d            ca                      no                   -        key-mismatch: private key does not match the certificate",
            "master-3   super-admin.conf           Dec 31, 2024 00:00 UTC   213d            ca                      no                   -        ok",
            "",
            "NODE       CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED   STATUS",
            "master-3   ca                      Dec 29, 2033 00:00 UTC   9y              no                   ok",
            "master-3   etcd-ca                 Dec 29, 2033 00:00 UTC   9y              no                   ok",
            "master-3   front-proxy-ca          Dec 29, 2033 00:00 UTC   9y              no                   ok",
            "",
        ].join("\n"));
    });

    it("prints JSON only on stdout, keyed by certificate name, with fingerprints of the files on disk", async () => {
        const { code, stdout, stderr } = await runCli(["check", "--local", healthy, "--local", mixed, "--now", NOW, "-o", "json"]);
        expect(code).toBe(2);
        expect(stderr).toContain("[2/2]"); // progress goes to stderr only
        const doc = JSON.parse(stdout);
        expect(stdout).toBe(JSON.stringify(doc, null, 2) + "\n");
        expect(doc.status).toBe("critical");
        expect(Object.keys(doc.nodes)).toEqual(["master-1", "master-3"]);
        const apiserverPem = fs.readFileSync(path.join(mixed, "etc/kubernetes/pki/apiserver.crt"), "utf8");
        expect(doc.nodes["master-3"].certificates.apiserver).toEqual({
            path: "/etc/kubernetes/pki/apiserver.crt", missing: false, expires: "2024-12-31T00:00:00.000Z",
            residualSeconds: 213 * 86400, certificateAuthority: "ca", externallyManaged: false, served: "-",
            status: "ok", detail: "", severity: "ok", subject: { CN: "kube-apiserver", O: [] }, issuer: { CN: "kubernetes" },
            serialNumber: "104", sha256: parseCert(apiserverPem).sha256,
        });
        expect(doc.nodes["master-3"].certificates["etcd-peer"]).toMatchObject({ missing: true, status: "missing", expires: null });
        expect(Object.keys(doc.nodes["master-1"].certificateAuthorities)).toEqual(["ca", "etcd-ca", "front-proxy-ca"]);
    });

    it("writes the textfile atomically with x509-certificate-exporter names and labels", async () => {
        const prom = path.join(dir, "kube_pki.prom");
        await runCli(["check", "--local", mixed, "--now", NOW, "--prometheus", prom]);
        const text = fs.readFileSync(prom, "utf8");
        expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
        const line = (metric: string, file: string) => text.split("\n").find((l) => l.startsWith(metric + "{") && l.includes(`filepath="${file}"`));
        const labels = 'filename="apiserver-etcd-client.crt",filepath="/etc/kubernetes/pki/apiserver-etcd-client.crt",issuer_CN="etcd-ca",node="master-3",serial_number="110",subject_CN="kube-apiserver-etcd-client"';
        expect(line("x509_cert_not_after", "/etc/kubernetes/pki/apiserver-etcd-client.crt")).toBe(`x509_cert_not_after{${labels}} 1704067200`);
        expect(line("x509_cert_not_before", "/etc/kubernetes/pki/apiserver-etcd-client.crt")).toBe(`x509_cert_not_before{${labels}} 1672531200`);
        expect(line("x509_cert_expired", "/etc/kubernetes/pki/apiserver-etcd-client.crt")).toBe(`x509_cert_expired{${labels}} 1`);
        expect(line("x509_cert_expires_in_seconds", "/etc/kubernetes/pki/apiserver-etcd-client.crt")).toBe(`x509_cert_expires_in_seconds{${labels}} -13132800`);
        expect(line("x509_cert_valid_since_seconds", "/etc/kubernetes/pki/apiserver-etcd-client.crt")).toBe(`x509_cert_valid_since_seconds{${labels}} 44668800`);
        expect(line("x509_cert_not_after", "/etc/kubernetes/admin.conf")).toBe(
            'x509_cert_not_after{embedded_kind="user",filename="admin.conf",filepath="/etc/kubernetes/admin.conf",issuer_CN="kubernetes",node="master-3",serial_number="111",subject_CN="kubernetes-admin",subject_O="kubeadm:cluster-admins"} 1717891200');
        expect(text).toContain("# TYPE x509_cert_not_after gauge\n");
        expect(text).toContain("\nx509_read_errors 1\n"); // the missing etcd-peer
    });

    it("never prints private key material", async () => {
        const outputs = [
            await runCli(["check", "--local", mixed, "--now", NOW]),
            await runCli(["check", "--local", mixed, "--now", NOW, "-o", "json"]),
        ];
        const keyBodies = ["etc/kubernetes/pki/apiserver.key", "etc/kubernetes/pki/etcd/ca.key", "etc/kubernetes/pki/sa.key"]
            .map((rel) => fs.readFileSync(path.join(mixed, rel), "utf8").split("\n").filter((l) => l && !l.startsWith("-----")).join(""));
        for (const { stdout, stderr } of outputs) {
            const all = (stdout + stderr).replace(/\s/g, "");
            expect(all).not.toContain("PRIVATEKEY");
            for (const body of keyBodies) expect(all).not.toContain(body.slice(20, 80));
        }
    });

    it("works as a black box through bin/kube-pki.js, and rejects bad usage with exit 3", async () => {
        const pexec = promisify(execFile);
        const help = await pexec(process.execPath, [BIN, "check", "--help"]);
        expect(help.stdout).toContain("2  critical");
        const ok = await pexec(process.execPath, [BIN, "check", "--local", healthy, "--now", NOW]).then(() => 0, (e) => e.code);
        expect(ok).toBe(0);
        const bad = await pexec(process.execPath, [BIN, "check", "--host", "root@10.0.0.1"]).then(() => 0, (e) => ({ code: e.code, stderr: e.stderr }));
        expect(bad).toMatchObject({ code: 3 });
        expect((bad as { stderr: string }).stderr).toContain("--ssh-key");
        // Three CLI starts, each transpiling the sources on load: a hang guard sized for a loaded
        // 2-core CI box (npm test runs the live project beside this one), not a speed goal.
    }, 120_000);
});
