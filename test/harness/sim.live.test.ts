/**
 * Proof that the simulated cluster is real: judged by etcdctl, kubectl, openssl s_client and
 * ssh2 against the real etcd/sshd and the TLS stand-ins, never by the harness's own bookkeeping.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { describeLive, issueCert, SimCluster, SimNode, sshExec, waitFor } from "./sim";
import { SIM_BINARIES } from "./sim/prereq";
import { run } from "./sim/proc";

const OPENSSL = SIM_BINARIES.openssl;

/** Fingerprint of the certificate a server presents, per openssl s_client (lowercase hex). */
async function servedFingerprint(via: SimNode | "host", host: string, port: number, clientCert?: { cert: string; key: string }): Promise<string> {
    const auth = clientCert ? ` -cert ${clientCert.cert} -key ${clientCert.key}` : "";
    const cmd = `${OPENSSL} s_client -connect ${host}:${port}${auth} </dev/null 2>/dev/null | ${OPENSSL} x509 -noout -fingerprint -sha256`;
    const r = via === "host" ? await run("/bin/sh", ["-c", cmd], { check: false, timeoutMs: 15_000 }) : await via.exec(cmd, { timeoutMs: 15_000 });
    return normalise(r.stdout);
}

async function diskFingerprint(file: string): Promise<string> {
    return normalise((await run(OPENSSL, ["x509", "-noout", "-fingerprint", "-sha256", "-in", file])).stdout);
}

function normalise(out: string): string {
    const m = /Fingerprint=([0-9A-F:]+)/i.exec(out);
    return m ? m[1].replace(/:/g, "").toLowerCase() : `(no certificate: ${out.trim()})`;
}

describeLive("simulated cluster (3 masters + 1 worker)", () => {
    let cluster: SimCluster;
    const worker = () => cluster.node("worker-1");

    beforeAll(async () => {
        const t0 = Date.now();
        cluster = await SimCluster.start({
            nodes: [
                { name: "master-1", role: "master" },
                { name: "master-2", role: "master" },
                { name: "master-3", role: "master" },
                { name: "worker-1", role: "worker", clockOffsetSeconds: -7200 },
            ],
        });
        console.log(`3+1 cluster up in ${Date.now() - t0} ms (slot dir ${cluster.dir})`);
    });
    afterAll(async () => {
        await cluster?.stop();
    });

    it("etcdctl sees a healthy 3-member TLS cluster with the seeded healthcheck-client cert", async () => {
        const r = await cluster.etcdctl(["endpoint", "health", "--cluster"]);
        expect(r.code, r.stderr).toBe(0);
        const out = r.stdout + r.stderr;
        for (const m of cluster.masters) expect(out).toMatch(new RegExp(`https://${m.ip.replace(/\./g, "\\.")}:2379 is healthy`));
        const members = await cluster.etcdctl(["member", "list"], cluster.node("master-3"));
        expect(members.stdout.trim().split("\n")).toHaveLength(3);
    });

    it("kubectl with admin.conf gets /healthz from every apiserver stand-in; a foreign CA's client cert is refused", async () => {
        const m1 = cluster.node("master-1");
        const adminConf = m1.hostPath("/etc/kubernetes/admin.conf");
        for (const m of cluster.masters) {
            const r = await cluster.kubectl(adminConf, ["get", "--raw", "/healthz"], { server: `https://${m.ip}:6443` });
            expect(r.stdout.trim(), r.stderr).toBe("ok");
        }
        const nodes = await cluster.kubectl(adminConf, ["get", "nodes", "-o", "name"]);
        expect(nodes.stdout.trim().split("\n").sort()).toEqual(cluster.nodes.map((n) => `node/${n.name}`).sort());

        // Same kubeconfig, but the client cert comes from a CA the apiserver does not trust.
        const dir = fs.mkdtempSync(path.join(cluster.dir, "foreign-"));
        const foreignCa = { cert: path.join(dir, "ca.crt"), key: path.join(dir, "ca.key") };
        const client = { cert: path.join(dir, "admin.crt"), key: path.join(dir, "admin.key") };
        await issueCert({ cn: "kubernetes", isCa: true, issuedDaysAgo: 1, validDays: 3650, out: foreignCa, keyType: "ecdsa-p256" });
        await issueCert({ cn: "kubernetes-admin", o: ["system:masters"], eku: ["clientAuth"], issuer: foreignCa, issuedDaysAgo: 1, validDays: 30, out: client, keyType: "ecdsa-p256" });
        const kc = parse(fs.readFileSync(adminConf, "utf8"));
        kc.users[0].user["client-certificate-data"] = fs.readFileSync(client.cert).toString("base64");
        kc.users[0].user["client-key-data"] = fs.readFileSync(client.key).toString("base64");
        const foreignConf = path.join(dir, "foreign.conf");
        fs.writeFileSync(foreignConf, stringify(kc), { mode: 0o600 });
        const refused = await cluster.kubectl(foreignConf, ["get", "--raw", "/healthz"]);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/Unauthorized/i);
        expect(refused.stdout).not.toContain("ok");
    });

    it("openssl s_client sees the on-disk certificate on 2379, 6443, 10257 and 10259 of every master", async () => {
        for (const m of cluster.masters) {
            const hc = { cert: m.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.crt"), key: m.hostPath("/etc/kubernetes/pki/etcd/healthcheck-client.key") };
            expect(await servedFingerprint("host", m.ip, 2379, hc)).toBe(await diskFingerprint(m.hostPath("/etc/kubernetes/pki/etcd/server.crt")));
            expect(await servedFingerprint("host", m.ip, 6443)).toBe(await diskFingerprint(m.hostPath("/etc/kubernetes/pki/apiserver.crt")));
            // kubeadm binds controller-manager and scheduler to 127.0.0.1: look from inside the node.
            expect(await servedFingerprint(m, "127.0.0.1", 10257)).toBe(await diskFingerprint(m.hostPath("/etc/kubernetes/pki/controller-manager.crt")));
            expect(await servedFingerprint(m, "127.0.0.1", 10259)).toBe(await diskFingerprint(m.hostPath("/etc/kubernetes/pki/scheduler.crt")));
        }
    });

    it("moving a manifest out stops the component; moving it back starts it with a new PID", async () => {
        const m2 = cluster.node("master-2");
        const before = m2.events().filter((e) => e.component === "kube-scheduler" && e.event === "start").at(-1)!;
        const out = await m2.ssh("mv /etc/kubernetes/manifests/kube-scheduler.yaml /etc/kubernetes/kube-scheduler.yaml.moved");
        expect(out.code, out.stderr).toBe(0);
        await waitFor("scheduler gone from crictl ps", async () => (await m2.ssh("crictl ps --name kube-scheduler -q")).stdout.trim() === "", 15_000, 200);
        expect(await servedFingerprint(m2, "127.0.0.1", 10259)).toMatch(/no certificate/);
        expect(m2.events().some((e) => e.component === "kube-scheduler" && e.event === "stop" && e.pid === before.pid)).toBe(true);

        await m2.ssh("mv /etc/kubernetes/kube-scheduler.yaml.moved /etc/kubernetes/manifests/kube-scheduler.yaml");
        const ids = await waitFor("scheduler back in crictl ps", async () => {
            const r = (await m2.ssh("crictl ps --name kube-scheduler -q")).stdout.trim();
            return r || undefined;
        }, 15_000, 200);
        const after = m2.events().filter((e) => e.component === "kube-scheduler" && e.event === "start").at(-1)!;
        expect(after.pid).not.toBe(before.pid);
        expect(after.containerId).toBe(ids);
        const inspect = JSON.parse((await m2.ssh(`crictl inspect ${ids.slice(0, 13)}`)).stdout);
        expect(inspect.status.state).toBe("CONTAINER_RUNNING");
        expect(inspect.info.pid).toBe(after.pid);
        await waitFor("scheduler serving again", async () => !/no certificate/.test(await servedFingerprint(m2, "127.0.0.1", 10259)), 10_000, 200);
    });

    it("keep-old-cert keeps serving the old certificate after the file is replaced and the pod restarted", async () => {
        const m3 = cluster.node("master-3");
        const oldFp = await servedFingerprint("host", m3.ip, 6443);
        // A new apiserver cert, signed by the seeded CA, written over the on-disk pair.
        const out = { cert: m3.hostPath("/etc/kubernetes/pki/apiserver.crt"), key: m3.hostPath("/etc/kubernetes/pki/apiserver.key") };
        await issueCert({ cn: "kube-apiserver", eku: ["serverAuth"], ips: [m3.ip, "127.0.0.1"], dns: ["master-3", "kubernetes"], issuer: cluster.authorities.ca, issuedDaysAgo: 0, validDays: 365, out, keyType: "ecdsa-p256" });
        const newFp = await diskFingerprint(out.cert);
        expect(newFp).not.toBe(oldFp);

        const restart = async () => {
            const id = (await m3.ssh("crictl ps --name kube-apiserver -q")).stdout.trim();
            const stopped = await m3.ssh(`crictl stop ${id}`);
            expect(stopped.code, stopped.stderr).toBe(0);
            await waitFor("apiserver restarted", async () => {
                const now = (await m3.ssh("crictl ps --name kube-apiserver -q")).stdout.trim();
                return now && now !== id ? now : undefined;
            }, 20_000, 200);
            return waitFor("apiserver serving", async () => {
                const fp = await servedFingerprint("host", m3.ip, 6443);
                return /no certificate/.test(fp) ? undefined : fp;
            }, 20_000, 200);
        };
        m3.setFault("kube-apiserver", { kind: "keep-old-cert" });
        expect(await restart()).toBe(oldFp);
        m3.clearFault("kube-apiserver");
        expect(await restart()).toBe(newFp);
        const starts = m3.events().filter((e) => e.component === "kube-apiserver" && e.event === "start");
        expect(starts.at(-2)!.certSha256).toBe(oldFp);
        expect(starts.at(-1)!.certSha256).toBe(newFp);
    });

    it("never-return keeps a removed pod away until cleared; slow-return delays the restart", async () => {
        const m1 = cluster.node("master-1");
        const running = async () => (await m1.ssh("crictl ps --name kube-controller-manager -q")).stdout.trim();
        m1.setFault("kube-controller-manager", { kind: "never-return" });
        await m1.ssh("mv /etc/kubernetes/manifests/kube-controller-manager.yaml /etc/kubernetes/kcm.yaml");
        await waitFor("controller-manager stopped", async () => (await running()) === "", 15_000, 200);
        await m1.ssh("mv /etc/kubernetes/kcm.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml");
        await new Promise((r) => setTimeout(r, 1500));
        expect(await running()).toBe("");
        m1.clearFault("kube-controller-manager", "never-return");
        await waitFor("controller-manager back", async () => (await running()) || undefined, 10_000, 200);

        m1.setFault("kube-controller-manager", { kind: "slow-return", seconds: 2 });
        const stoppedAt = Date.now();
        await m1.ssh(`crictl stop ${await running()}`);
        await waitFor("controller-manager back after the delay", async () => (await running()) || undefined, 15_000, 200);
        expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2000);
        m1.clearFault();
        const evs = m1.events().filter((e) => e.component === "kube-controller-manager").map((e) => e.event);
        expect(evs.slice(-4)).toEqual(["stop", "start", "stop", "start"]);
    });

    it("systemctl restart kubelet re-reads kubelet.conf and keeps static pods running", async () => {
        const m1 = cluster.node("master-1");
        const pidsBefore = (await m1.ssh("crictl ps -q")).stdout;
        const r = await m1.ssh("systemctl restart kubelet && systemctl is-active kubelet");
        expect(r.stdout.trim(), r.stderr).toBe("active");
        const ev = m1.events().filter((e) => e.event === "kubelet-restart").at(-1)!;
        expect(ev.certSha256).toBe(await diskFingerprint(m1.realHostPath("/var/lib/kubelet/pki/kubelet-client-current.pem")));
        expect(ev.trusted).toBe(true);
        expect((await m1.ssh("crictl ps -q")).stdout).toBe(pidsBefore);
        expect((await worker().ssh("crictl ps -q; systemctl is-active kubelet")).stdout).toBe("active\n");
    });

    it("ssh: pinned host key, stdin arrives byte-exact, and the cut fault really cuts", async () => {
        const w = worker();
        const wrongHost = { name: w.name, ip: w.ip, clientPrivateKey: cluster.clientPrivateKey, hostPublicKey: cluster.node("master-1").hostPublicKey };
        await expect(sshExec(wrongHost, "true")).rejects.toThrow();

        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const payload = Buffer.concat([allBytes, crypto.randomBytes(300 * 1024), allBytes]);
        const want = crypto.createHash("sha256").update(payload).digest("hex");
        const r = await w.ssh("/usr/bin/sha256sum", payload);
        expect(r.code).toBe(0);
        expect(r.stdout.split(" ")[0]).toBe(want);
        const failing = await w.ssh("echo to-stderr >&2; exit 7");
        expect(failing).toMatchObject({ code: 7, stderr: "to-stderr\n" });

        w.setFault("ssh", { kind: "cut-ssh-after-bytes", bytes: 1000 });
        await expect(w.ssh("cat > /var/lib/kube-pki/cut.bin; echo done", payload)).rejects.toThrow(/connection closed/);
        expect(fs.statSync(w.hostPath("/var/lib/kube-pki/cut.bin")).size).toBe(1000);
        expect(w.events().some((e) => e.event === "ssh-cut" && e.bytes === 1000)).toBe(true);
        // One-shot: the next session is whole again.
        const again = await w.ssh("cat > /var/lib/kube-pki/whole.bin && echo done", payload);
        expect(again.stdout).toBe("done\n");
        expect(fs.statSync(w.hostPath("/var/lib/kube-pki/whole.bin")).size).toBe(payload.length);
    });

    it("the worker's clock offset is visible over SSH, the masters' clocks are not shifted", async () => {
        const w = await worker().ssh("date +%s");
        expect(Number(w.stdout) - Date.now() / 1000).toBeGreaterThan(-7200 - 30);
        expect(Number(w.stdout) - Date.now() / 1000).toBeLessThan(-7200 + 30);
        const m = await cluster.node("master-1").ssh("date +%s");
        expect(Math.abs(Number(m.stdout) - Date.now() / 1000)).toBeLessThan(30);
    });

    it("stop leaves no namespace, link or process behind", async () => {
        const slot = /^(\d+)-/.exec(path.basename(cluster.dir))![1];
        const pids = cluster.nodes.flatMap((n) => n.events().map((e) => e.pid)).concat(cluster.nodes.map((n) => n.holderPid));
        await cluster.stop();
        const netns = (await run(SIM_BINARIES.ip, ["netns", "list"])).stdout;
        expect(netns).not.toMatch(new RegExp(`kpsim-${slot}-`));
        const links = (await run(SIM_BINARIES.ip, ["-o", "link", "show"])).stdout;
        expect(links).not.toMatch(new RegExp(`kpsim${slot}(br|h)`));
        expect(pids.filter((p) => fs.existsSync(`/proc/${p}`))).toEqual([]);
        expect(fs.existsSync(cluster.dir)).toBe(false);
    });
});
