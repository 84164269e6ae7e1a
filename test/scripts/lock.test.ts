/**
 * The run lock (lib.sh take_lock): a --root node locks its own directory, so runs as a non-root
 * user work even where root left a /run/lock/kube-pki.lock behind, and a real node's lock file
 * that cannot be opened gives a clear message. Judged with util-linux flock and restore.sh,
 * which takes the lock before it looks for a backup.
 */
import { spawn, spawnSync } from "child_process";
import { mkdirSync } from "fs";
import { dirname, join } from "path";
import { afterEach, describe, expect, it } from "vitest";
import { scriptPath } from "../../src/node/scripts";
import { describeNeeding, missingTools, userNamespacesMissing } from "../harness/sim/tools";
import { DASH, runScript, snapshotTree, tempDir } from "./fixtures";

const FLOCK = "/usr/bin/flock";
const NO_BACKUP = "no backup: /var/lib/kube-pki/backups/latest does not exist";

/** A --root node whose backup store exists but is empty: restore.sh takes the lock, then fails. */
function nodeDir(): string {
    const root = tempDir("lock");
    mkdirSync(join(root, "var/lib/kube-pki/backups"), { recursive: true });
    return root;
}

/** Lock holders, each its own process group (flock and the sleep it waits for). */
const holders: number[] = [];
const release = (pid: number) => {
    try {
        process.kill(-pid, "SIGKILL");
    } catch {
        // already gone
    }
};
afterEach(() => {
    for (const pid of holders.splice(0)) release(pid);
});

/** Holds flock on `target` until released; resolves once the lock is held. */
async function holdLock(target: string): Promise<ReturnType<typeof spawn>> {
    const h = spawn(FLOCK, [target, "/bin/sh", "-c", "echo held; exec sleep 60"], { stdio: ["ignore", "pipe", "inherit"], detached: true });
    holders.push(h.pid!);
    await new Promise<void>((resolve, reject) => {
        h.stdout!.on("data", (d: Buffer) => (d.toString().includes("held") ? resolve() : undefined));
        h.on("exit", (code) => reject(new Error(`flock ${target} exited ${code}`)));
    });
    return h;
}

describeNeeding(missingTools({ flock: FLOCK, dash: DASH }), "run lock", () => {
    it("a --root run locks its directory: a second run on it waits, another root does not, and no file is added", async () => {
        const a = nodeDir();
        const b = nodeDir();
        const before = snapshotTree(a);
        const holder = await holdLock(a);

        const other = runScript("restore", ["--root", b]);
        expect(other.stderr).toContain(NO_BACKUP);
        expect(other.ms).toBeLessThan(10_000);

        const waiting = spawn(DASH, [scriptPath("restore"), "--root", a], { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        waiting.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        // "close", not "exit": stderr may still hold unread data when the process has exited (a flake under load).
        const exited = new Promise<number | null>((resolve) => waiting.on("close", resolve));
        await new Promise((r) => setTimeout(r, 1500));
        expect(waiting.exitCode).toBeNull(); // still waiting for the lock
        release(holder.pid!);
        expect(await exited).toBe(1);
        expect(stderr).toContain(NO_BACKUP);
        expect(snapshotTree(a)).toEqual(before);
    });
});

// A private /run/lock (user + mount namespace) where kube-pki.lock cannot be opened, as a
// root-owned 0600 file is for a non-root user; a directory stands in because namespace root may open any file.
describeNeeding(missingTools({ flock: FLOCK, dash: DASH }) ?? userNamespacesMissing(), "run lock with an unopenable /run/lock/kube-pki.lock", () => {
    const inPrivateRunLock = (script: string, ...args: string[]) =>
        spawnSync("/usr/bin/unshare", ["-r", "-m", DASH, "-c",
            `mount -t tmpfs kpki /run/lock && mkdir /run/lock/kube-pki.lock && ${script}`, "kube-pki-test", ...args], { encoding: "utf8", timeout: 30_000 });

    it("a --root run does not use it", () => {
        const root = nodeDir();
        const r = inPrivateRunLock(`exec ${DASH} "$1" --root "$2"`, scriptPath("restore"), root);
        expect(r.stderr).toContain(NO_BACKUP);
        expect(r.status).toBe(1);
    });

    it("a node run (no --root) stops with a message naming the lock file, its owner and the fix", () => {
        const r = inPrivateRunLock(`. "$1" && take_lock && echo locked`, join(dirname(scriptPath("restore")), "lib.sh"));
        expect(r.stdout).not.toContain("locked");
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/cannot open the run lock \/run\/lock\/kube-pki\.lock as \S+ \(owner: \S+\); run kube-pki on this node as root, or as the owner of that file/);
        expect(r.stderr).not.toContain("cannot create"); // no raw shell error ahead of it
    });
});
