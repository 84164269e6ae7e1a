/**
 * The inventory skips key matching only where install.sh already verified the pair: both files
 * byte for byte what the install record lists, and the record written by an install (not by a
 * rollback). Checked on seeded kubeadm trees, with openssl runs counted through a PATH wrapper,
 * under dash (/bin/sh) and bash --posix.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { assembleFiles, inventoryArgs, readInventory, type NodeInventory } from "../../src/drift/inventory";
import { parseInventoryOutput } from "../../src/drift/script-output";
import { INSTALLED_RECORD, KUBEADM_LAYOUT, LAST_INSTALL_NOTE, ROLLBACK_COUNTER } from "../../src/pki/layout";
import type { NodeSpec } from "../../src/spec";
import { describeNeeding } from "../harness/sim/tools";
import { fixturePrerequisites, OPENSSL } from "./fixture-tree";
import { seedNode } from "./kubeadm-tree";

const SCRIPT = path.join(__dirname, "..", "..", "src", "scripts", "inventory.sh");
const missing = fixturePrerequisites();

/** Writes the install record as install.sh does ("sha256 path" per line) for every regular file under etc/kubernetes. */
function recordInstall(root: string, at: Date): void {
    const lines: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = path.posix.join(dir, e.name);
            if (e.isDirectory()) walk(rel);
            else if (e.isFile()) lines.push(`${sha256(fs.readFileSync(path.join(root, rel)))} /${rel}`);
        }
    };
    walk("etc/kubernetes");
    fs.mkdirSync(path.join(root, path.dirname(INSTALLED_RECORD)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(root, INSTALLED_RECORD), lines.join("\n") + "\n");
    fs.writeFileSync(path.join(root, LAST_INSTALL_NOTE), "none\n");
    fs.utimesSync(path.join(root, LAST_INSTALL_NOTE), at, at);
}

function sha256(b: Buffer): string {
    return require("node:crypto").createHash("sha256").update(b).digest("hex");
}

const node = (name: string, root: string): NodeSpec => ({ name, role: "master", advertiseAddress: "10.0.0.1", transport: "local", localRoot: root });
const matches = (inv: NodeInventory) => Object.fromEntries(inv.files.filter((f) => f.keyMatches !== undefined).map((f) => [f.key ?? f.path, f.keyMatches]));

describeNeeding(missing, "inventory and the install record", () => {
    let dir: string;
    let wrap: string;
    let log: string;
    const savedPath = process.env.PATH;

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-inv-record-"));
        // An openssl that logs its first argument, so the test counts what the script started.
        wrap = path.join(dir, "bin");
        log = path.join(dir, "openssl.log");
        fs.mkdirSync(wrap);
        fs.writeFileSync(path.join(wrap, "openssl"), `#!/bin/sh\nprintf '%s\\n' "$1" >>'${log}'\nexec ${OPENSSL} "$@"\n`, { mode: 0o755 });
        process.env.PATH = `${wrap}:${savedPath}`;
    }, 60_000);
    afterAll(() => {
        process.env.PATH = savedPath;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const counted = async (n: NodeSpec) => {
        fs.rmSync(log, { force: true });
        const inv = await readInventory(n, KUBEADM_LAYOUT);
        const runs = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
        return { inv, runs };
    };

    it("matches every key without a record, and skips only the pairs an install verified", async () => {
        const root = path.join(dir, "m1");
        seedNode(root, { name: "m1", ip: "10.0.0.1", role: "master" });
        const before = await counted(node("m1", root));
        expect(before.inv.reachable, before.inv.error).toBe(true);
        const all = matches(before.inv);
        expect(Object.values(all).every((m) => m === true)).toBe(true);
        expect(Object.keys(all)).toEqual(expect.arrayContaining(["apiserver.crt", "sa.pub", "admin.conf", "kubelet.conf", "kubelet-client-current"]));
        // 10 leaf/CA pairs + sa + 4 embedded kubeconfig keys + the kubelet .pem: all plain PKCS#8
        // keys, whose public halves the script's awk reads itself (no openssl per key).
        expect(before.runs).toEqual([]);

        recordInstall(root, new Date());
        const after = await counted(node("m1", root));
        expect(matches(after.inv)).toEqual(all);
        expect(after.runs).toEqual([]);
        expect(after.inv.installed?.["/etc/kubernetes/pki/apiserver.key"]).toBe(after.inv.files.find((f) => f.key === "apiserver.key")!.sha256);
    }, 60_000);

    it("matches a key again once its bytes differ from the record, and after a rollback rewrote the record", async () => {
        const root = path.join(dir, "m2");
        seedNode(root, { name: "m2", ip: "10.0.0.1", role: "master", wrongKey: ["apiserver"] });
        const installedAt = new Date(Date.now() - 60_000);
        recordInstall(root, installedAt);
        // The record now lists the mismatched apiserver pair as if installed: trusted, it hides it…
        const trusted = await counted(node("m2", root));
        expect(matches(trusted.inv)["apiserver.crt"]).toBe(true);
        // …which is only possible when install.sh (which refuses such a pair) did not write it: a
        // rollback. rotate.sh bumps the counter after the last install note, so the record is not trusted.
        fs.writeFileSync(path.join(root, ROLLBACK_COUNTER), "1\n");
        const rolled = await counted(node("m2", root));
        expect(rolled.inv.rollbacks).toBe(1);
        expect(matches(rolled.inv)["apiserver.crt"]).toBe(false);
        expect(rolled.runs).toEqual([]);
        // A later install (its note newer than the counter) makes the record count again; a key
        // edited after it is matched again.
        recordInstall(root, new Date(Date.now() + 60_000));
        fs.copyFileSync(path.join(root, "etc/kubernetes/pki/ca.key"), path.join(root, "etc/kubernetes/pki/front-proxy-client.key"));
        const edited = await counted(node("m2", root));
        expect(matches(edited.inv)).toMatchObject({ "apiserver.crt": true, "front-proxy-client.crt": false, "ca.crt": true });
        expect(edited.runs).toEqual([]);
    }, 60_000);

    it("reads the public half of PKCS#8, SEC1 and PKCS#1 keys itself, leaves other keys to openssl, prints no key", async () => {
        const root = path.join(dir, "m3");
        seedNode(root, { name: "m3", ip: "10.0.0.1", role: "master", wrongKey: ["apiserver"] });
        const pki = path.join(root, "etc/kubernetes/pki");
        const ssl = (...args: string[]) => spawnSync(OPENSSL, args, { encoding: "utf8" });
        // SEC1 (EC PRIVATE KEY) and PKCS#1 (RSA PRIVATE KEY), as kubeadm and the tls provider write them.
        ssl("ec", "-in", path.join(pki, "ca.key"), "-out", path.join(pki, "ca.key"));
        ssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path.join(pki, "sa.key"));
        ssl("pkey", "-in", path.join(pki, "sa.key"), "-pubout", "-out", path.join(pki, "sa.pub"));
        ssl("rsa", "-traditional", "-in", path.join(pki, "sa.key"), "-out", path.join(pki, "sa.key"));
        expect(fs.readFileSync(path.join(pki, "ca.key"), "utf8")).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
        expect(fs.readFileSync(path.join(pki, "sa.key"), "utf8")).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
        // An Ed25519 key (no public half in its PKCS#8) goes to openssl.
        ssl("genpkey", "-algorithm", "ED25519", "-out", path.join(pki, "front-proxy-client.key"));
        const { inv, runs } = await counted(node("m3", root));
        expect(inv.reachable, inv.error).toBe(true);
        expect(matches(inv)).toMatchObject({ "ca.crt": true, "sa.pub": true, "apiserver.crt": false, "front-proxy-client.crt": false, "etcd/ca.crt": true });
        expect(runs).toEqual(["pkey"]);
        // Only public fields leave the node: no private key's base64 appears in the output.
        const out = spawnSync("/bin/sh", [SCRIPT, ...inventoryArgs(node("m3", root), KUBEADM_LAYOUT, false)], { encoding: "utf8" }).stdout;
        for (const rel of ["ca.key", "sa.key", "apiserver.key", "front-proxy-client.key"]) {
            const body = fs.readFileSync(path.join(pki, rel), "utf8").split("\n").filter((l) => l && !l.startsWith("-----"));
            for (const line of body) expect(out).not.toContain(line.slice(0, 40));
        }
        expect(out).not.toMatch(/PRIVATE KEY/);
    }, 60_000);

    it("sa.pub holding two keys (a service-account rotation): every key as SPKI, sa.key's public half, pair judged by the first", async () => {
        const root = path.join(dir, "m4");
        seedNode(root, { name: "m4", ip: "10.0.0.1", role: "master" });
        const pki = path.join(root, "etc/kubernetes/pki");
        const ssl = (...args: string[]) => spawnSync(OPENSSL, args, { encoding: "utf8" });
        const spki = (key: string) => ssl("pkey", "-in", key, "-pubout").stdout;
        const oldKey = path.join(pki, "sa.key");
        const newKey = path.join(dir, "sa-new.key");
        ssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", oldKey);
        ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", newKey);
        // Old key first in PKCS#1 form ("RSA PUBLIC KEY", as some tools write it), the new one as SPKI.
        const pkcs1 = ssl("rsa", "-in", oldKey, "-RSAPublicKey_out").stdout;
        fs.writeFileSync(path.join(pki, "sa.pub"), pkcs1 + spki(newKey));
        const { inv } = await counted(node("m4", root));
        const pub = inv.files.find((f) => f.key === "sa.pub")!;
        const key = inv.files.find((f) => f.key === "sa.key")!;
        expect(pub.publicKeys).toEqual([spki(oldKey), spki(newKey)]);
        expect(key.publicKey).toBe(spki(oldKey));
        expect(pub.keyMatches).toBe(true);
        // sa.key swapped to the new key: the first key of sa.pub is no longer its own.
        fs.copyFileSync(newKey, oldKey);
        const swapped = (await counted(node("m4", root))).inv;
        expect(swapped.files.find((f) => f.key === "sa.key")!.publicKey).toBe(spki(newKey));
        expect(swapped.files.find((f) => f.key === "sa.pub")!.keyMatches).toBe(false);
    }, 60_000);

    it("prints the same records under dash and bash --posix", () => {
        const root = path.join(dir, "m1");
        const args = inventoryArgs(node("m1", root), KUBEADM_LAYOUT, false);
        const outputs = [["/usr/bin/dash"], ["/bin/bash", "--posix"]].map(([sh, ...opts]) => {
            const r = spawnSync(sh, [...opts, SCRIPT, ...args], { encoding: "utf8" });
            expect(r.stderr, sh).toBe("");
            expect(r.status).toBe(0);
            const raw = parseInventoryOutput(r.stdout);
            expect(raw.complete).toBe(true);
            return { files: assembleFiles(raw, KUBEADM_LAYOUT), pairs: [...raw.pairs], installed: [...raw.installed] };
        });
        expect(outputs[1]).toEqual(outputs[0]);
        expect(outputs[0].files.length).toBeGreaterThan(20);
    }, 60_000);
});
