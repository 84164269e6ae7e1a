/**
 * signing-file.sh on a temp root with the kubeadm controller-manager manifest the sim uses and the
 * crictl stand-in (a static pod gets a new container when its manifest changes; while "dead" one
 * started again never runs). Judges: the manifest's bytes (one line changed, or as it was), the
 * signing file's certificate (openssl), the backup, and what the script says. dash and bash --posix.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { controllerManagerManifest } from "../harness/sim/manifests";
import { BASH_POSIX, DASH, TestCa, tempDir } from "./fixtures";
import { standIns } from "./stand-ins";

const PKI = "/etc/kubernetes/pki";
const MANIFESTS = "/etc/kubernetes/manifests";
const SIGNING = `${PKI}/kube-pki-ca-signing.crt`;
const FLAGS = ["--ca-cert", `${PKI}/ca.crt`, "--ca-key", `${PKI}/ca.key`, "--signing", SIGNING];

const oldCa = new TestCa("kubernetes");
const newCa = new TestCa("kubernetes");

function node(shell: readonly string[], caCrt: string, caKey: string, manifest?: string) {
    const root = tempDir("signing");
    mkdirSync(join(root, PKI), { recursive: true });
    mkdirSync(join(root, MANIFESTS), { recursive: true });
    writeFileSync(join(root, PKI, "ca.crt"), caCrt);
    writeFileSync(join(root, PKI, "ca.key"), caKey, { mode: 0o600 });
    const text = manifest ?? controllerManagerManifest({ clusterName: "kubernetes", advertiseAddress: "10.0.0.11", kubernetesVersion: "1.31.0" } as Parameters<typeof controllerManagerManifest>[0]);
    writeFileSync(join(root, MANIFESTS, "kube-controller-manager.yaml"), text, { mode: 0o600 });
    const tools = standIns(join(root, MANIFESTS));
    const run = (action: string, extra: string[] = []) =>
        spawnSync(shell[0], [...shell.slice(1), scriptPath("signing-file"), "--root", root, "--timeout", "5", ...FLAGS, ...extra, action], { env: tools.env, encoding: "utf8", timeout: 60_000 });
    const read = (p: string) => readFileSync(join(root, p), "utf8");
    // The kubelet has seen the manifest once: its container runs (generation 1).
    spawnSync("crictl", ["ps", "--name", "^kube-controller-manager$", "-q"], { env: tools.env });
    return { root, run, read, text, tools, manifest: () => read(`${MANIFESTS}/kube-controller-manager.yaml`) };
}

const lineDiff = (a: string, b: string) => {
    const x = a.split("\n");
    const y = b.split("\n");
    return x.length === y.length ? x.map((l, i) => (l === y[i] ? undefined : [l, y[i]])).filter(Boolean) : "lengths differ";
};

for (const shell of [[DASH], BASH_POSIX] as const) {
    describe(`signing-file.sh (${shell.join(" ")})`, () => {
        it("point: writes the first certificate of ca.crt, changes only the flag's line, backs up the manifest, and waits for a new container", () => {
            const n = node(shell, oldCa.ca.cert + newCa.ca.cert, oldCa.ca.key);
            const r = n.run("point");
            expect(r.status, r.stderr).toBe(0);
            expect(new X509Certificate(n.read(SIGNING)).fingerprint256).toBe(new X509Certificate(oldCa.ca.cert).fingerprint256);
            expect(n.read(SIGNING).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
            expect(statSync(join(n.root, SIGNING)).mode & 0o777).toBe(0o644);
            expect(lineDiff(n.text, n.manifest())).toEqual([[
                `        - --cluster-signing-cert-file=${PKI}/ca.crt`, `        - --cluster-signing-cert-file=${SIGNING}`,
            ]]);
            const backups = join(n.root, "/var/lib/kube-pki/backups/manifests");
            expect(statSync(backups).mode & 0o777).toBe(0o700);
            const [backup] = readdirSync(backups);
            expect(readFileSync(join(backups, backup), "utf8")).toBe(n.text);
            expect(r.stdout).toContain("kube-controller-manager runs again (container c1kube-controller-manager -> c2kube-controller-manager)");
            // Nothing is left staged beside the manifests directory.
            expect(readdirSync(join(n.root, "/etc/kubernetes")).filter((f) => f.startsWith(".kube-pki"))).toEqual([]);

            const again = n.run("point");
            expect(again.status, again.stderr).toBe(0);
            expect(again.stdout).toContain(`kube-controller-manager already signs with ${SIGNING}`);
            expect(readdirSync(backups)).toHaveLength(1);
        });

        it("unpoint: refused while ca.crt holds two certificates; with one of the key the flag goes back to ca.crt", () => {
            const n = node(shell, newCa.ca.cert + oldCa.ca.cert, newCa.ca.key);
            expect(n.run("point").status).toBe(0);
            const pointed = n.manifest();
            const refused = n.run("unpoint");
            expect(refused.status).toBe(1);
            expect(refused.stderr).toContain(`${PKI}/ca.crt holds 2 certificate(s), not exactly one of ${PKI}/ca.key`);
            expect(n.manifest()).toBe(pointed);

            writeFileSync(join(n.root, PKI, "ca.crt"), newCa.ca.cert);
            const r = n.run("unpoint");
            expect(r.status, r.stderr).toBe(0);
            expect(n.manifest()).toBe(n.text);
        });

        it("a controller-manager that does not run on the new flag: the old manifest goes back and the report says so", () => {
            const n = node(shell, oldCa.ca.cert + newCa.ca.cert, oldCa.ca.key);
            n.tools.kill();
            const r = n.run("point");
            expect(r.status).toBe(1);
            expect(n.manifest()).toBe(n.text);
            expect(r.stderr).toContain(`kube-controller-manager did not run for 3 s within 5 s after --cluster-signing-cert-file=${SIGNING}`);
            expect(r.stderr).toMatch(/manifest: put back from \/var\/lib\/kube-pki\/backups\/manifests\/kube-controller-manager\.yaml\./);
        });

        it("refuses, changing nothing: a signing key that is not kube-pki's, a cert flag naming another file, a first certificate not of the key", () => {
            const foreignKey = node(shell, oldCa.ca.cert, oldCa.ca.key, undefined);
            writeFileSync(join(foreignKey.root, MANIFESTS, "kube-controller-manager.yaml"), foreignKey.text.replace(`--cluster-signing-key-file=${PKI}/ca.key`, "--cluster-signing-key-file=/srv/signer.key"));
            const before = foreignKey.manifest();
            const r1 = foreignKey.run("point");
            expect(r1.status).toBe(1);
            expect(r1.stderr).toContain("kube-controller-manager.yaml names --cluster-signing-key-file '/srv/signer.key'; kube-pki needs it once, as /etc/kubernetes/pki/ca.key");
            expect(foreignKey.manifest()).toBe(before);
            expect(existsSync(join(foreignKey.root, SIGNING))).toBe(false);

            const otherCert = node(shell, oldCa.ca.cert, oldCa.ca.key);
            writeFileSync(join(otherCert.root, MANIFESTS, "kube-controller-manager.yaml"), otherCert.text.replace(`--cluster-signing-cert-file=${PKI}/ca.crt`, "--cluster-signing-cert-file=/srv/signer.crt"));
            const r2 = otherCert.run("point");
            expect(r2.status).toBe(1);
            expect(r2.stderr).toContain("names --cluster-signing-cert-file '/srv/signer.crt'; kube-pki needs it once, as /etc/kubernetes/pki/ca.crt or /etc/kubernetes/pki/kube-pki-ca-signing.crt");

            const wrongFirst = node(shell, newCa.ca.cert + oldCa.ca.cert, oldCa.ca.key);
            const r3 = wrongFirst.run("point");
            expect(r3.status).toBe(1);
            expect(r3.stderr).toContain("the first certificate of /etc/kubernetes/pki/ca.crt is not the certificate of /etc/kubernetes/pki/ca.key");
            expect(wrongFirst.manifest()).toBe(wrongFirst.text);
            expect(existsSync(join(wrongFirst.root, SIGNING))).toBe(false);
            // Nothing printed carries key material.
            for (const r of [r1, r2, r3]) expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
        });
    });
}
