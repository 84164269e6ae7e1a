/**
 * manifests.sh on a temp root: `save` copies the static pod manifests kube-pki restarts into
 * /var/lib/kube-pki/manifests (dir 0700, files 0600), refreshes a changed one, keeps a copy whose
 * manifest is gone; `restore` puts back only MISSING manifests, never one on disk, and fails naming
 * a missing manifest without a copy. Each case runs under dash and bash --posix.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { BASH_POSIX, DASH, modeOf, runScript, snapshotTree, tempDir } from "./fixtures";

const MANIFESTS = "/etc/kubernetes/manifests";
const COPIES = "/var/lib/kube-pki/manifests";

function rootWith(manifests: Record<string, string>): string {
    const root = tempDir("kp-manifests-");
    mkdirSync(join(root, MANIFESTS), { recursive: true });
    for (const [name, text] of Object.entries(manifests)) writeFileSync(join(root, MANIFESTS, name), text, { mode: 0o600 });
    return root;
}

for (const [shellName, shell] of [["dash", [DASH]], ["bash --posix", BASH_POSIX]] as const) {
    const run = (args: string[]) => runScript("manifests", args, "", 30_000, [...shell]);

    describe(`manifests.sh under ${shellName}`, () => {
        it("save copies the four control-plane manifests only, dir 0700 and files 0600, and says what it saved", () => {
            const root = rootWith({ "etcd.yaml": "etcd v1\n", "kube-apiserver.yaml": "api v1\n", "kube-controller-manager.yaml": "cm\n", "kube-scheduler.yaml": "sched\n", "other.yaml": "x\n" });
            const r = run(["--root", root, "save"]);
            expect(r.status, r.stderr).toBe(0);
            expect(readdirSync(join(root, COPIES)).sort()).toEqual(["etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"]);
            expect(modeOf(join(root, COPIES))).toBe("0700");
            for (const f of readdirSync(join(root, COPIES))) expect(modeOf(join(root, COPIES, f))).toBe("0600");
            expect(readFileSync(join(root, COPIES, "etcd.yaml"), "utf8")).toBe("etcd v1\n");
            expect(r.stdout).toMatch(/^saved \/var\/lib\/kube-pki\/manifests\/etcd\.yaml sha256:[0-9a-f]{64}$/m);
        });

        it("save refreshes a changed manifest, leaves equal copies as they are and keeps the copy of a manifest that is gone", () => {
            const root = rootWith({ "etcd.yaml": "etcd v1\n", "kube-apiserver.yaml": "api v1\n" });
            expect(run(["--root", root, "save"]).status).toBe(0);
            writeFileSync(join(root, MANIFESTS, "kube-apiserver.yaml"), "api v2 (upgraded image)\n");
            
            const before = snapshotTree(join(root, COPIES))["/etcd.yaml"];
            const r = run(["--root", root, "save"]);
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout).toMatch(/^unchanged .*etcd\.yaml/m);
            expect(r.stdout).toMatch(/^saved .*kube-apiserver\.yaml/m);
            expect(snapshotTree(join(root, COPIES))["/etcd.yaml"]).toBe(before);
            expect(readFileSync(join(root, COPIES, "kube-apiserver.yaml"), "utf8")).toBe("api v2 (upgraded image)\n");
            // A wiped manifest dir: the copies stay.
            const wiped = rootWith({});
            mkdirSync(join(wiped, COPIES), { recursive: true });
            writeFileSync(join(wiped, COPIES, "etcd.yaml"), "kept\n");
            expect(run(["--root", wiped, "save"]).status).toBe(0);
            expect(readFileSync(join(wiped, COPIES, "etcd.yaml"), "utf8")).toBe("kept\n");
            expect(readdirSync(join(wiped, COPIES)).filter((f) => f.includes("tmp"))).toEqual([]);
        });

        it("restore puts back only missing manifests (0600) and never overwrites a newer one on disk", () => {
            const root = rootWith({ "kube-apiserver.yaml": "api v1\n", "etcd.yaml": "etcd v1\n" });
            expect(run(["--root", root, "save"]).status).toBe(0);
            writeFileSync(join(root, MANIFESTS, "kube-apiserver.yaml"), "api v2 (newer than the copy)\n");
            rmSync(join(root, "etc/kubernetes"), { recursive: true });
            mkdirSync(join(root, MANIFESTS), { recursive: true });
            writeFileSync(join(root, MANIFESTS, "kube-apiserver.yaml"), "api v3 (put back by hand)\n");
            const r = run(["--root", root, "restore", "etcd", "kube-apiserver"]);
            expect(r.status, r.stderr).toBe(0);
            expect(readFileSync(join(root, MANIFESTS, "etcd.yaml"), "utf8")).toBe("etcd v1\n");
            expect(modeOf(join(root, MANIFESTS, "etcd.yaml"))).toBe("0600");
            expect(readFileSync(join(root, MANIFESTS, "kube-apiserver.yaml"), "utf8")).toBe("api v3 (put back by hand)\n");
            expect(r.stdout).toMatch(/^restored \/etc\/kubernetes\/manifests\/etcd\.yaml from /m);
            expect(r.stdout).toMatch(/^present \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml/m);
        });

        it("restore recreates a wiped manifests dir; a missing manifest without a copy fails naming it and the kubeadm commands", () => {
            const root = rootWith({ "etcd.yaml": "etcd v1\n" });
            expect(run(["--root", root, "save"]).status).toBe(0);
            rmSync(join(root, "etc/kubernetes"), { recursive: true });
            const r = run(["--root", root, "restore", "etcd", "kube-scheduler"]);
            expect(r.status).toBe(1);
            expect(readFileSync(join(root, MANIFESTS, "etcd.yaml"), "utf8")).toBe("etcd v1\n");
            expect(existsSync(join(root, MANIFESTS, "kube-scheduler.yaml"))).toBe(false);
            expect(r.stderr).toContain("no copy of kube-scheduler in /var/lib/kube-pki/manifests");
            expect(r.stderr).toContain("kubeadm init phase control-plane");
        });

        it("usage errors exit 2 and touch nothing; --manifests names another directory", () => {
            const root = rootWith({ "etcd.yaml": "e\n" });
            const before = snapshotTree(root);
            for (const args of [["--root", root], ["--root", root, "keep"], ["--root", root, "restore"], ["--root", root, "restore", "kubelet"], ["--root", root, "save", "etcd"], ["--root", root, "--manifests", "rel/dir", "save"]]) {
                const r = run(args);
                expect(r.status, args.join(" ")).toBe(2);
                expect(r.stderr).toContain("usage: manifests.sh");
            }
            expect(snapshotTree(root)).toEqual(before);
            mkdirSync(join(root, "srv/manifests"), { recursive: true });
            writeFileSync(join(root, "srv/manifests/kube-scheduler.yaml"), "s\n");
            expect(run(["--root", root, "--manifests", "/srv/manifests", "save"]).status).toBe(0);
            expect(readdirSync(join(root, COPIES))).toEqual(["kube-scheduler.yaml"]);
        });
    });
}
