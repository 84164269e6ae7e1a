import { spawnSync } from "child_process";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { serializeBundle } from "../../src/node/bundle-format";
import { inlinedScript, SCRIPT_NAMES, scriptCommand, shellQuote } from "../../src/node/scripts";
import { tempDir } from "../scripts/fixtures";

const weird = `dir with spaces 'single' "double" $HOME \`tick\` \\ back`;

function run(shell: string, cmd: string, input = "") {
    return spawnSync(shell, ["-c", cmd], { input, encoding: "utf8", timeout: 30_000 });
}

describe("scriptCommand", () => {
    it("inlines lib.sh for every script and stays a valid, bounded shell text", () => {
        for (const name of SCRIPT_NAMES) {
            const text = inlinedScript(name);
            expect(text).not.toContain("@kube-pki-lib");
            expect(text).toContain("restore_backup()");
            expect(spawnSync("/usr/bin/dash", ["-n", "-c", text]).status).toBe(0);
            expect(scriptCommand(name, []).length).toBeLessThan(120_000);
        }
        expect(() => scriptCommand("nope" as never, [])).toThrow(/unknown script/);
    });

    it("shellQuote survives dash and bash", () => {
        for (const shell of ["/bin/sh", "/bin/bash", "/usr/bin/dash"]) {
            const r = run(shell, `printf '%s' ${shellQuote(weird)}`);
            expect(r.stdout).toBe(weird);
        }
    });

    for (const shell of ["/bin/sh", "/bin/bash"]) {
        it(`runs install under ${shell} -c with a --root full of quotes and spaces, bundle on stdin`, () => {
            const root = join(tempDir("cmd"), weird);
            spawnSync("mkdir", ["-p", root]);
            const bundle = serializeBundle({ files: [{ path: "/etc/kubernetes/hello.txt", mode: "0644", content: "hi\n" }], checks: [] });
            const r = run(shell, scriptCommand("install", ["--root", root]), bundle);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(readFileSync(join(root, "etc/kubernetes/hello.txt"), "utf8")).toBe("hi\n");
            expect(existsSync(join(root, "var/lib/kube-pki/backups/latest/manifest"))).toBe(true);
            // $0 names the script; an argument with quotes arrives intact in the message.
            const bad = run(shell, scriptCommand("restart", [weird, "static-pod"]));
            expect(bad.status).toBe(2);
            expect(bad.stderr).toContain(`kube-pki-restart: unknown component '${weird}'`);
        });
    }
});
