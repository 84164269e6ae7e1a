/**
 * examples/systemd: `systemd-analyze verify` (systemd's own judge) on the service and timer as an
 * install would place them (/opt/kube-pki replaced by this checkout, so ExecStart's binary exists),
 * plus what verify cannot know: the command line is one `kube-pki renew` accepts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeNeeding } from "../harness/sim/tools";
import { flagsOf, renewOptions } from "./renew-options";

const REPO = path.join(__dirname, "..", "..");
const EXAMPLES = path.join(REPO, "examples", "systemd");
const UNITS = ["kube-pki-renew.service", "kube-pki-renew.timer"];
const ANALYZE = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => fs.existsSync(p));

/** `Key=value` lines of one section (repeated keys keep every value). */
function section(unit: string, name: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    let current = "";
    for (const line of fs.readFileSync(path.join(EXAMPLES, unit), "utf8").split("\n")) {
        const head = /^\[(.+)\]$/.exec(line.trim());
        if (head) { current = head[1]; continue; }
        const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
        if (current === name && kv) out.set(kv[1], [...(out.get(kv[1]) ?? []), kv[2]]);
    }
    return out;
}

function verify(dir: string): { code: number | null; output: string } {
    const r = spawnSync(ANALYZE!, ["verify", ...UNITS.map((u) => path.join(dir, u))], { encoding: "utf8", timeout: 30_000 });
    // Lines about other units on this machine are not ours to judge.
    const output = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.includes("kube-pki-renew")).join("\n");
    return { code: r.status, output };
}

describeNeeding(ANALYZE ? undefined : "systemd-analyze (Debian: systemd)", "examples/systemd units", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-units-"));
        for (const u of UNITS) fs.writeFileSync(path.join(dir, u), fs.readFileSync(path.join(EXAMPLES, u), "utf8").replaceAll("/opt/kube-pki", REPO));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("pass systemd-analyze verify once installed (ExecStart points at this checkout)", () => {
        expect(verify(dir)).toEqual({ code: 0, output: "" });
    });

    it("verify does judge them: the units as shipped, before the checkout is at /opt/kube-pki, are refused", () => {
        const shipped = fs.mkdtempSync(path.join(os.tmpdir(), "kp-units-shipped-"));
        try {
            for (const u of UNITS) fs.copyFileSync(path.join(EXAMPLES, u), path.join(shipped, u));
            const r = verify(shipped);
            expect(fs.existsSync("/opt/kube-pki/bin/kube-pki.js")).toBe(false);
            expect(r.code).not.toBe(0);
            expect(r.output).toContain("/opt/kube-pki/bin/kube-pki.js");
        } finally {
            fs.rmSync(shipped, { recursive: true, force: true });
        }
    });

    it("run `kube-pki renew --stack prod` once a day from the checkout, with options renew accepts", async () => {
        const service = section("kube-pki-renew.service", "Service");
        expect(service.get("Type")).toEqual(["oneshot"]);
        expect(service.get("WorkingDirectory")).toEqual(["/opt/kube-pki"]);
        expect(service.get("EnvironmentFile")).toEqual(["/etc/kube-pki/renew.env"]);
        const [exe, command, ...args] = service.get("ExecStart")![0].split(" ");
        expect([exe, command]).toEqual(["/opt/kube-pki/bin/kube-pki.js", "renew"]);
        const flags = flagsOf(args);
        expect(Object.fromEntries(flags)).toEqual({ "--stack": "prod", "--ssh-key": "/etc/kube-pki/ssh_key",
            "--prometheus": "/var/lib/node_exporter/textfile_collector/kube_pki.prom" });
        const accepted = await renewOptions();
        for (const f of flags.keys()) expect(accepted, f).toContain(f);
        // The textfile's directory is writable under ProtectSystem=strict.
        expect(service.get("ProtectSystem")).toEqual(["strict"]);
        expect(service.get("ReadWritePaths")).toEqual(["-/var/lib/node_exporter/textfile_collector"]);

        const timer = section("kube-pki-renew.timer", "Timer");
        expect(Object.fromEntries(timer)).toMatchObject({ OnCalendar: ["daily"], Persistent: ["true"], Unit: ["kube-pki-renew.service"] });
        expect(timer.get("RandomizedDelaySec")).toHaveLength(1);
    });
});
