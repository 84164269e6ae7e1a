import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findPulumi, resourceSummary, runPulumi } from "../../src/cli/pulumi-cli";
import { createStandInPulumi, type StandInPulumi } from "../harness/stand-in-pulumi";

describe("the Pulumi CLI runner", () => {
    let standIn: StandInPulumi | undefined;
    afterEach(() => standIn?.remove());

    it("finds pulumi on PATH, else in ~/.pulumi/bin where the installer puts it, else nothing", () => {
        standIn = createStandInPulumi();
        expect(findPulumi({ PATH: `/nonexistent:${standIn.dir}` })).toBe(standIn.bin);
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "kpki-home-"));
        try {
            expect(findPulumi({ PATH: "/nonexistent", HOME: home })).toBeUndefined();
            fs.mkdirSync(path.join(home, ".pulumi", "bin"), { recursive: true });
            fs.copyFileSync(standIn.bin, path.join(home, ".pulumi", "bin", "pulumi"));
            fs.chmodSync(path.join(home, ".pulumi", "bin", "pulumi"), 0o755);
            expect(findPulumi({ PATH: "/nonexistent", HOME: home })).toBe(path.join(home, ".pulumi", "bin", "pulumi"));
            expect(findPulumi({ PATH: standIn.dir }, "/nonexistent/pulumi")).toBeUndefined();
        } finally {
            fs.rmSync(home, { recursive: true, force: true });
        }
    });

    it("runs it in the given directory with exactly the given environment, and keeps its output", async () => {
        standIn = createStandInPulumi({ stacks: ["prod"] });
        const seen: string[] = [];
        const r = await runPulumi(["up", "--stack", "prod", "--yes"], {
            pulumi: standIn.bin, cwd: os.tmpdir(), env: { PATH: "/usr/bin:/bin", ONLY_THIS: "1" }, onOutput: (t) => seen.push(t),
        });
        expect(r.code).toBe(0);
        expect(seen.join("")).toBe(r.stdout);
        expect(resourceSummary(r.stdout)).toEqual(["+ 20 created"]);
        const [call] = standIn.calls();
        expect(call.argv).toEqual(["up", "--stack", "prod", "--yes"]);
        expect(fs.realpathSync(call.cwd)).toBe(fs.realpathSync(os.tmpdir()));
        expect(call.env.ONLY_THIS).toBe("1");
        expect(call.env.HOME).toBeUndefined();
    });

    it("reads Pulumi's resource summary block", () => {
        const out = "Updating (prod):\n\n     Type  Name\n\nOutputs:\n    a: 1\n\nResources:\n    + 3 created\n    ~ 2 updated\n    +-1 replaced\n    25 unchanged\n\nDuration: 45s\n";
        expect(resourceSummary(out)).toEqual(["+ 3 created", "~ 2 updated", "+-1 replaced", "25 unchanged"]);
        expect(resourceSummary("error: no stack\n")).toEqual([]);
        // `up --yes` prints the preview's block first, then the update's: the update's counts.
        expect(resourceSummary("Previewing update (prod):\n\nResources:\n    + 3 to create\n\nUpdating (prod):\n\nResources:\n    + 3 created\n\nDuration: 4s\n"))
            .toEqual(["+ 3 created"]);
    });
});
