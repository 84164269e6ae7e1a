/**
 * Every resource the program registers (URN and inputs) under the echo mocks, for the shipped
 * prod stack and the test fixtures, compared with a snapshot taken before the per-node plan
 * refactor (issue 11): a kubeadm stack must reissue and restart nothing because code moved.
 * The kit id (a hash of the node scripts, which change for their own reasons) is normalised;
 * long strings (bundles, commands) are kept as length + SHA-256 so a difference names the
 * resource and input. Regenerate only for an intended change: KUBE_PKI_UPDATE_REGISTRATIONS=1.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../src/config";
import type { NodeInventory } from "../src/drift/inventory";
import { currentKit } from "../src/node/kit";
import { kubePki } from "../src/program";
import type { ClusterSpec } from "../src/spec";
import { haCluster } from "./fixtures/cluster";
import { createAdoptingEchoMocks } from "./harness/mocks/echo-mocks";
import { runProgram } from "./harness/mocks/run-program";
import { SSH_KEYGEN } from "./harness/sim/tools";

const FIXTURE_DIR = path.join(__dirname, "fixtures", "registrations");
const UPDATE = process.env.KUBE_PKI_UPDATE_REGISTRATIONS === "1";

/** A login key made for this run (the stack's key file must parse); its text is normalised away. */
const sshKey = (() => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kp-registrations-")), "id");
    execFileSync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-f", file]);
    return fs.readFileSync(file, "utf8");
})();

function prodSpec(): ClusterSpec {
    const stack = parse(fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.prod.yaml"), "utf8")).config;
    const raw = Object.fromEntries(Object.entries(stack).map(([k, v]) => [k.replace(/^kube-pki:/, ""), v]));
    // The key file is read at parse time only; no connection is made under the echo mocks.
    return parseClusterSpec(raw, { readFile: () => sshKey, cwd: os.tmpdir(), home: os.tmpdir(), stack: "prod" });
}

/** rotate mode with worker-1's kubelet client certificate missing: kube-pki declares one for it. */
const missingKubeletClient: NodeInventory[] = [{ node: "worker-1", role: "worker", reachable: true, files: [], served: [] }];

const CASES: Record<string, () => { spec: ClusterSpec; inventories?: NodeInventory[] }> = {
    "prod-stack": () => ({ spec: prodSpec() }),
    "ha-1.30": () => ({ spec: haCluster("1.30.4") }),
    "ha-1.28-external-etcd": () => ({ spec: haCluster("1.28.9", 1, { etcd: { mode: "external", serverCertSans: [], peerCertSans: [] } }) }),
    "ha-serving-managed-layout": () => ({
        spec: haCluster("1.31.2", 2, {
            layout: { kind: "custom", kubernetesDir: "/srv/k8s", paths: { "apiserver.crt": "/srv/tls/api.pem", "kubelet.conf": "/etc/kubelet.conf" },
                restart: "systemd", componentServingCerts: true },
            kubelet: { servingCertificate: "managed", clientCertificate: "embedded" },
            validity: { caYears: 10, leafDays: 365, renewBeforeDays: 30, leafDaysOverrides: { "front-proxy-client": 200, "kubelet.conf": 90 } },
        }),
    }),
    "ha-rotate-adopted": () => ({
        spec: haCluster("1.30.4", 2, {
            kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" },
            authorities: { ca: "adopt", frontProxyCa: "generate", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: "master-1", keyAlgorithm: "RSA-2048" },
        }),
        inventories: missingKubeletClient,
    }),
};

const HASHED_LENGTH = 160;

/** Inputs as comparable JSON: kit id normalised, long strings as length + digest. */
function normalise(value: unknown, kitId: string): unknown {
    if (typeof value === "string") {
        const s = value.split(kitId).join("<kit>").split(sshKey).join("<ssh-key>");
        return s.length > HASHED_LENGTH ? `<${s.length} chars sha256:${createHash("sha256").update(s).digest("hex").slice(0, 32)}>` : s;
    }
    if (Array.isArray(value)) return value.map((v) => normalise(v, kitId));
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.keys(value).sort().map((k) => [k, normalise((value as Record<string, unknown>)[k], kitId)]));
    }
    return value;
}

async function registrations(name: string): Promise<Record<string, unknown>> {
    const { spec, inventories } = CASES[name]();
    const inspect = async () => ({ reasons: {}, repairs: {}, report: "", ...(inventories ? { inventories } : {}) });
    const res = await runProgram(() => kubePki({ spec, inspect }), { mocks: createAdoptingEchoMocks(), stack: "prod" });
    const kitId = currentKit().id;
    const out: Record<string, unknown> = {};
    for (const r of [...res.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0))) {
        out[r.urn.split(kitId).join("<kit>")] = normalise(r.inputs, kitId);
    }
    return out;
}

describe("resource names and inputs stay those of the snapshot (issue 11 refactor)", () => {
    for (const name of Object.keys(CASES)) {
        it(name, async () => {
            const got = await registrations(name);
            const file = path.join(FIXTURE_DIR, `${name}.json`);
            if (UPDATE) {
                fs.mkdirSync(FIXTURE_DIR, { recursive: true });
                fs.writeFileSync(file, JSON.stringify(got, null, 1) + "\n");
            }
            const want = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
            expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
            for (const urn of Object.keys(want)) expect(got[urn], urn).toEqual(want[urn]);
        }, 120_000);
    }
});
