/**
 * The node kit: content-addressed id, the activation that checks a shipped copy before moving it
 * into place (and refuses an altered file or a wrong id), the guard every command starts with,
 * pruning, and the inventory's kit record. Commands run for real under dash and bash --posix in a
 * temp directory standing in for the node's "/".
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { NodeInventory } from "../../src/drift/inventory";
import { parseInventoryOutput } from "../../src/drift/script-output";
import { kitReshipsFrom } from "../../src/findings";
import {
    activationCommand, buildKit, currentKit, KIT_DIR, KIT_INCOMING, KIT_MISSING_EXIT, kitCommand, kitMissingMessage, type Kit,
} from "../../src/node/kit";
import { stageKit } from "../../src/node/kit-stage";
import { SCRIPTS_DIR } from "../../src/node/scripts";
import { snapshotTree, tempDir } from "../scripts/fixtures";

const SHELLS: string[][] = [["/usr/bin/dash", "-c"], ["/bin/bash", "--posix", "-c"]];

function sh(shell: string[], command: string) {
    return spawnSync(shell[0], [...shell.slice(1), command], { encoding: "utf8", timeout: 30_000 });
}

/** This package's scripts with `extra` appended to lib.sh: another version's kit. */
function variantKit(extra: string): Kit {
    const dir = tempDir("kit-src");
    for (const f of fs.readdirSync(SCRIPTS_DIR)) fs.copyFileSync(path.join(SCRIPTS_DIR, f), path.join(dir, f));
    fs.appendFileSync(path.join(dir, "lib.sh"), extra);
    return buildKit(dir);
}

/** What the provider's copy leaves on the node: the staged folder under .incoming/<id>. */
function ship(root: string, kit: Kit, cache: string): string {
    const staged = stageKit(kit, cache);
    const incoming = path.join(root, KIT_INCOMING, kit.id);
    fs.mkdirSync(path.dirname(incoming), { recursive: true });
    fs.cpSync(staged, incoming, { recursive: true });
    return incoming;
}

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("kit id", () => {
    it("is the SHA-256 of a sorted MANIFEST of every node script but inventory.sh; stable and content-addressed", () => {
        const kit = buildKit();
        expect(buildKit().id).toBe(kit.id);
        expect(currentKit().id).toBe(kit.id);
        expect(kit.id).toMatch(/^[0-9a-f]{64}$/);
        const names = kit.files.map((f) => f.name);
        expect(names).toEqual([...names].sort());
        expect(names).toContain("lib.sh");
        expect(names).toContain("kit-activate.sh");
        expect(names).toContain("rotate.sh");
        expect(names).not.toContain("inventory.sh");
        // The format `sha256sum -c` reads; the id hashes exactly these bytes.
        const dir = tempDir("kit-manifest");
        for (const f of kit.files) fs.writeFileSync(path.join(dir, f.name), f.content);
        fs.writeFileSync(path.join(dir, "MANIFEST"), kit.manifest);
        expect(spawnSync("sha256sum", ["-c", "MANIFEST"], { cwd: dir }).status).toBe(0);
        expect(spawnSync("sha256sum", [path.join(dir, "MANIFEST")], { encoding: "utf8" }).stdout.split(" ")[0]).toBe(kit.id);
        // One changed byte in one file: another id.
        expect(variantKit("#").id).not.toBe(kit.id);
    });

    it("stages a folder named by the id with exactly the kit, rewriting a folder edited by hand", () => {
        const kit = buildKit();
        const cache = tempDir("kit-cache");
        const dir = stageKit(kit, cache);
        expect(path.basename(dir)).toBe(kit.id);
        expect(fs.readdirSync(dir).sort()).toEqual([...kit.files.map((f) => f.name), "MANIFEST"].sort());
        fs.appendFileSync(path.join(dir, "rotate.sh"), "echo tampered\n");
        expect(stageKit(kit, cache)).toBe(dir);
        expect(fs.readFileSync(path.join(dir, "rotate.sh"))).toEqual(kit.files.find((f) => f.name === "rotate.sh")!.content);
    });
});

for (const shell of SHELLS) {
    describe(`activation and guard under ${shell.slice(0, -1).join(" ")}`, () => {
        const kit = buildKit();

        it("moves a checked copy into place with private modes; commands then run from it", () => {
            const root = tempDir("kit-node");
            const cache = tempDir("kit-cache");
            const incoming = ship(root, kit, cache);
            const r = sh(shell, activationCommand(kit.id, "master-1", root));
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toBe(`kit ${kit.id} activated\n`);
            const active = path.join(root, KIT_DIR, kit.id);
            expect(fs.existsSync(incoming)).toBe(false);
            expect(mode(active)).toBe("700");
            expect(mode(path.join(root, KIT_DIR))).toBe("700");
            expect(mode(path.join(active, "MANIFEST"))).toBe("600");
            expect(mode(path.join(active, "rotate.sh"))).toBe("700");
            // Runs again without a copy (an update of the activation, a re-ship's second pass): no change.
            expect(sh(shell, activationCommand(kit.id, "master-1", root)).stdout).toBe(`kit ${kit.id} already active\n`);
            const help = sh(shell, kitCommand(kit.id, "master-1", root, "restart", ["--help"]));
            expect(help.stderr).toBe("");
            expect(help.stdout).toContain("usage: restart.sh");
            expect(help.status).toBe(0);
        });

        it("refuses a copy with an altered file or a MANIFEST that is not the id, and removes it", () => {
            const root = tempDir("kit-node");
            const cache = tempDir("kit-cache");
            const incoming = ship(root, kit, cache);
            fs.appendFileSync(path.join(incoming, "install.sh"), "echo injected\n");
            const altered = sh(shell, activationCommand(kit.id, "master-1", root));
            expect(altered.status).toBe(KIT_MISSING_EXIT);
            expect(altered.stderr).toContain(`kit ${kit.id} on master-1: the shipped copy does not match its MANIFEST`);
            expect(fs.existsSync(incoming)).toBe(false);
            expect(fs.existsSync(path.join(root, KIT_DIR, kit.id))).toBe(false);

            // A consistent kit (files match its MANIFEST) shipped under another id.
            const other = variantKit("# other\n");
            const wrong = path.join(root, KIT_INCOMING, kit.id);
            fs.cpSync(stageKit(other, cache), wrong, { recursive: true });
            const r = sh(shell, activationCommand(kit.id, "master-1", root));
            expect(r.status).toBe(KIT_MISSING_EXIT);
            expect(fs.existsSync(path.join(root, KIT_DIR, kit.id))).toBe(false);
        });

        it("fails every command with one clear line when the kit is missing or altered; a re-ship repairs it", () => {
            const root = tempDir("kit-node");
            const cache = tempDir("kit-cache");
            const missing = sh(shell, kitCommand(kit.id, "master-2", root, "restart", ["--help"]));
            expect(missing.status).toBe(KIT_MISSING_EXIT);
            expect(missing.stderr).toBe(`${kitMissingMessage(kit.id, "master-2")}\n`);
            expect(missing.stderr).toBe(`kit ${kit.id} missing or altered on master-2: the next \`pulumi up\` ships it again\n`);
            expect(missing.stdout).toBe("");

            ship(root, kit, cache);
            expect(sh(shell, activationCommand(kit.id, "master-2", root)).status).toBe(0);
            const active = path.join(root, KIT_DIR, kit.id);
            fs.appendFileSync(path.join(active, "lib.sh"), "echo injected\n");
            const altered = sh(shell, kitCommand(kit.id, "master-2", root, "restart", ["--help"]));
            expect(altered.status).toBe(KIT_MISSING_EXIT);
            expect(altered.stderr).toBe(`${kitMissingMessage(kit.id, "master-2")}\n`);
            expect(altered.stdout).not.toContain("injected");

            // The re-ship: a fresh copy replaces the altered kit of the same id.
            ship(root, kit, cache);
            const again = sh(shell, activationCommand(kit.id, "master-2", root));
            expect(again.stdout).toBe(`kit ${kit.id} replaced an altered copy\n`);
            expect(sh(shell, kitCommand(kit.id, "master-2", root, "restart", ["--help"])).status).toBe(0);
        });

        it("kit-activate.sh parses with lib.sh's parse_args: bad options and ids stop it with exit 2 and the usage, touching nothing", () => {
            const root = tempDir("kit-node");
            ship(root, kit, tempDir("kit-cache"));
            const before = snapshotTree(root);
            const script = path.join(SCRIPTS_DIR, "kit-activate.sh");
            const cases: Array<[string[], string]> = [
                [[], "kit id must be 64 hex digits, got ''"],
                [["xyz"], "kit id must be 64 hex digits, got 'xyz'"],
                [[kit.id.slice(1)], `kit id must be 64 hex digits, got '${kit.id.slice(1)}'`],
                [[kit.id.toUpperCase()], `kit id must be 64 hex digits, got '${kit.id.toUpperCase()}'`],
                [[kit.id, kit.id], `unexpected argument '${kit.id}'`],
                [[kit.id, "--bogus"], "unknown option '--bogus'"],
                [["--keep=2", kit.id], "unknown option '--keep=2'"],
                [[kit.id, "--keep", "0"], "--keep must be a number >= 1, got '0'"],
                [[kit.id, "--keep", "two"], "--keep must be a number >= 1, got 'two'"],
                [[kit.id, "--keep"], "--keep needs a value"],
                [["--root", "relative/dir", kit.id], "--root must be an absolute directory, got 'relative/dir'"],
            ];
            for (const [args, message] of cases) {
                const withRoot = args[0] === "--root" ? args : ["--root", root, ...args];
                const r = spawnSync(shell[0], [...shell.slice(1, -1), script, ...withRoot], { encoding: "utf8", timeout: 30_000 });
                expect(r.stderr, JSON.stringify(args)).toBe(`kit-activate.sh: ${message}\nusage: kit-activate.sh [--root DIR] [--keep N] <kit-id>\n`);
                expect(r.status).toBe(2);
                expect(r.stdout).toBe("");
            }
            expect(snapshotTree(root)).toEqual(before);
            const help = spawnSync(shell[0], [...shell.slice(1, -1), script, "--help"], { encoding: "utf8" });
            expect([help.status, help.stdout, help.stderr]).toEqual([0, "usage: kit-activate.sh [--root DIR] [--keep N] <kit-id>\n", ""]);
            // Options after the id, as parse_args allows for every script.
            const late = spawnSync(shell[0], [...shell.slice(1, -1), script, kit.id, "--keep", "1", "--root", root], { encoding: "utf8" });
            expect(late.stderr).toBe("");
            expect(late.stdout).toBe(`kit ${kit.id} activated\n`);
        });

        it("activates a new kit with its own checked lib.sh, whatever the replaced kit's lib.sh says", () => {
            const root = tempDir("kit-node");
            const cache = tempDir("kit-cache");
            const old = variantKit("# an older version\n");
            ship(root, old, cache);
            expect(sh(shell, activationCommand(old.id, "w", root)).status).toBe(0);
            fs.writeFileSync(path.join(root, KIT_DIR, old.id, "lib.sh"), "echo 'old lib.sh ran' >&2; exit 99\n");
            ship(root, kit, cache);
            const r = sh(shell, activationCommand(kit.id, "w", root, 1));
            expect(r.stderr).toBe("");
            expect(r.stdout).toBe(`kit ${kit.id} activated\nkit ${old.id} pruned\n`);
            expect(r.status).toBe(0);
        });

        it("keeps at most 3 kits, the newest, never the active one", () => {
            const root = tempDir("kit-node");
            const cache = tempDir("kit-cache");
            const kits = [1, 2, 3, 4].map((n) => variantKit(`# version ${n}\n`));
            for (const [i, k] of kits.entries()) {
                ship(root, k, cache);
                const r = sh(shell, activationCommand(k.id, "w", root));
                expect(r.status).toBe(0);
                if (i === 3) expect(r.stdout).toContain(`kit ${kits[0].id} pruned`);
                // Distinct mtimes for the ordering.
                fs.utimesSync(path.join(root, KIT_DIR, k.id), new Date(Date.now() - (10 - i) * 1000), new Date(Date.now() - (10 - i) * 1000));
            }
            expect(fs.readdirSync(path.join(root, KIT_DIR)).filter((n) => !n.startsWith(".")).sort()).toEqual(kits.slice(1).map((k) => k.id).sort());
            // Re-activating the oldest kept one keeps it (it is the active one now).
            ship(root, kits[1], cache);
            fs.rmSync(path.join(root, KIT_DIR, kits[1].id), { recursive: true });
            expect(sh(shell, activationCommand(kits[1].id, "w", root, 1)).stdout).toContain(`kit ${kits[1].id} activated`);
            expect(fs.readdirSync(path.join(root, KIT_DIR)).filter((n) => !n.startsWith("."))).toEqual([kits[1].id]);
        });
    });
}

describe("inventory --kit", () => {
    it("reports the kit as ok, missing or altered", () => {
        const kit = buildKit();
        const root = tempDir("kit-inv");
        const read = () => parseInventoryOutput(spawnSync("/usr/bin/dash", [path.join(SCRIPTS_DIR, "inventory.sh"), "--root", root, "--kit", kit.id], { encoding: "utf8" }).stdout);
        const missing = read().kit!;
        expect(missing).toMatchObject({ id: kit.id, state: "missing", signature: expect.stringMatching(/^[0-9a-f]{16}$/) });
        ship(root, kit, tempDir("kit-cache"));
        expect(spawnSync("/usr/bin/dash", ["-c", activationCommand(kit.id, "n", root)]).status).toBe(0);
        const ok = read();
        expect(ok.kit).toEqual({ id: kit.id, state: "ok" });
        expect(ok.complete).toBe(true);
        fs.writeFileSync(path.join(root, KIT_DIR, kit.id, "MANIFEST"), "x");
        const altered = read().kit!;
        expect(altered).toMatchObject({ id: kit.id, state: "altered" });
        // Removed again after a ship: another signature than the first loss.
        fs.rmSync(path.join(root, KIT_DIR, kit.id), { recursive: true });
        const lostAgain = read().kit!;
        expect(lostAgain.state).toBe("missing");
        expect(lostAgain.signature).not.toBe(missing.signature);
        expect(lostAgain.signature).not.toBe(altered.signature);
    });
});

describe("kit re-ship decision", () => {
    it("lists nodes whose kit of this id is missing or altered; ok, another id or no record lists nothing", () => {
        const id = "a".repeat(64);
        const inv = (node: string, kit?: { id: string; state: "ok" | "missing" | "altered"; signature?: string }) =>
            ({ node, role: "worker", reachable: true, files: [], served: [], ...(kit ? { kit } : {}) }) as NodeInventory;
        expect(kitReshipsFrom([
            inv("a", { id, state: "ok" }), inv("b", { id, state: "missing", signature: "s1" }), inv("c", { id, state: "altered", signature: "s2" }),
            inv("d", { id: "b".repeat(64), state: "missing", signature: "s3" }), inv("e"),
        ], id)).toEqual({ b: { problem: "missing", signature: "s1" }, c: { problem: "altered", signature: "s2" } });
    });
});
