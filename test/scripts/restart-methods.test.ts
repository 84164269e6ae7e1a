/**
 * restart.sh / rotate.sh restart methods beyond kubeadm's static pods, without a cluster:
 * the `docker`, `systemctl` and `crictl` stand-ins of ./stand-ins.ts on PATH. The judges are the
 * calls each tool received and what the scripts report.
 * Each case runs under dash and bash --posix.
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { BASH_POSIX, DASH, tempDir } from "./fixtures";
import { standIns } from "./stand-ins";

const SHELLS = [[DASH], BASH_POSIX];

function node(shell: string[]) {
    const root = tempDir("methods");
    const tools = standIns(join(root, "etc/k8s/manifests"));
    const run = (script: "restart" | "rotate", args: string[]) =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath(script), "--root", root, ...args], { env: tools.env, encoding: "utf8", timeout: 60_000 });
    return { root, run, ...tools };
}

for (const shell of SHELLS) {
    describe(`restart methods (${shell.join(" ")})`, () => {
        it("docker: restarts the named container and waits until it runs with a new start time", () => {
            const n = node(shell);
            n.container("k8s_kube-apiserver_1");
            const r = n.run("restart", ["kube-apiserver", "docker", "--container", "k8s_kube-apiserver_1", "--timeout", "5"]);
            expect(r.status, r.stderr).toBe(0);
            expect(n.calls()).toContain("docker restart k8s_kube-apiserver_1");
            expect(n.calls().some((c) => c.startsWith("systemctl") || c.startsWith("crictl"))).toBe(false);
            expect(r.stdout).toContain("restarted kube-apiserver (docker container k8s_kube-apiserver_1, started 101)");
        });

        it("docker: a container that does not come back fails with its state and docker's logs command", () => {
            const n = node(shell);
            n.container("etcd");
            n.kill();
            const r = n.run("restart", ["etcd", "docker", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("etcd did not come back within 2 s (docker container etcd not running again)");
            expect(r.stderr).toContain("state: etcd: docker container etcd: exited");
            expect(r.stderr).toContain("docker logs --tail 50 etcd");
        });

        it("docker: no such container is a failure naming it, and nothing is restarted", () => {
            const n = node(shell);
            const r = n.run("restart", ["kube-scheduler", "docker", "--container", "scheduler", "--timeout", "2"]);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("no docker container scheduler (kube-scheduler)");
            expect(n.calls().filter((c) => c.startsWith("docker restart"))).toEqual([]);
        });

        it("systemd: restarts the named unit, not one named after the component", () => {
            const n = node(shell);
            const r = n.run("restart", ["kube-apiserver", "systemd", "--unit", "k8s-apiserver.service", "--timeout", "5"]);
            expect(r.status, r.stderr).toBe(0);
            expect(n.calls()).toContain("systemctl restart k8s-apiserver.service");
            expect(n.calls()).not.toContain("systemctl restart kube-apiserver");
            expect(r.stdout).toContain("restarted kube-apiserver (systemd unit k8s-apiserver.service active)");
        });

        it("the kubelet: docker when given docker (RKE), its systemd unit when given static-pod or crictl", () => {
            const n = node(shell);
            n.container("kubelet");
            expect(n.run("restart", ["kubelet", "docker", "--timeout", "5"]).status).toBe(0);
            expect(n.calls()).toEqual(expect.arrayContaining(["docker restart kubelet"]));
            expect(n.calls().some((c) => c.startsWith("systemctl"))).toBe(false);
            expect(n.run("restart", ["kubelet", "static-pod", "--timeout", "5"]).status).toBe(0);
            expect(n.calls()).toContain("systemctl restart kubelet");
        });

        it("none: restarts nothing and says so", () => {
            const n = node(shell);
            const r = n.run("restart", ["kube-controller-manager", "none"]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toContain("kube-controller-manager: restart method none; not restarted");
            expect(n.calls()).toEqual([]);
        });

        it("static-pod with --manifests: parks the manifest of that directory and puts it back", () => {
            const n = node(shell);
            const dir = join(n.root, "etc/k8s/manifests");
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, "kube-scheduler.yaml"), "kind: Pod\n");
            const r = n.run("restart", ["kube-scheduler", "static-pod", "--manifests", "/etc/k8s/manifests", "--timeout", "10"]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toContain("restarted kube-scheduler (container c1kube-scheduler -> c2kube-scheduler)");
            expect(readFileSync(join(dir, "kube-scheduler.yaml"), "utf8")).toBe("kind: Pod\n");
            expect(existsSync(join(n.root, "etc/k8s/kube-pki-parked"))).toBe(false);
            const missing = n.run("restart", ["kube-apiserver", "static-pod", "--manifests", "/etc/k8s/manifests", "--timeout", "2"]);
            expect(missing.status).toBe(1);
            expect(missing.stderr).toContain("no static pod manifest /etc/k8s/manifests/kube-apiserver.yaml");
        });

        it("rotate.sh restarts by docker container (endpoint -) with no backup to roll back to", () => {
            const n = node(shell);
            n.container("kube-proxy-ish");
            const r = n.run("rotate", ["--backup", "none", "kube-scheduler", "docker", "-", "-", "--container", "kube-proxy-ish", "--timeout", "5"]);
            expect(r.status, r.stderr).toBe(0);
            expect(n.calls()).toContain("docker restart kube-proxy-ish");
        });
    });
}
