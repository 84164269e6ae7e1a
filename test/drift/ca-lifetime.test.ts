/**
 * CA lifetimes at program time: a leaf that would outlive its CA is refused before any resource
 * is declared (so preview fails and nothing is issued or pushed), read from the CA on the node
 * because an adopted CA is unknown in a first preview; a CA nearing its end is reported.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { caEndingWarnings, knownCas, leafOutlivesCaProblems } from "../../src/drift/ca-lifetime";
import { parseCert } from "../../src/drift/cert-info";
import type { NodeInventory } from "../../src/drift/inventory";
import { inspectCluster, rollbackCounts } from "../../src/findings";
import { kubePki } from "../../src/program";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { ProgramRunError, runProgram } from "../harness/mocks/run-program";

const DAY = 86_400_000;

/** A CA made by openssl (not kube-pki) that ends in `days` days. */
function caPem(days: number): string {
    const dir = mkdtempSync(join(tmpdir(), "kube-pki-ca-life-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kubernetes", "-days", String(days),
        "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.crt")], { stdio: "ignore" });
    return readFileSync(join(dir, "ca.crt"), "utf8");
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** Inventories where every master holds `pem` as ca.crt, recorded as installed by kube-pki or not. */
function inventories(cluster: ClusterSpec, pem: string, opts: { installed?: boolean; rollbacks?: Record<string, number> } = {}): NodeInventory[] {
    const path = "/etc/kubernetes/pki/ca.crt";
    return cluster.nodes.map((node) => ({
        node: node.name, role: node.role, reachable: true, nodeTime: new Date(), skewSeconds: 0, served: [],
        files: node.role === "master"
            ? [{ key: "ca.crt", path, kind: "certificate" as const, exists: true, sha256: sha(pem), mode: "644", cert: parseCert(pem) }]
            : [],
        ...(opts.installed ? { installed: { [path]: sha(pem) } } : {}),
        ...(opts.rollbacks?.[node.name] ? { rollbacks: opts.rollbacks[node.name] } : {}),
    }));
}

const adopted = (overrides: Partial<ClusterSpec> = {}) => {
    const base = haCluster("1.30.4", 1, overrides);
    return { ...base, authorities: { ...base.authorities, ca: "adopt" as const }, drift: { ...base.drift, enabled: false } };
};

describe("leaf never outlives its CA (program time)", () => {
    const pem200 = caPem(200);

    it("refuses a 365-day leaf under an adopted CA with 200 days left, naming the CA, its end, the leaf and the fix", () => {
        const cluster = adopted();
        const problems = leafOutlivesCaProblems(cluster, knownCas(cluster, inventories(cluster, pem200)), new Date());
        expect(problems).toHaveLength(1);
        const end = parseCert(pem200).notAfter.toISOString();
        expect(problems[0]).toContain(`CA "ca" (/etc/kubernetes/pki/ca.crt on master-1) ends on ${end}, in 199 days`);
        expect(problems[0]).toMatch(/"[a-z.-]+" issued now for 365 days would end on \S+, after its CA/);
        expect(problems[0]).toContain("lower kube-pki:validity.leafDays to at most 198, or rotate the CA first");
    });

    it("accepts leaves that end before the CA, and names an override when that is the longest", () => {
        const ok = adopted({ validity: { caYears: 10, leafDays: 150, renewBeforeDays: 30, leafDaysOverrides: {} } });
        expect(leafOutlivesCaProblems(ok, knownCas(ok, inventories(ok, pem200)), new Date())).toEqual([]);
        const override = adopted({ validity: { caYears: 10, leafDays: 150, renewBeforeDays: 30, leafDaysOverrides: { "admin.conf": 300 } } });
        const [problem] = leafOutlivesCaProblems(override, knownCas(override, inventories(override, pem200)), new Date());
        expect(problem).toContain(`"admin.conf" issued now for 300 days`);
        expect(problem).toContain("lower kube-pki:validity.leafDaysOverrides.admin.conf to at most 198");
    });

    it("judges a generated CA only by the file kube-pki itself installed", () => {
        const generated = haCluster("1.30.4", 1);
        // kubeadm's CA on disk, before kube-pki's first install: not the CA the stack signs with.
        expect(knownCas(generated, inventories(generated, pem200))).toEqual([]);
        const ours = knownCas(generated, inventories(generated, pem200, { installed: true }));
        expect(ours.map((c) => c.id)).toEqual(["ca"]);
        expect(ours[0].notAfter.getTime() - Date.now()).toBeLessThan(200 * DAY);
    });

    it("warns about a CA that ends within a year, saying kube-pki never replaces it", () => {
        const cluster = adopted({ validity: { caYears: 10, leafDays: 100, renewBeforeDays: 30, leafDaysOverrides: {} } });
        const [warning] = caEndingWarnings(cluster, knownCas(cluster, inventories(cluster, pem200)), new Date());
        expect(warning).toMatch(/^CA "ca" ends in 199 days \(/);
        expect(warning).toContain("kube-pki never replaces a CA implicitly: plan a rotation");
        expect(caEndingWarnings(cluster, knownCas(cluster, inventories(cluster, caPem(3650))), new Date())).toEqual([]);
    });

    it("fails the preview before any resource is declared, even with drift detection off", async () => {
        const cluster = adopted();
        const read = async () => inventories(cluster, pem200);
        const run = runProgram(() => kubePki({ spec: cluster, inspect: (c) => inspectCluster(c, read) }), { mocks: "echo", preview: true, stack: "prod" });
        const err = await run.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProgramRunError);
        expect((err as ProgramRunError).message).toContain(`CA "ca" (/etc/kubernetes/pki/ca.crt on master-1) ends on`);
        // Nothing registered: no key, no certificate, no command.
        expect((err as ProgramRunError).result.resources.filter((r) => r.custom)).toEqual([]);
    });
});

describe("rollback counts (read with drift on or off)", () => {
    it("reports only nodes that were rolled back, and inspectCluster passes them on with drift off", async () => {
        const cluster = adopted({ validity: { caYears: 10, leafDays: 100, renewBeforeDays: 30, leafDaysOverrides: {} } });
        const invs = inventories(cluster, caPem(3650), { rollbacks: { "master-2": 2 } });
        expect(rollbackCounts(invs)).toEqual({ "master-2": 2 });
        const findings = await runProgram(async () => ({ f: await inspectCluster(cluster, async () => invs) }), { mocks: "echo", preview: true });
        expect(findings.outputs.f.value.rollbacks).toEqual({ "master-2": 2 });
        expect(findings.outputs.f.value.repairs).toEqual({});
    });
});
