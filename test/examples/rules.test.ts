/**
 * examples/prometheus/kube-pki.rules.yml passes `promtool check rules`, and each alert tells the
 * reader which node (and file) and what to do next. Whether the alerts fire when they should is
 * judged by `promtool test rules` on textfiles from the simulated cluster (alerts.live.test.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { expect, it } from "vitest";
import { parse } from "yaml";
import { describeNeeding } from "../harness/sim/tools";
import { PROMTOOL, PROMTOOL_MISSING, RULES } from "./promtool";

interface Rule { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }
const rules = (parse(fs.readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describeNeeding(PROMTOOL_MISSING, "examples/prometheus/kube-pki.rules.yml", () => {
    it("passes promtool check rules", () => {
        const r = spawnSync(PROMTOOL!, ["check", "rules", RULES], { encoding: "utf8", timeout: 30_000 });
        expect(r.status, r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    });

    it("has the six alerts, each with a severity, naming the node or instance, the file where there is one, and a next step", () => {
        expect(rules.map((r) => r.alert)).toEqual(["KubePkiCertificateExpiringSoon", "KubePkiCertificateExpired",
            "KubePkiCertificateNotYetValid", "KubePkiServedCertificateDiffersFromDisk", "KubePkiNodeUnreachable", "KubePkiCheckStale"]);
        for (const r of rules) {
            expect(["warning", "critical"], r.alert).toContain(r.labels.severity);
            const text = `${r.annotations.summary} ${r.annotations.description}`;
            expect(text, r.alert).toMatch(r.alert === "KubePkiCheckStale" ? /\$labels\.instance/ : /\$labels\.node/);
            if (/x509_cert|mismatch/.test(r.expr)) expect(r.annotations.summary, r.alert).toContain("{{ $labels.filepath }}");
            expect(r.annotations.description, r.alert).toMatch(/`kube-pki (renew|check) --stack <stack>`|systemctl status|README/);
        }
    });

    it("judges certificates by their absolute dates and time(), so a stale textfile keeps counting down", () => {
        const certRules = rules.filter((r) => r.expr.includes("x509_cert"));
        expect(certRules).toHaveLength(3);
        for (const r of certRules) {
            expect(r.expr, r.alert).toMatch(/time\(\)/);
            expect(r.expr, r.alert).not.toMatch(/expires_in_seconds|valid_since_seconds|x509_cert_expired/);
        }
    });
});
