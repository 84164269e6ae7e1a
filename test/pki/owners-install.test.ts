/**
 * kube-pki:layout.owners on a node: the plan's owner for etcd/server.key, carried in a real
 * bundle, makes install.sh (run as root against a temporary --root) leave the key owned by
 * that user, who can then read it while a key without an owner stays root's. A throwaway
 * system user stands in for etcd; it exists only while this file runs.
 */
import { execFileSync, spawnSync } from "child_process";
import { chmodSync, chownSync, statSync } from "fs";
import { join } from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import { serializeBundle, type BundleFile } from "../../src/node/bundle-format";
import { planCluster, type PlannedFile } from "../../src/pki/plan";
import { fakeEnv, withConfig } from "../config/helpers";
import { OPENSSL, modeOf, runScript, tempDir, TestCa } from "../scripts/fixtures";

const isRoot = process.getuid?.() === 0;
// install.sh chowns only as root (a non-root run leaves files as created), and creating the user needs root.
const USER = `kpki-etcd-${process.pid}`;
let uid = -1;
let gid = -1;

beforeAll(() => {
    if (!isRoot) return;
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { stdio: "pipe" });
    uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }));
    gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }));
});

afterAll(() => {
    if (!isRoot) return;
    spawnSync("userdel", [USER], { stdio: "ignore" });
    spawnSync("groupdel", [USER], { stdio: "ignore" });
});

/** Can the throwaway user read this private key? (openssl, as that user.) */
function readableBy(path: string): boolean {
    return spawnSync("runuser", ["-u", USER, "--", OPENSSL, "pkey", "-in", path, "-noout"], { stdio: "ignore" }).status === 0;
}

describe.skipIf(!isRoot)("owner on a node (install.sh as root)", () => {
    it("etcd/server.key ends owned by the configured user, who can read it; a change of owner on the node is repaired", () => {
        const spec = parseClusterSpec(withConfig({ layout: { owners: { "etcd/server.key": `${USER}:${USER}` } } }), fakeEnv());
        const files = planCluster(spec).nodes["master-1"].files;
        const byKey = (key: string) => files.find((f) => f.key === key)!;
        const ca = new TestCa("etcd-ca");
        const server = ca.issue({ cn: "master-1", eku: "serverAuth,clientAuth", sans: ["DNS:master-1", "IP:10.0.0.11"] });
        const peer = ca.issue({ cn: "master-1", eku: "serverAuth,clientAuth", sans: ["DNS:master-1", "IP:10.0.0.11"] });
        const content: Record<string, string> = {
            "etcd/ca.crt": ca.ca.cert, "etcd/server.crt": server.cert, "etcd/server.key": server.key, "etcd/peer.crt": peer.cert, "etcd/peer.key": peer.key,
        };
        // Path, mode and owner as the plan gives them; content made by openssl.
        const bundleFile = (f: PlannedFile): BundleFile => ({ path: f.path, mode: f.mode, ...(f.owner ? { owner: f.owner } : {}), content: content[f.key] });
        const planned = Object.keys(content).map(byKey);
        expect(planned.map((f) => [f.key, f.owner])).toEqual([
            ["etcd/ca.crt", undefined], ["etcd/server.crt", undefined], ["etcd/server.key", `${USER}:${USER}`], ["etcd/peer.crt", undefined], ["etcd/peer.key", undefined],
        ]);
        const text = serializeBundle({
            files: planned.map(bundleFile),
            checks: [{ cert: byKey("etcd/server.crt").path, key: byKey("etcd/server.key").path, ca: byKey("etcd/ca.crt").path }],
        });

        const root = tempDir("owner");
        chmodSync(root, 0o755); // the user must get through the temporary root to its key
        const first = runScript("install", ["--root", root], text);
        expect(first.stderr).toBe("");
        expect(first.status).toBe(0);
        const key = join(root, byKey("etcd/server.key").path);
        const peerKey = join(root, byKey("etcd/peer.key").path);
        expect([statSync(key).uid, statSync(key).gid]).toEqual([uid, gid]);
        expect(modeOf(key)).toBe("0600");
        expect([statSync(peerKey).uid, statSync(peerKey).gid]).toEqual([0, 0]);
        expect(readableBy(key)).toBe(true);
        expect(readableBy(peerKey)).toBe(false);

        // Same bundle again: content, mode and owner equal, nothing installed.
        const again = runScript("install", ["--root", root], text);
        expect(again.status).toBe(0);
        expect(again.stdout).toContain(`unchanged ${byKey("etcd/server.key").path} `);

        // Someone chowned the key back to root: the next install gives it back to its user.
        chownSync(key, 0, 0);
        const repair = runScript("install", ["--root", root], text);
        expect(repair.status).toBe(0);
        expect(repair.stdout).toContain(`installed ${byKey("etcd/server.key").path} `);
        expect([statSync(key).uid, statSync(key).gid]).toEqual([uid, gid]);
        expect(readableBy(key)).toBe(true);
    });
});
