/**
 * Drift detection against the simulated cluster, black box through `node bin/kube-pki.js check`
 * over real sshd: a seeded 2-master + 1-worker cluster with a mix made here (expiring seed,
 * one expired cert, a missing file, a foreign-CA cert, a rotated kubelet cert), a stuck
 * apiserver (keep-old-cert) and host key pinning.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readInventory } from "../../src/drift/inventory";
import { KUBEADM_LAYOUT } from "../../src/pki/layout";
import type { NodeSpec } from "../../src/spec";
import { certSha256, describeLive, issueCert, SimCluster, waitFor, type SimNode } from "../harness/sim";

const BIN = path.join(__dirname, "..", "..", "bin", "kube-pki.js");
const PKI = "/etc/kubernetes/pki";

interface CliResult { code: number; stdout: string; stderr: string }

function cli(args: string[]): Promise<CliResult> {
    return new Promise((resolve) => {
        execFile(process.execPath, [BIN, "check", ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
        });
    });
}

/** name → status of every certificate row of one node in the JSON output. */
function statuses(doc: any, node: string): Record<string, string> {
    return Object.fromEntries(Object.entries(doc.nodes[node].certificates).map(([name, c]: [string, any]) => [name, c.status]));
}

describeLive("kube-pki check against the simulated cluster", () => {
    let cluster: SimCluster;
    let m1: SimNode;
    let m2: SimNode;
    let w1: SimNode;
    let dir: string;
    let rotatedPem: string;

    beforeAll(async () => {
        cluster = await SimCluster.start({ masters: 2, workers: 1, keyType: "ecdsa-p256", leafExpiresInDays: 10 });
        [m1, m2] = cluster.masters;
        w1 = cluster.workers[0];
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-drift-live-"));
        const auth = cluster.authorities;
        const ec = "ecdsa-p256" as const;
        // master-1: apiserver-etcd-client expired 35 days ago (issued 400 days ago for 365).
        await issueCert({ cn: "kube-apiserver-etcd-client", eku: ["clientAuth"], issuer: auth.etcdCa, issuedDaysAgo: 400, validDays: 365, keyType: ec,
            out: { cert: m1.hostPath(`${PKI}/apiserver-etcd-client.crt`), key: m1.hostPath(`${PKI}/apiserver-etcd-client.key`) } });
        // master-2: front-proxy-client.crt gone; apiserver-kubelet-client signed by a CA the node does not have.
        fs.rmSync(m2.hostPath(`${PKI}/front-proxy-client.crt`));
        const foreign = { cert: path.join(dir, "foreign-ca.crt"), key: path.join(dir, "foreign-ca.key") };
        await issueCert({ cn: "someone-else", isCa: true, issuedDaysAgo: 1, validDays: 3650, keyType: ec, out: foreign });
        await issueCert({ cn: "kube-apiserver-kubelet-client", o: ["kubeadm:cluster-admins"], eku: ["clientAuth"], issuer: foreign,
            issuedDaysAgo: 1, validDays: 365, keyType: ec,
            out: { cert: m2.hostPath(`${PKI}/apiserver-kubelet-client.crt`), key: m2.hostPath(`${PKI}/apiserver-kubelet-client.key`) } });
        // worker-1: the kubelet rotated its client cert: a new dated .pem and the symlink switched.
        rotatedPem = "/var/lib/kubelet/pki/kubelet-client-2030-01-01-00-00-00.pem";
        const tmp = { cert: path.join(dir, "kubelet.crt"), key: path.join(dir, "kubelet.key") };
        await issueCert({ cn: "system:node:worker-1", o: ["system:nodes"], eku: ["clientAuth"], issuer: auth.ca, issuedDaysAgo: 0, validDays: 365, keyType: ec, out: tmp });
        const swap = await w1.exec(`umask 077 && cat > ${rotatedPem} && ln -sfn ${rotatedPem} /var/lib/kubelet/pki/kubelet-client-current.pem`,
            { input: fs.readFileSync(tmp.cert, "utf8") + fs.readFileSync(tmp.key, "utf8") });
        expect(swap.code, swap.stderr).toBe(0);
    }, 60_000);

    afterAll(async () => {
        await cluster?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reports exactly the seeded mix in JSON, table and textfile, exit 2", async () => {
        const prom = path.join(dir, "kube_pki.prom");
        const args = ["--host", `root@${m1.ip}`, "--host", `root@${m2.ip}`, "--worker", `root@${w1.ip}`,
            "--ssh-key", cluster.clientPrivateKeyPath, "--insecure-ignore-host-keys", "--warn-days", "30"];
        const started = Date.now();
        const json = await cli([...args, "--output", "json", "--prometheus", prom]);
        const elapsed = Date.now() - started;
        expect(json.code, json.stderr).toBe(2);
        const doc = JSON.parse(json.stdout);
        expect(doc).toMatchObject({ status: "critical", exitCode: 2, warnDays: 30 });

        const expiring = (names: string[]) => Object.fromEntries(names.map((n) => [n, "expiring"]));
        const masterLeaves = ["admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager-server",
            "controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client",
            "kubelet-client-current", "kubelet.conf", "scheduler-server", "scheduler.conf", "super-admin.conf"];
        expect(statuses(doc, m1.ip)).toEqual({ ...expiring(masterLeaves), "apiserver-etcd-client": "expired" });
        expect(statuses(doc, m2.ip)).toEqual({ ...expiring(masterLeaves), "front-proxy-client": "missing", "apiserver-kubelet-client": "spec-changed" });
        // kubelet.conf names the symlink (client-certificate:), so it follows the rotation too.
        expect(statuses(doc, w1.ip)).toEqual({ "kubelet.conf": "ok", "kubelet-client-current": "ok" });
        for (const node of [m1.ip, m2.ip]) {
            expect(Object.keys(doc.nodes[node].certificateAuthorities).sort()).toEqual(["ca", "etcd-ca", "front-proxy-ca"]);
            expect(Object.values(doc.nodes[node].certificateAuthorities).map((c: any) => c.status)).toEqual(["ok", "ok", "ok"]);
        }
        const m1Certs = doc.nodes[m1.ip].certificates;
        expect(m1Certs["apiserver-etcd-client"].residualSeconds).toBeLessThan(-34 * 86_400);
        // The sha256 in the report is the file on the node, and the apiserver/etcd serve it.
        expect(m1Certs.apiserver.sha256).toBe(certSha256(fs.readFileSync(m1.hostPath(`${PKI}/apiserver.crt`), "utf8")));
        expect(m1Certs.apiserver.served).toBe("ok");
        expect(m1Certs["etcd-server"].served).toBe("ok");
        expect(doc.nodes[m2.ip].certificates["apiserver-kubelet-client"]).toMatchObject({ certificateAuthority: "foreign:someone-else" });
        expect(doc.nodes[m2.ip].certificates["front-proxy-client"]).toMatchObject({ missing: true, sha256: null });
        const rotated = doc.nodes[w1.ip].certificates["kubelet-client-current"];
        expect(rotated.path).toBe(rotatedPem);
        expect(rotated.sha256).toBe(certSha256(fs.readFileSync(w1.realHostPath("/var/lib/kubelet/pki/kubelet-client-current.pem"), "utf8")));
        expect(doc.nodes[w1.ip].certificates["kubelet.conf"].sha256).toBe(rotated.sha256);
        expect(doc.nodes[w1.ip].certificateAuthorities.ca.externallyManaged).toBe(true);
        expect(elapsed).toBeLessThan(20_000);

        // Textfile: x509-certificate-exporter series per file, one read error (the missing file).
        const text = fs.readFileSync(prom, "utf8");
        const sample = (metric: string, node: string, file: string) =>
            new RegExp(`^${metric}\\{[^}]*filepath="${file.replace(/[.]/g, "\\.")}"[^}]*node="${node.replace(/[.]/g, "\\.")}"[^}]*\\} (-?\\d+)$`, "m").exec(text)?.[1];
        expect(sample("x509_cert_expired", m1.ip, `${PKI}/apiserver-etcd-client.crt`)).toBe("1");
        expect(sample("x509_cert_expired", m1.ip, `${PKI}/apiserver.crt`)).toBe("0");
        expect(sample("x509_cert_expired", m2.ip, `${PKI}/front-proxy-client.crt`)).toBeUndefined();
        expect(sample("x509_cert_expired", w1.ip, rotatedPem)).toBe("0");
        expect(Number(sample("x509_cert_expires_in_seconds", w1.ip, rotatedPem))).toBeGreaterThan(364 * 86_400);
        expect(sample("kube_pki_served_cert_mismatch", m1.ip, `${PKI}/apiserver.crt`)).toBe("0");
        expect(text).toMatch(/^x509_read_errors 1$/m);
        expect(text).not.toContain("PRIVATE KEY");

        // The table says the same, with the same exit code.
        const table = await cli(args);
        expect(table.code).toBe(2);
        const row = (node: string, name: string) => table.stdout.split("\n").find((l) => l.startsWith(`${node} `) && l.includes(` ${name} `));
        expect(row(m1.ip, "apiserver-etcd-client")).toMatch(/<invalid>\s+etcd-ca\s+no\s+-\s+expired: expired 3\dd ago$/);
        expect(row(m2.ip, "!MISSING! front-proxy-client")).toMatch(/missing: not on node$/);
        expect(row(m2.ip, "apiserver-kubelet-client")).toMatch(/foreign:someone-else .* spec-changed: issuer CN someone-else is not a CA on this node$/);
        expect(row(w1.ip, "kubelet-client-current")).toMatch(/ ok$/);
        expect(row(m1.ip, "apiserver")).toMatch(/\s+ok\s+expiring: expires in 9d$/);
        expect(table.stdout + table.stderr).not.toContain("PRIVATE KEY");
    }, 60_000);

    it("shows SERVED MISMATCH for an apiserver that kept its old certificate after a restart", async () => {
        const out = { cert: path.join(dir, "apiserver.crt"), key: path.join(dir, "apiserver.key") };
        await issueCert({ cn: "kube-apiserver", eku: ["serverAuth"], ips: ["10.96.0.1", m1.ip], dns: ["master-1", "kubernetes"],
            issuer: cluster.authorities.ca, issuedDaysAgo: 0, validDays: 365, keyType: "ecdsa-p256", out });
        m1.setFault("kube-apiserver", { kind: "keep-old-cert" });
        const replace = await m1.exec(`cat > ${PKI}/apiserver.crt.new && mv ${PKI}/apiserver.crt.new ${PKI}/apiserver.crt`, { input: fs.readFileSync(out.cert) });
        expect(replace.code, replace.stderr).toBe(0);
        fs.copyFileSync(out.key, m1.hostPath(`${PKI}/apiserver.key`));
        const id = (await m1.ssh("/usr/local/sbin/crictl ps --name kube-apiserver -q")).stdout.trim();
        expect(id).not.toBe("");
        expect((await m1.ssh(`/usr/local/sbin/crictl stop ${id}`)).code).toBe(0);
        await waitFor("apiserver restarted", () => m1.events().some((e) => e.component === "kube-apiserver" && e.event === "start" && e.keptOldCert), 20_000, 200);

        const res = await cli(["--host", `root@${m1.ip}`, "--ssh-key", cluster.clientPrivateKeyPath, "--insecure-ignore-host-keys", "--warn-days", "30", "-o", "json"]);
        expect(res.code).toBe(2);
        const apiserver = JSON.parse(res.stdout).nodes[m1.ip].certificates.apiserver;
        expect(apiserver).toMatchObject({ served: "MISMATCH", status: "served-mismatch", sha256: certSha256(fs.readFileSync(out.cert, "utf8")) });
        expect(apiserver.detail).toMatch(/^served sha256:[0-9a-f]{8}… ≠ disk sha256:[0-9a-f]{8}…$/);
        m1.clearFault("kube-apiserver");
    }, 60_000);

    it("pins the host key: the right key reads the node, a wrong one makes it unreachable with a clear error", async () => {
        const spec = (hostKey: string): NodeSpec => ({ name: "master-2", role: "master", advertiseAddress: m2.ip, transport: "ssh",
            ssh: { host: m2.ip, port: 22, user: "root", privateKey: cluster.clientPrivateKey, hostKey } });
        const pinned = await readInventory(spec(m2.hostPublicKey), KUBEADM_LAYOUT, { connectTimeoutMs: 5000 });
        expect(pinned.reachable, pinned.error).toBe(true);
        expect(pinned.files.find((f) => f.key === "ca.crt")?.exists).toBe(true);
        const wrong = await readInventory(spec(m1.hostPublicKey), KUBEADM_LAYOUT, { connectTimeoutMs: 5000 });
        expect(wrong.reachable).toBe(false);
        expect(wrong.error).toMatch(/^host key does not match the pinned hostKey/);
        expect(wrong.files).toEqual([]);
    }, 30_000);
});
