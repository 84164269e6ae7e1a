/**
 * examples/ci/github-actions-renew.yml: a scheduled workflow whose renew step is a command line
 * `kube-pki renew` accepts, whose scripts bash can parse, and that never puts a secret on a
 * command line or in the log.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { flagsOf, renewOptions } from "./renew-options";

const FILE = path.join(__dirname, "..", "..", "examples", "ci", "github-actions-renew.yml");

interface Step { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string }
const doc = parse(fs.readFileSync(FILE, "utf8")) as {
    on: { schedule: Array<{ cron: string }> };
    jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
};
const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
const runs = steps.filter((s) => s.run !== undefined);

describe("examples/ci/github-actions-renew.yml", () => {
    it("runs on a daily cron schedule", () => {
        expect(doc.on.schedule).toHaveLength(1);
        expect(doc.on.schedule[0].cron.split(/\s+/)).toHaveLength(5);
        expect(doc.on.schedule[0].cron).toMatch(/^\d+ \d+ \* \* \*$/);
    });

    it("checks out, sets up Node 20, installs the Pulumi CLI and the dependencies, in that order, before renewing", () => {
        const at = (pred: (s: Step) => boolean) => steps.findIndex(pred);
        const order = [
            at((s) => s.uses?.startsWith("actions/checkout@") === true),
            at((s) => s.uses?.startsWith("actions/setup-node@") === true && String(s.with?.["node-version"]) === "20"),
            at((s) => s.uses?.startsWith("pulumi/actions@") === true && s.with?.command === undefined),
            at((s) => s.run?.trim() === "npm ci"),
            at((s) => s.run?.includes("kube-pki renew") === true),
        ];
        expect(order.every((i) => i >= 0), JSON.stringify(order)).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
    });

    it("renews stack prod with the key file the previous step wrote 0600, with options renew accepts", async () => {
        const renew = runs.filter((s) => s.run!.includes("kube-pki renew"));
        expect(renew).toHaveLength(1);
        const argv = renew[0].run!.trim().split(/\s+/);
        expect(argv.slice(0, 3)).toEqual(["npx", "kube-pki", "renew"]);
        const flags = flagsOf(argv.slice(3));
        expect([...flags.keys()].sort()).toEqual(["--ssh-key", "--stack"]);
        expect(flags.get("--stack")).toBe("prod");
        const accepted = await renewOptions();
        for (const f of flags.keys()) expect(accepted, f).toContain(f);

        const keyFile = flags.get("--ssh-key")!;
        const writer = runs.find((s) => s.run!.includes(`> ${keyFile}`))!;
        expect(writer, `a step writing ${keyFile}`).toBeDefined();
        expect(writer.run).toMatch(/^umask 077$/m);
        expect(writer.run).toContain(`chmod 600 ${keyFile}`);
        expect(steps.indexOf(writer)).toBeLessThan(steps.indexOf(renew[0]));
        const cleanup = runs.find((s) => s.run!.trim() === `rm -f ${keyFile}`);
        expect(cleanup?.if).toBe("always()");
    });

    it("passes secrets only through env (never inside a script) and never echoes them", () => {
        for (const s of runs) expect(s.run, s.name).not.toContain("${{");
        const secretEnv = new Set<string>();
        for (const env of [...Object.values(doc.jobs).map((j) => j.env ?? {}), ...steps.map((s) => s.env ?? {})]) {
            for (const [k, v] of Object.entries(env)) if (/secrets\./.test(v)) secretEnv.add(k);
        }
        expect([...secretEnv].sort()).toEqual(["KUBE_PKI_SSH_KEY", "PULUMI_ACCESS_TOKEN"]);
        for (const s of runs) {
            for (const name of secretEnv) {
                if (!s.run!.includes(name)) continue;
                // The only use of a secret variable: redirected into the key file, not printed.
                for (const line of s.run!.split("\n").filter((l) => l.includes(name))) expect(line).toMatch(/^printf '%s\\n' "\$\w+" > "\$RUNNER_TEMP\/[\w-]+"$/);
            }
            expect(s.run).not.toMatch(/set -x|\bcat\b|\becho\b/);
        }
    });

    it("every script parses with bash -n (Actions runs them with bash -e)", () => {
        for (const s of runs) {
            const r = spawnSync("/bin/bash", ["-n", "-c", s.run!], { encoding: "utf8" });
            expect(r.status, `${s.name ?? s.run}: ${r.stderr}`).toBe(0);
        }
    });
});
