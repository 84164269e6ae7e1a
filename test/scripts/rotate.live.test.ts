/**
 * The node scripts against the simulated cluster, run exactly as the Pulumi program runs them:
 * one `scriptCommand(...)` string over SSH, the bundle on stdin. Fresh certificates are issued
 * with openssl against the sim's seeded CAs, installed with install.sh, then rotate.sh restarts
 * the component (static-pod / crictl / systemctl) and verifies what it serves.
 * Judges: the fake kubelet's event log (PIDs, one start per restart), openssl s_client from
 * inside the node, etcdctl against the real etcd, and byte hashes of the node's tree.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { serializeBundle, type Bundle, type BundleFile, type CertCheck } from "../../src/node/bundle-format";
import { SCRIPTS_DIR, scriptCommand } from "../../src/node/scripts";
import { describeLive, issueCert, SimCluster, type CertPaths, type IssueRequest, type SimEvent, type SimNode } from "../harness/sim";

const PKI = "/etc/kubernetes/pki";
const ETCD_CLIENT = ["--client-cert", `${PKI}/etcd/healthcheck-client.crt`, "--client-key", `${PKI}/etcd/healthcheck-client.key`, "--cacert", `${PKI}/etcd/ca.crt`];

function fingerprint(pem: string | Buffer): string {
    return new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();
}

/** SHA-256 of every file under the node's /etc/kubernetes and /var/lib/kubelet (symlinks by target). */
function treeHashes(node: SimNode): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (root: string, dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            const rel = path.relative(root, full);
            if (e.isDirectory()) walk(root, full);
            else if (e.isSymbolicLink()) out[`${root}:${rel}`] = `-> ${fs.readlinkSync(full)}`;
            else out[`${root}:${rel}`] = `${(fs.statSync(full).mode & 0o777).toString(8)} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`;
        }
    };
    for (const p of ["/etc/kubernetes", "/var/lib/kubelet"]) walk(node.hostPath(p), node.hostPath(p));
    return out;
}

describeLive("node scripts on a simulated master (install → rotate → verify / roll back)", () => {
    let cluster: SimCluster;
    let m1: SimNode;
    let scratch: string;
    let serial = 0;

    beforeAll(async () => {
        const t0 = Date.now();
        cluster = await SimCluster.start({ masters: 1, keyType: "ecdsa-p256" });
        m1 = cluster.node("master-1");
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-rotate-live-"));
        console.log(`1-master sim up in ${Date.now() - t0} ms`);
    });
    afterAll(async () => {
        await cluster?.stop();
        if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    /** A fresh leaf from a seeded CA; returns the PEM texts (the key file is deleted at once). */
    async function issue(req: Omit<IssueRequest, "out" | "issuedDaysAgo" | "validDays" | "keyType" | "issuer">, issuer: CertPaths) {
        const out = { cert: path.join(scratch, `${++serial}.crt`), key: path.join(scratch, `${serial}.key`) };
        await issueCert({ ...req, issuer, issuedDaysAgo: 0, validDays: 30, keyType: "ecdsa-p256", out });
        const pem = { cert: fs.readFileSync(out.cert, "utf8"), key: fs.readFileSync(out.key, "utf8") };
        fs.rmSync(out.key);
        return pem;
    }

    /** A new serving cert for `file` (kubeadm SANs of this node) from `issuer`, as a bundle. */
    async function servingBundle(file: string, cn: string, issuer: CertPaths, ca: string, eku: IssueRequest["eku"] = ["serverAuth"]) {
        const dns = [m1.name, "localhost", ...(file === "apiserver" ? ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"] : [])];
        const ips = [m1.ip, "127.0.0.1", ...(file === "apiserver" ? ["10.96.0.1"] : [])];
        const pem = await issue({ cn, eku, dns, ips }, issuer);
        const check: CertCheck = { cert: `${PKI}/${file}.crt`, key: `${PKI}/${file}.key`, ca, sans: [`DNS:${m1.name}`, `IP:${m1.ip}`], purpose: "sslserver" };
        const files: BundleFile[] = [
            { path: `${PKI}/${file}.crt`, mode: "0644", content: pem.cert },
            { path: `${PKI}/${file}.key`, mode: "0600", content: pem.key },
        ];
        return { bundle: { files, checks: [check] } as Bundle, fp: fingerprint(pem.cert) };
    }

    async function install(bundle: Bundle) {
        const r = await m1.ssh(scriptCommand("install", []), serializeBundle(bundle));
        expect(r.code, r.stderr).toBe(0);
        // stdout is Pulumi state: fingerprints and paths, never key material.
        expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
        return r;
    }

    async function rotate(args: string[]) {
        const t0 = Date.now();
        const r = await m1.ssh(scriptCommand("rotate", args), undefined, { timeoutMs: 90_000 });
        expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
        return { ...r, ms: Date.now() - t0 };
    }

    /** Events of `component` recorded after `since` (ms epoch). */
    const eventsSince = (component: string, since: number): SimEvent[] =>
        m1.events().filter((e) => e.component === component && Date.parse(e.ts) >= since);
    const lastStart = (component: string) => m1.events().filter((e) => e.component === component && e.event === "start").at(-1);

    /** What the endpoint serves, per openssl s_client inside the node (empty: no handshake). */
    async function served(endpoint: string, client = ""): Promise<string> {
        const r = await m1.exec(`/usr/bin/openssl s_client -connect ${endpoint} ${client} </dev/null 2>/dev/null | /usr/bin/openssl x509 -noout -fingerprint -sha256`, { timeoutMs: 15_000 });
        return r.stdout.trim().split("=")[1]?.replace(/:/g, "").toLowerCase() ?? "";
    }
    const diskFp = (nodePath: string) => fingerprint(fs.readFileSync(m1.hostPath(nodePath)));
    const etcdClient = `-cert ${PKI}/etcd/healthcheck-client.crt -key ${PKI}/etcd/healthcheck-client.key`;

    /** Rotates a static-pod component to a fresh cert and checks restart count, served = disk and the report line. */
    async function rotateServing(component: string, strategy: string, endpoint: string, file: string, cn: string) {
        const { bundle, fp } = await servingBundle(file, cn, cluster.authorities.ca, `${PKI}/ca.crt`);
        const before = lastStart(component)!;
        await install(bundle);
        const t0 = Date.now();
        const r = await rotate([component, strategy, endpoint, `${PKI}/${file}.crt`, "--timeout", "30"]);
        console.log(`rotate ${component} (${strategy}): exit ${r.code} in ${r.ms} ms`);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`served ${component} sha256:${fp}\n`);
        expect(r.stdout).toContain(`rotated ${component} on ${m1.name}`);
        const evs = eventsSince(component, t0);
        expect(evs.filter((e) => e.event === "start"), JSON.stringify(evs)).toHaveLength(1);
        expect(evs.filter((e) => e.event === "stop").map((e) => e.pid)).toEqual([before.pid]);
        const start = evs.find((e) => e.event === "start")!;
        expect(start.pid).not.toBe(before.pid);
        expect(start.certSha256).toBe(fp);
        expect(await served(endpoint)).toBe(diskFp(`${PKI}/${file}.crt`));
        expect(diskFp(`${PKI}/${file}.crt`)).toBe(fp);
        return r;
    }

    it("etcd (static-pod): new PID, serves the file on disk, etcdctl endpoint health ok", async () => {
        const { bundle, fp } = await servingBundle("etcd/server", m1.name, cluster.authorities.etcdCa, `${PKI}/etcd/ca.crt`, ["serverAuth", "clientAuth"]);
        bundle.checks[0] = { ...(bundle.checks[0] as CertCheck), sans: [`DNS:${m1.name}`, "DNS:localhost", `IP:${m1.ip}`, "IP:127.0.0.1"] };
        const before = lastStart("etcd")!;
        await install(bundle);
        const t0 = Date.now();
        const r = await rotate(["etcd", "static-pod", "127.0.0.1:2379", `${PKI}/etcd/server.crt`, "--timeout", "30", ...ETCD_CLIENT]);
        console.log(`rotate etcd (static-pod): exit ${r.code} in ${r.ms} ms`);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`served etcd sha256:${fp}\n`);
        expect(r.stdout).toContain("healthy etcd https://127.0.0.1:2379");
        const starts = eventsSince("etcd", t0).filter((e) => e.event === "start");
        expect(starts).toHaveLength(1);
        expect(starts[0].pid).not.toBe(before.pid);
        expect(await served("127.0.0.1:2379", etcdClient)).toBe(fp);
        expect(await served(`${m1.ip}:2379`, etcdClient)).toBe(diskFp(`${PKI}/etcd/server.crt`));
        const health = await cluster.etcdctl(["endpoint", "health"]);
        expect(health.code, health.stderr).toBe(0);
        expect(health.stdout + health.stderr).toMatch(/is healthy/);
    });

    it("kube-apiserver (static-pod) on <ip>:6443", async () => {
        await rotateServing("kube-apiserver", "static-pod", `${m1.ip}:6443`, "apiserver", "kube-apiserver");
        // kubectl with the node's admin.conf trusts what is served now.
        const k = await cluster.kubectl(m1.hostPath("/etc/kubernetes/admin.conf"), ["get", "--raw", "/healthz"], { server: `https://${m1.ip}:6443` });
        expect(k.stdout.trim(), k.stderr).toBe("ok");
    });

    it("kube-controller-manager (static-pod) on 127.0.0.1:10257", async () => {
        await rotateServing("kube-controller-manager", "static-pod", "127.0.0.1:10257", "controller-manager", "kube-controller-manager");
    });

    it("kube-scheduler (static-pod) on 127.0.0.1:10259", async () => {
        await rotateServing("kube-scheduler", "static-pod", "127.0.0.1:10259", "scheduler", "kube-scheduler");
    });

    it("kube-scheduler (crictl): container stopped, kubelet starts a new one", async () => {
        const r = await rotateServing("kube-scheduler", "crictl", "127.0.0.1:10259", "scheduler", "kube-scheduler");
        expect(r.stdout).toMatch(/restarted kube-scheduler \(container [0-9a-f]+ -> [0-9a-f]+\)/);
    });

    it("kubelet (- -): one systemctl restart, the kubelet loads the new kubelet.conf identity", async () => {
        const pem = await issue({ cn: `system:node:${m1.name}`, o: ["system:nodes"], eku: ["clientAuth"] }, cluster.authorities.ca);
        const kc = parse(fs.readFileSync(m1.hostPath("/etc/kubernetes/kubelet.conf"), "utf8"));
        const user = kc.users[0].user;
        delete user["client-certificate"];
        delete user["client-key"];
        user["client-certificate-data"] = Buffer.from(pem.cert).toString("base64");
        user["client-key-data"] = Buffer.from(pem.key).toString("base64");
        await install({
            files: [{ path: "/etc/kubernetes/kubelet.conf", mode: "0600", content: stringify(kc, { lineWidth: 0 }) }],
            checks: [{ kubeconfig: "/etc/kubernetes/kubelet.conf", ca: `${PKI}/ca.crt` }],
        });
        const podsBefore = (await m1.ssh("crictl ps -q")).stdout;
        const t0 = Date.now();
        // The program passes the layout's strategy for every component; the kubelet is a systemd unit regardless.
        const r = await rotate(["kubelet", "static-pod", "-", "-", "--timeout", "30"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("restarted kubelet (systemd unit active)");
        const restarts = eventsSince("kubelet", t0).filter((e) => e.event === "kubelet-restart");
        expect(restarts).toHaveLength(1);
        expect(restarts[0].certSha256).toBe(fingerprint(pem.cert));
        expect(restarts[0].trusted).toBe(true);
        expect((await m1.ssh("crictl ps -q")).stdout).toBe(podsBefore);
    });

    /** Installs a fresh apiserver cert under `fault`, rotates, and checks the rollback left the node as before. */
    async function failedApiserverRotation(timeout: number, expectReason: RegExp, duringRollback?: () => Promise<void>) {
        const oldFp = diskFp(`${PKI}/apiserver.crt`);
        expect(await served(`${m1.ip}:6443`)).toBe(oldFp);
        const tree = treeHashes(m1);
        const { bundle, fp } = await servingBundle("apiserver", "kube-apiserver", cluster.authorities.ca, `${PKI}/ca.crt`);
        await install(bundle);
        expect(diskFp(`${PKI}/apiserver.crt`)).toBe(fp);
        const watcher = duringRollback?.();
        const r = await rotate(["kube-apiserver", "static-pod", `${m1.ip}:6443`, `${PKI}/apiserver.crt`, "--timeout", String(timeout)]);
        await watcher;
        console.log(`failed rotation (${expectReason}): exit ${r.code} in ${r.ms} ms\n${r.stderr}`);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(expectReason);
        // The failure report (lib.sh failure_report): header, rollback outcome, next step; short.
        expect(r.stderr.trimEnd().split("\n").length).toBeLessThanOrEqual(40);
        expect(r.stderr).toMatch(new RegExp(`^kube-pki-rotate: FAILED on node ${m1.name}, step: (restart kube-apiserver \\(static-pod\\)|verify kube-apiserver serves ${PKI}/apiserver\\.crt at ${m1.ip}:6443)$`, "m"));
        expect(r.stderr).toMatch(/^ {2}rollback: restored 2 file\(s\) from \/var\/lib\/kube-pki\/backups\/\S+$/m);
        expect(r.stderr).toMatch(new RegExp(`^  rollback: rolled back kube-apiserver \\(restarted, serves the old sha256:${oldFp}\\)$`, "m"));
        expect(r.stderr).toMatch(/^ {2}node now: rolled back to \/var\/lib\/kube-pki\/backups\/\S+; node is as before: the old files, kube-apiserver restarted and verified on them$/m);
        expect(r.stderr).toMatch(/^ {2}next: .*then run `pulumi up` again \(it installs and restarts this node again\)$/m);
        expect(treeHashes(m1)).toEqual(tree);
        expect(await served(`${m1.ip}:6443`)).toBe(oldFp);
        return { r, oldFp, newFp: fp };
    }

    it("keep-old-cert: rotate fails naming node, component, expected and served; files restored byte-exact; old cert served", async () => {
        m1.setFault("kube-apiserver", { kind: "keep-old-cert" });
        try {
            const { r, oldFp, newFp } = await failedApiserverRotation(5, /serves sha256:[0-9a-f]{64}, expected sha256:/);
            expect(r.stderr).toContain(`  failed: kube-apiserver at ${m1.ip}:6443 serves sha256:${oldFp}, expected sha256:${newFp} from ${PKI}/apiserver.crt (waited 5 s)\n`);
            expect(r.stderr).toContain(`  served: sha256:${oldFp}; expected: sha256:${newFp} (the file ${PKI}/apiserver.crt on disk)\n`);
            expect(r.stderr).toMatch(/^ {2}state: kube-apiserver: container [0-9a-f]{13} running; manifest \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml in place \(crictl ps\)$/m);
            expect(r.stderr).toContain(`  next: find why kube-apiserver does not serve ${PKI}/apiserver.crt: its flags or manifest must name that file`);
        } finally {
            m1.clearFault("kube-apiserver");
        }
    });

    it("never-return: rotate fails with 'did not come back', rolls back, the apiserver returns with the old files", async () => {
        m1.setFault("kube-apiserver", { kind: "never-return" });
        // The pod fails only with the new files: once the old apiserver.crt is back on disk, it may start.
        const oldFp = diskFp(`${PKI}/apiserver.crt`);
        const liftWhenRestored = async () => {
            const end = Date.now() + 60_000;
            while (Date.now() < end) {
                const now = (() => { try { return diskFp(`${PKI}/apiserver.crt`); } catch { return ""; } })();
                if (now === oldFp) break;
                await new Promise((res) => setTimeout(res, 50));
            }
            m1.clearFault("kube-apiserver", "never-return");
        };
        try {
            // The watcher starts after install (the new cert is on disk by then).
            const { r } = await failedApiserverRotation(5, /did not come back within 5 s/, async () => {
                await new Promise((res) => setTimeout(res, 500));
                await liftWhenRestored();
            });
            expect(r.stderr).toContain("  failed: kube-apiserver did not come back within 5 s (no new running container)\n");
            expect(r.stderr).toMatch(/^ {2}state: kube-apiserver: no running container \(newest: [0-9a-f]{13}, exited\); manifest \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml in place \(crictl ps\)$/m);
            expect(r.stderr).toMatch(/^ {2}next: read why kube-apiserver does not run with the new files \(crictl logs --tail 50 [0-9a-f]{64}\), fix the cause, then run `pulumi up` again/m);
        } finally {
            m1.clearFault("kube-apiserver");
        }
    });

    it("slow-return 2 s with --timeout 20: rotate waits and succeeds", async () => {
        m1.setFault("kube-apiserver", { kind: "slow-return", seconds: 2 });
        try {
            const r = await rotateServing("kube-apiserver", "static-pod", `${m1.ip}:6443`, "apiserver", "kube-apiserver");
            expect(r.ms).toBeGreaterThanOrEqual(2000);
        } finally {
            m1.clearFault("kube-apiserver");
        }
    });

    it("a failure on the second component rolls back both: apiserver and controller-manager serve their old certs again", async () => {
        const old = { api: diskFp(`${PKI}/apiserver.crt`), cm: diskFp(`${PKI}/controller-manager.crt`) };
        const tree = treeHashes(m1);
        const api = await servingBundle("apiserver", "kube-apiserver", cluster.authorities.ca, `${PKI}/ca.crt`);
        const cm = await servingBundle("controller-manager", "kube-controller-manager", cluster.authorities.ca, `${PKI}/ca.crt`);
        await install({ files: [...api.bundle.files, ...cm.bundle.files], checks: [...api.bundle.checks, ...cm.bundle.checks] });
        const t0 = Date.now();
        const first = await rotate(["kube-apiserver", "static-pod", `${m1.ip}:6443`, `${PKI}/apiserver.crt`, "--timeout", "20"]);
        expect(first.code, first.stderr).toBe(0);
        expect(await served(`${m1.ip}:6443`)).toBe(api.fp);
        m1.setFault("kube-controller-manager", { kind: "keep-old-cert" });
        try {
            const r = await rotate(["kube-controller-manager", "static-pod", "127.0.0.1:10257", `${PKI}/controller-manager.crt`, "--timeout", "4"]);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(`kube-controller-manager at 127.0.0.1:10257 serves sha256:${old.cm}, expected sha256:${cm.fp}`);
            expect(r.stderr).toMatch(/^ {2}rollback: rolled back kube-apiserver \(restarted, serves the old sha256:[0-9a-f]{64}\)$/m);
            expect(r.stderr).toContain(`  rollback: rolled back kube-controller-manager (restarted, serves the old sha256:${old.cm})\n`);
            expect(r.stderr).toMatch(/^ {2}node now: rolled back to \S+; node is as before: the old files, kube-apiserver, kube-controller-manager restarted and verified on them$/m);
        } finally {
            m1.clearFault("kube-controller-manager");
        }
        expect(treeHashes(m1)).toEqual(tree);
        expect(await served(`${m1.ip}:6443`)).toBe(old.api);
        expect(await served("127.0.0.1:10257")).toBe(old.cm);
        // apiserver: the rotation and the rollback; controller-manager: the failed rotation and the rollback.
        const starts = (c: string) => eventsSince(c, t0).filter((e) => e.event === "start").map((e) => e.certSha256);
        expect(starts("kube-apiserver")).toEqual([api.fp, old.api]);
        expect(starts("kube-controller-manager")).toEqual([old.cm, old.cm]);
    });

    it("never-return that outlasts the rollback: exit 3, ROLLBACK INCOMPLETE, files still restored, manifest in place", async () => {
        const oldFp = diskFp(`${PKI}/apiserver.crt`);
        const tree = treeHashes(m1);
        const { bundle, fp } = await servingBundle("apiserver", "kube-apiserver", cluster.authorities.ca, `${PKI}/ca.crt`);
        await install(bundle);
        m1.setFault("kube-apiserver", { kind: "never-return" });
        try {
            const r = await rotate(["kube-apiserver", "static-pod", `${m1.ip}:6443`, `${PKI}/apiserver.crt`, "--timeout", "3"]);
            expect(r.code).toBe(3);
            expect(r.stderr.trimEnd().split("\n").length).toBeLessThanOrEqual(40);
            expect(r.stderr).toContain(`kube-pki-rotate: FAILED on node ${m1.name}, step: restart kube-apiserver (static-pod)\n  failed: kube-apiserver did not come back within 3 s (no new running container)\n`);
            expect(r.stderr).toContain("  rollback: kube-apiserver FAILED after rollback: kube-apiserver did not come back within 3 s (no new running container)\n");
            expect(r.stderr).toMatch(/^ {2}node now: ROLLBACK INCOMPLETE \[kube-apiserver after rollback: kube-apiserver did not come back within 3 s \(no new running container\)\]: the node is NOT as before \(the old files are back on disk, but not every component runs on them\); backup \/var\/lib\/kube-pki\/backups\/\S+$/m);
            expect(r.stderr).toMatch(/^ {2}next: bring the components above back by hand .* run restore\.sh \/var\/lib\/kube-pki\/backups\/\S+; then read why kube-apiserver does not run/m);
            expect(r.stderr).not.toContain(fp);
            expect(treeHashes(m1)).toEqual(tree);
        } finally {
            m1.clearFault("kube-apiserver");
        }
        // Once the cause is gone the kubelet starts it from the manifest rotate.sh put back.
        const end = Date.now() + 20_000;
        while ((await served(`${m1.ip}:6443`)) !== oldFp && Date.now() < end) await new Promise((res) => setTimeout(res, 200));
        expect(await served(`${m1.ip}:6443`)).toBe(oldFp);
    });

    it("restart.sh (crictl) and verify-served.sh on etcd: new PID, served = disk, etcdctl health", async () => {
        const before = lastStart("etcd")!;
        const t0 = Date.now();
        const r = await m1.ssh(scriptCommand("restart", ["etcd", "crictl", "--timeout", "20"]));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^restarted etcd \(container [0-9a-f]{64} -> [0-9a-f]{64}\)$/m);
        const starts = eventsSince("etcd", t0).filter((e) => e.event === "start");
        expect(starts).toHaveLength(1);
        expect(starts[0].pid).not.toBe(before.pid);
        const v = await m1.ssh(scriptCommand("verify-served", ["etcd", `${m1.ip}:2379`, `${PKI}/etcd/server.crt`, "--timeout", "20", ...ETCD_CLIENT]));
        expect(v.code, v.stderr).toBe(0);
        expect(v.stdout).toBe(`served etcd sha256:${diskFp(`${PKI}/etcd/server.crt`)}\nhealthy etcd https://${m1.ip}:2379 (etcdctl endpoint health)\n`);
        expect((await cluster.etcdctl(["endpoint", "health"])).code).toBe(0);

        // A kubeadm node without etcdctl: the served certificate is still checked, the skipped health step is said.
        const noEtcdctl = `d=$(mktemp -d) && for f in /usr/bin/*; do [ "\${f##*/}" = etcdctl ] || ln -s "$f" "$d/"; done && PATH=$d:/usr/local/sbin:/usr/sbin && export PATH && `;
        const n = await m1.ssh(noEtcdctl + scriptCommand("verify-served", ["etcd", "127.0.0.1:2379", `${PKI}/etcd/server.crt`, "--timeout", "10", ...ETCD_CLIENT]) + `; rc=$?; rm -rf "$d"; exit $rc`);
        expect(n.code, n.stderr).toBe(0);
        expect(n.stdout).toBe(`served etcd sha256:${diskFp(`${PKI}/etcd/server.crt`)}\nnote: no etcdctl on ${m1.name}; etcd health not checked (the served certificate was)\n`);
    });

    it("leaves no parked manifest or staging file behind", () => {
        const k = m1.hostPath("/etc/kubernetes");
        expect(fs.readdirSync(path.join(k, "manifests")).sort()).toEqual(["etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"]);
        expect(fs.existsSync(path.join(k, "kube-pki-parked"))).toBe(false);
        expect(Object.keys(treeHashes(m1)).filter((p) => /\.kube-pki-(new|restore)$/.test(p))).toEqual([]);
    });
});

it("node scripts wait by polling with deadlines only: the one `sleep` is poll_until's step", () => {
    const sleeps: string[] = [];
    for (const f of fs.readdirSync(SCRIPTS_DIR).filter((n) => n.endsWith(".sh"))) {
        fs.readFileSync(path.join(SCRIPTS_DIR, f), "utf8").split("\n").forEach((line, i) => {
            if (/\bsleep\b/.test(line.replace(/#.*$/, ""))) sleeps.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toMatch(/^lib\.sh:\d+: sleep 0\.2$/);
    const lib = fs.readFileSync(path.join(SCRIPTS_DIR, "lib.sh"), "utf8");
    const poll = /poll_until\(\) \{[\s\S]*?\n\}/.exec(lib)?.[0] ?? "";
    expect(poll).toContain("sleep 0.2");
    expect(poll).toMatch(/\[ "\$\(now_s\)" -lt "\$_pu_end" \] \|\| return 1/);
});
