/**
 * The alerting rules (examples/prometheus/kube-pki.rules.yml) judged by promtool on textfiles that
 * `kube-pki check --stack … --prometheus FILE` wrote from a simulated cluster (1 master, 1 worker)
 * in six states, each adding one fault to the last: all well (leaves valid for 300 days), a leaf
 * expiring in 10 days, a leaf expired 35 days ago, a leaf valid only in 3 days, apiserver.crt
 * replaced on disk without a restart (served ≠ disk), worker-1's sshd stopped (unreachable).
 * Every textfile passes `promtool check metrics`; `promtool test rules` then checks that each alert
 * fires for exactly the faults present, stays quiet when all is well, and that KubePkiCheckStale
 * fires once the well textfile is more than 48 h old.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { CliIo } from "../../src/cli/io";
import { run } from "../../src/cli/main";
import { describeLive, issueCert, SimCluster, tcpOpen, waitFor } from "../harness/sim";
import { describeNeeding } from "../harness/sim/tools";
import { PROMTOOL, PROMTOOL_MISSING, RULES } from "./promtool";

const PKI = "/etc/kubernetes/pki";
/** Labels node_exporter's scrape adds to every textfile series. */
const SCRAPE = { instance: "kube-pki-host:9100", job: "node" };
/** Series whose values are Unix times: shifted so that the check's time is promtool's time 0. */
const TIMESTAMPS = new Set(["x509_cert_not_before", "x509_cert_not_after", "kube_pki_check_timestamp_seconds"]);

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Rule { alert: string; labels: Record<string, string>; annotations: Record<string, string> }
/** One alert the test expects: its series' labels and the value its annotations print. */
interface Expected { alert: string; labels: Record<string, string>; value?: string }

function parseTextfile(text: string): Sample[] {
    return text.split("\n").filter((l) => l && !l.startsWith("#")).map((line) => {
        const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (-?\d+(?:\.\d+)?)$/.exec(line);
        if (!m) throw new Error(`unexpected textfile line: ${line}`);
        const labels: Record<string, string> = {};
        for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        return { name: m[1], labels, value: Number(m[3]) };
    });
}

const seriesText = (s: Sample) =>
    `${s.name}{${Object.entries({ ...s.labels, ...SCRAPE }).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;

/** input_series of one textfile: every sample held constant for `minutes`, timestamps shifted by the check time. */
function inputSeries(text: string, minutes: number) {
    const samples = parseTextfile(text);
    const checkTime = samples.find((s) => s.name === "kube_pki_check_timestamp_seconds")!.value;
    return samples.map((s) => ({ series: seriesText(s), values: `${TIMESTAMPS.has(s.name) ? s.value - checkTime : s.value}+0x${minutes}` }));
}

/** Renders the rule's annotation templates the way Prometheus does for the few forms the rules use; anything else fails. */
function annotations(rule: Rule, labels: Record<string, string>, value: string | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, tmpl] of Object.entries(rule.annotations)) {
        out[k] = tmpl.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l) => labels[l] ?? "")
            .replace(/\{\{ \$value \| printf "%\.1f" \}\}/g, () => { if (value === undefined) throw new Error(`${rule.alert}: no value expected`); return value; });
        if (out[k].includes("{{")) throw new Error(`${rule.alert}.${k}: a template form this test cannot render: ${tmpl}`);
    }
    return out;
}

describeNeeding(PROMTOOL_MISSING, "alerting rules on textfiles from the simulated cluster", () => describeLive("alerts (promtool, simulated cluster)", () => {
    let sim: SimCluster;
    let dir: string;
    const rules = (parse(fs.readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
    /** Textfile and exit code per state, in order. */
    const states: Array<{ name: string; text: string; code: number; expected: Expected[] }> = [];
    const master = () => sim.nodes.find((n) => n.role === "master")!;
    const worker = () => sim.nodes.find((n) => n.role === "worker")!;

    async function check(name: string): Promise<void> {
        const file = path.join(dir, `${name}.prom`);
        let stderr = "";
        const io: CliIo = { stdout: () => undefined, stderr: (t) => { stderr += t; }, cwd: dir, now: () => new Date() };
        const code = await run(["check", "--stack", "sim", "--prometheus", file, "--connect-timeout", "3"], io);
        expect(fs.existsSync(file), stderr).toBe(true);
        // Each state keeps the faults of the ones before.
        states.push({ name, text: fs.readFileSync(file, "utf8"), code, expected: [...(states.at(-1)?.expected ?? [])] });
    }

    /** The labels of a certificate's series in the latest textfile, as the alert carries them. */
    function certLabels(node: string, file: string): Record<string, string> {
        const s = parseTextfile(states.at(-1)!.text).find((x) => x.name === "x509_cert_not_after" && x.labels.node === node && x.labels.filepath === file);
        if (!s) throw new Error(`no x509_cert_not_after for ${node} ${file}`);
        return { ...s.labels, ...SCRAPE };
    }

    beforeAll(async () => {
        sim = await SimCluster.start({ masters: 1, workers: 1, keyType: "ecdsa-p256", leafExpiresInDays: 300 });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-alerts-live-"));
        fs.mkdirSync(path.join(dir, "stacks"));
        fs.writeFileSync(path.join(dir, "stacks", "Pulumi.sim.yaml"), stringify({ config: {
            "kube-pki:cluster": { name: "sim", kubernetesVersion: sim.kubernetesVersion, controlPlaneEndpoint: sim.controlPlaneEndpoint },
            "kube-pki:ssh": { privateKeyPath: sim.clientPrivateKeyPath },
            "kube-pki:nodes": sim.nodes.map((n) => ({ name: n.name, role: n.role, address: n.ip,
                ssh: { hostKey: n.hostPublicKey.split(" ").slice(0, 2).join(" ") } })),
        } }));
        const m = master();
        const leaf = (name: string) => ({ cert: m.hostPath(`${PKI}/${name}.crt`), key: m.hostPath(`${PKI}/${name}.key`) });

        await check("well");

        await issueCert({ cn: "front-proxy-client", eku: ["clientAuth"], issuer: sim.authorities.frontProxyCa,
            issuedDaysAgo: 355, validDays: 365, keyType: "ecdsa-p256", out: leaf("front-proxy-client") });
        await check("expiring");
        states.at(-1)!.expected.push({ alert: "KubePkiCertificateExpiringSoon", labels: certLabels(m.name, `${PKI}/front-proxy-client.crt`), value: "10.0" });

        await issueCert({ cn: "kube-apiserver-etcd-client", o: ["system:masters"], eku: ["clientAuth"], issuer: sim.authorities.etcdCa,
            issuedDaysAgo: 400, validDays: 365, keyType: "ecdsa-p256", out: leaf("apiserver-etcd-client") });
        await check("expired");
        states.at(-1)!.expected.push({ alert: "KubePkiCertificateExpired", labels: certLabels(m.name, `${PKI}/apiserver-etcd-client.crt`), value: "35.0" });

        await issueCert({ cn: "kube-apiserver-kubelet-client", o: ["kubeadm:cluster-admins"], eku: ["clientAuth"], issuer: sim.authorities.ca,
            issuedDaysAgo: -3, validDays: 365, keyType: "ecdsa-p256", out: leaf("apiserver-kubelet-client") });
        await check("not-yet-valid");
        states.at(-1)!.expected.push({ alert: "KubePkiCertificateNotYetValid", labels: certLabels(m.name, `${PKI}/apiserver-kubelet-client.crt`), value: "3.0" });

        // A new apiserver certificate on disk; the running apiserver keeps serving the old one.
        await issueCert({ cn: "kube-apiserver", eku: ["serverAuth"], issuer: sim.authorities.ca, dns: [m.name, "kubernetes"], ips: ["10.96.0.1", m.ip],
            issuedDaysAgo: 0, validDays: 365, keyType: "ecdsa-p256", out: leaf("apiserver") });
        await check("served-differs");
        states.at(-1)!.expected.push({ alert: "KubePkiServedCertificateDiffersFromDisk",
            labels: { node: m.name, filepath: `${PKI}/apiserver.crt`, ...SCRAPE } });

        const w = worker();
        process.kill(Number(fs.readFileSync(path.join(w.dir, "sim", "sshd.pid"), "utf8").trim()), "SIGTERM");
        await waitFor(`${w.name} sshd stopped`, async () => !(await tcpOpen(w.ip, 22)), 10_000, 100);
        await check("unreachable");
        states.at(-1)!.expected.push({ alert: "KubePkiNodeUnreachable", labels: { node: w.name, ...SCRAPE } });
    }, 240_000);

    afterAll(async () => {
        await sim?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("check exits 0 when all is well, 1 with only an expiring leaf, 2 once something is critical", () => {
        expect(states.map((s) => [s.name, s.code])).toEqual([["well", 0], ["expiring", 1], ["expired", 2], ["not-yet-valid", 2],
            ["served-differs", 2], ["unreachable", 2]]);
    });

    it("every textfile passes promtool check metrics and lists every node's reachability", () => {
        for (const s of states) {
            const r = spawnSync(PROMTOOL!, ["check", "metrics"], { input: s.text, encoding: "utf8", timeout: 30_000 });
            expect(r.status, `${s.name}: ${r.stdout}${r.stderr}`).toBe(0);
            const up = parseTextfile(s.text).filter((x) => x.name === "kube_pki_node_up").map((x) => [x.labels.node, x.value]);
            expect(up, s.name).toEqual(sim.nodes.map((n) => [n.name, s.name === "unreachable" && n.role === "worker" ? 0 : 1]));
        }
    });

    it("promtool test rules: each alert fires for exactly the faults present and stays quiet when all is well; a 48 h old textfile is stale", () => {
        const at = "30m"; // after every rule's `for:` (≤ 15m)
        const byName = new Map(rules.map((r) => [r.alert, r]));
        const expAlerts = (alert: string, expected: Expected[]) => expected.filter((e) => e.alert === alert).map((e) => ({
            exp_labels: { ...e.labels, severity: byName.get(alert)!.labels.severity },
            exp_annotations: annotations(byName.get(alert)!, e.labels, e.value),
        }));
        const tests = states.map((s) => ({
            name: s.name,
            interval: "1m",
            input_series: inputSeries(s.text, 60),
            alert_rule_test: rules.map((r) => ({ eval_time: at, alertname: r.alert, exp_alerts: expAlerts(r.alert, s.expected) })),
        }));
        // The well textfile, never rewritten: quiet at 47 h, KubePkiCheckStale (and nothing else) at 49 h.
        const stale: Expected = { alert: "KubePkiCheckStale", labels: { ...SCRAPE }, value: "49.0" };
        tests.push({
            name: "stale",
            interval: "1m",
            input_series: inputSeries(states[0].text, 50 * 60),
            alert_rule_test: [
                ...rules.map((r) => ({ eval_time: "47h", alertname: r.alert, exp_alerts: [] as ReturnType<typeof expAlerts> })),
                ...rules.map((r) => ({ eval_time: "49h", alertname: r.alert, exp_alerts: expAlerts(r.alert, [stale]) })),
            ],
        });
        const testFile = path.join(dir, "kube-pki.rules.test.yml");
        fs.writeFileSync(testFile, [
            "# Generated by test/examples/alerts.live.test.ts from textfiles `kube-pki check` wrote. Values that are",
            "# Unix times (x509_cert_not_before/not_after, kube_pki_check_timestamp_seconds) are shifted by the",
            "# textfile's check time, so the check ran at this test's time 0 and time() counts from it.",
            stringify({ rule_files: [RULES], evaluation_interval: "1m", tests }, { lineWidth: 0 }),
        ].join("\n"));
        // Every fault of the last state is expected exactly once; the well state expects nothing.
        expect(states[0].expected).toEqual([]);
        expect(states.at(-1)!.expected.map((e) => e.alert)).toEqual(rules.map((r) => r.alert).filter((a) => a !== "KubePkiCheckStale"));
        const r = spawnSync(PROMTOOL!, ["test", "rules", testFile], { encoding: "utf8", timeout: 120_000 });
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout).toContain("SUCCESS");
    });
}));
