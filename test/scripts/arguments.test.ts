/**
 * Syntax of every node script under dash and bash, and argument validation of the scripts whose
 * behaviour needs the simulated cluster (restart.sh, rotate.sh): bad input must stop them with
 * exit 2 and a usage line before they touch anything.
 */
import { spawnSync } from "child_process";
import { writeFileSync } from "fs";
import { hostname } from "os";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { SCRIPT_NAMES, scriptPath } from "../../src/node/scripts";
import { BASH_POSIX, DASH, runScript, snapshotTree, tempDir } from "./fixtures";

describe("node scripts", () => {
    it("parse under dash (-n) and bash --posix (-n), and never enable xtrace", () => {
        for (const name of [...SCRIPT_NAMES]) {
            for (const shell of [["/usr/bin/dash", "-n"], ["/bin/bash", "--posix", "-n"]]) {
                const r = spawnSync(shell[0], [...shell.slice(1), scriptPath(name)], { encoding: "utf8" });
                expect(r.stderr, `${shell[0]} ${name}`).toBe("");
                expect(r.status).toBe(0);
            }
        }
        for (const file of [...SCRIPT_NAMES.map(scriptPath), join(scriptPath("install"), "..", "lib.sh")]) {
            const text = require("fs").readFileSync(file, "utf8") as string;
            expect(text).not.toMatch(/^\s*set -[a-z]*x|set -o xtrace|\becho\b|\[\[ |\bfunction\b|\blocal\b/m);
        }
    });

    const usage: Array<[Parameters<typeof runScript>[0], string[], string]> = [
        ["restart", [], "unknown component ''"],
        ["restart", ["kube-proxy", "static-pod"], "unknown component 'kube-proxy'"],
        ["restart", ["etcd", "podman"], "unknown strategy 'podman'"],
        // Restart methods' targets go in options, each only with its method.
        ["restart", ["etcd", "docker:etcd"], "unknown strategy 'docker:etcd'"],
        ["restart", ["etcd", "docker", "--unit", "etcd.service"], "--unit is only for strategy systemd"],
        ["restart", ["etcd", "systemd", "--container", "etcd"], "--container is only for strategy docker or crictl"],
        ["restart", ["etcd", "static-pod", "--manifests", "manifests"], "--manifests must be an absolute path"],
        ["restart", ["etcd", "systemd", "--unit", "etcd;reboot"], "is not a unit, container or directory name"],
        ["rotate", ["etcd", "none", "-", "-", "--manifests", "/etc/k8s/manifests"], "--manifests is only for strategy static-pod"],
        ["kubelet-client", ["--strategy", "docker", "--unit", "kubelet", "--endpoint", "10.0.0.1:6443", "--ca", "/etc/kubernetes/pki/ca.crt"], "--unit is only for strategy systemd"],
        ["restart", ["etcd", "static-pod", "--timeout", "soon"], "--timeout must be a number"],
        ["restart", ["etcd", "static-pod", "--timeout"], "--timeout needs a value"],
        ["restart", ["etcd", "static-pod", "extra"], "unexpected argument 'extra'"],
        ["restart", ["--root", "relative/dir", "etcd", "static-pod"], "--root must be an absolute directory"],
        ["rotate", ["etcd", "static-pod"], "are required"],
        ["rotate", ["etcd", "static-pod", "localhost", "/etc/kubernetes/pki/etcd/server.crt"], "endpoint must be host:port or -"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "-"], "a served-cert-file is needed"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/etc/with space.crt"], "must be an absolute node path without blanks"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/etc/kubernetes/pki/etcd/server.crt", "--client-cert", "/a.crt"], "go together"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/x.crt", "--bogus"], "unknown option '--bogus'"],
        ["rotate", ["kubelet", "systemd", "-", "-", "surplus"], "unexpected argument 'surplus'"],
        ["verify-served", ["etcd", "127.0.0.1:2379"], "are required"],
        ["verify-served", ["etcd", "127.0.0.1:2379", "/x.crt", "--cacert", "/ca.crt"], "go together"],
        ["install", ["--keep", "0"], "--keep must be a number >= 1"],
        ["install", ["--backup-dir", "backups"], "--backup-dir must be an absolute path"],
        ["install", ["--frobnicate"], "unknown argument '--frobnicate'"],
        ["restore", ["--nope"], "unknown option '--nope'"],
        ["read-adopted", [], "no files named"],
        // The shared parser (lib.sh parse_args): the same words from every script.
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/x.crt", "--timeout=5"], "unknown option '--timeout=5'"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/x.crt", "--if-needed=yes"], "unknown option '--if-needed=yes'"],
        ["rotate", ["etcd", "static-pod", "127.0.0.1:2379", "/x.crt", "--client-key"], "--client-key needs a value"],
        ["verify-served", ["etcd", "127.0.0.1:2379", "/x.crt", "--timeout", "0"], "--timeout must be a number of seconds >= 1"],
        ["verify-served", ["etcd", "127.0.0.1:2379", "/x.crt", "/y.crt"], "unexpected argument '/y.crt'"],
        ["restore", ["000001-a", "000002-b"], "unexpected argument '000002-b'"],
        ["restore", ["--backup-dir"], "--backup-dir needs a value"],
        ["install", ["stray"], "unexpected argument 'stray'"],
        ["read-adopted", ["etc/kubernetes/pki/ca.crt"], "'etc/kubernetes/pki/ca.crt' must be an absolute node path"],
        ["read-adopted", ["/etc/kubernetes/pki/ca.crt", "--bogus"], "unknown option '--bogus'"],
        ["restart", ["--", "etcd", "static-pod", "--timeout"], "unexpected argument '--timeout'"],
    ];
    for (const [name, args, message] of usage) {
        for (const shell of [[DASH], BASH_POSIX]) {
            it(`${name}.sh ${JSON.stringify(args)} → exit 2: ${message} (${shell.join(" ")})`, () => {
                const root = tempDir("args");
                const before = snapshotTree(root);
                const r = runScript(name, ["--root", root, ...args].filter((a, i) => !(args[0] === "--root" && i < 2)), "", 60_000, shell);
                expect(r.stderr).toContain(message);
                expect(r.stderr).toContain("usage:");
                expect(r.status).toBe(2);
                expect(snapshotTree(root)).toEqual(before);
            });
        }
    }

    it("--help prints the script's usage line on stdout and exits 0, wherever it stands", () => {
        for (const name of SCRIPT_NAMES) {
            for (const shell of [[DASH], BASH_POSIX]) {
                const r = runScript(name, ["--help"], "", 60_000, shell);
                expect(r.status, `${name} ${r.stderr}`).toBe(0);
                expect(r.stdout).toMatch(new RegExp(`^usage: ${name}\\.sh `));
                expect(r.stderr).toBe("");
            }
        }
        const late = runScript("rotate", ["etcd", "static-pod", "-", "-", "-h"]);
        expect(late.status).toBe(0);
        expect(late.stdout).toMatch(/^usage: rotate\.sh /);
    });

    it("options may come before, between and after positionals: verify-served.sh parses all three and reaches its check", () => {
        const root = tempDir("args");
        for (const args of [
            ["--timeout", "1", "etcd", "127.0.0.1:1", "/no.crt"],
            ["etcd", "--timeout", "1", "127.0.0.1:1", "/no.crt"],
            ["etcd", "127.0.0.1:1", "/no.crt", "--timeout", "1"],
        ]) {
            for (const shell of [[DASH], BASH_POSIX]) {
                const v = runScript("verify-served", ["--root", root, ...args], "", 60_000, shell);
                expect(v.stderr.split("\n").slice(0, 2)).toEqual([
                    `verify-served.sh: FAILED on node ${hostname()}, step: verify etcd serves /no.crt at 127.0.0.1:1`,
                    `  failed: etcd: certificate file ${root}/no.crt not found`,
                ]);
                expect(v.status).toBe(1);
            }
        }
    });

    it("read-adopted.sh prints the named PEM files under --root and fails on a missing one", () => {
        const root = tempDir("adopt");
        spawnSync("mkdir", ["-p", join(root, "etc/kubernetes/pki")]);
        const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        writeFileSync(join(root, "etc/kubernetes/pki/ca.crt"), pem);
        const ok = runScript("read-adopted", ["--root", root, "/etc/kubernetes/pki/ca.crt"]);
        expect(ok.status).toBe(0);
        expect(ok.stdout).toBe(pem);
        const key = "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----\n";
        writeFileSync(join(root, "etc/kubernetes/pki/sa.key"), key, { mode: 0o600 });
        const both = runScript("read-adopted", ["--root", root, "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/sa.key"]);
        expect(both.stdout).toBe(pem + key);
        const missing = runScript("read-adopted", ["--root", root, "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/ca.key"]);
        expect(missing.status).toBe(1);
        expect(missing.stdout).toBe("");
        expect(missing.stderr).toBe([
            `read-adopted.sh: FAILED on node ${hostname()}, step: read the files to adopt: /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/ca.key`,
            "  failed: /etc/kubernetes/pki/ca.key: not found",
            "  node now: unchanged: reading changes nothing",
            "  next: adopted CAs and the sa pair are read from this master: make the file exist there as kubeadm wrote it (or adopt from another master), then run `pulumi up` again",
            "",
        ].join("\n"));
    });
});
