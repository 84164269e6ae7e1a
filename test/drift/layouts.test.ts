/**
 * Drift on layouts not made by kubeadm, read from a real tree (written by openssl) through
 * inventory.sh: files are recognised by their content (cfssl's *-key.pem is a key, RKE's
 * kubecfg-*.yaml a kubeconfig, a service-account "public key" kept as a certificate), and an
 * adopted CA is judged by its own subject (CN=kube-ca), so nothing reads as `differs` or
 * `spec-changed` that is as the stack wants it.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import { readInventory } from "../../src/drift/inventory";
import { compareNode } from "../../src/drift/report";
import { wantedFromSpec } from "../../src/drift/wanted";
import { fakeEnv, withConfig } from "../config/helpers";
import { kubeconfig, tempDir, TestCa } from "../scripts/fixtures";

const SSL = "/etc/kubernetes/ssl";

describe("drift on an RKE-style tree", () => {
    it("recognises files by content and judges the adopted kube-ca by its own subject", async () => {
        const root = tempDir("rke-drift");
        const ca = new TestCa("kube-ca");
        const scheduler = ca.issue({ cn: "system:kube-scheduler", eku: "clientAuth" });
        const sa = ca.issue({ cn: "kube-service-account-token", eku: "serverAuth,clientAuth", rsa: true });
        const put = (p: string, text: string, mode = 0o644) => {
            mkdirSync(join(root, p, ".."), { recursive: true });
            writeFileSync(join(root, p), text, { mode });
        };
        put(`${SSL}/kube-ca.pem`, ca.ca.cert);
        put(`${SSL}/kube-ca-key.pem`, ca.ca.key, 0o600);
        put(`${SSL}/kubecfg-kube-scheduler.yaml`, kubeconfig(ca.ca.cert, scheduler, "kube-scheduler"), 0o600);
        put(`${SSL}/kube-service-account-token.pem`, sa.cert);
        put(`${SSL}/kube-service-account-token-key.pem`, sa.key, 0o600);

        const spec = parseClusterSpec(withConfig({
            nodes: [{ name: "rke-1", role: "master", address: "127.0.0.1", transport: "local", localRoot: root }],
            layout: {
                kind: "custom",
                paths: {
                    "ca.crt": `${SSL}/kube-ca.pem`, "ca.key": `${SSL}/kube-ca-key.pem`,
                    "scheduler.conf": `${SSL}/kubecfg-kube-scheduler.yaml`,
                    "sa.key": `${SSL}/kube-service-account-token-key.pem`, "sa.pub": `${SSL}/kube-service-account-token.pem`,
                },
            },
        }), fakeEnv());
        const node = spec.nodes[0];
        const inventory = await readInventory(node, spec.layout, { checkServed: false });
        expect(inventory.reachable, inventory.error).toBe(true);
        const kind = (p: string) => inventory.files.find((f) => f.path === p)?.kind;
        expect(kind(`${SSL}/kube-ca.pem`)).toBe("certificate");
        expect(kind(`${SSL}/kube-ca-key.pem`)).toBe("private-key");
        expect(kind(`${SSL}/kubecfg-kube-scheduler.yaml`)).toBe("kubeconfig");
        expect(kind(`${SSL}/kube-service-account-token.pem`)).toBe("certificate");
        expect(kind(`${SSL}/kube-service-account-token-key.pem`)).toBe("private-key");

        const result = compareNode(wantedFromSpec(spec)[node.name], inventory, { now: new Date(), renewBeforeDays: 7 });
        const verdict = (p: string) => result.files.find((f) => f.path === p)!;
        for (const p of ["kube-ca.pem", "kube-ca-key.pem", "kubecfg-kube-scheduler.yaml", "kube-service-account-token.pem", "kube-service-account-token-key.pem"]) {
            const v = verdict(`${SSL}/${p}`);
            expect(v.reasons, `${p}: ${v.detail}`).toEqual(["ok"]);
        }
        // The same kubeconfig's client from another CA is still told apart: the signature decides, not the CN.
        const other = new TestCa("kube-ca");
        put(`${SSL}/kubecfg-kube-scheduler.yaml`, kubeconfig(ca.ca.cert, other.issue({ cn: "system:kube-scheduler", eku: "clientAuth" }), "kube-scheduler"), 0o600);
        const again = compareNode(wantedFromSpec(spec)[node.name], await readInventory(node, spec.layout), { now: new Date(), renewBeforeDays: 7 });
        const kc = again.files.find((f) => f.path === `${SSL}/kubecfg-kube-scheduler.yaml`)!;
        expect(kc.reasons).toContain("spec-changed");
        expect(kc.detail).toContain(`not signed by ${SSL}/kube-ca.pem`);
    });
});
