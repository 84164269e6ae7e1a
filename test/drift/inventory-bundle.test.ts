/**
 * A CA file or a kubeconfig's CA data holding several certificates (a CA rotation trusts both):
 * the inventory keeps every one (bundle, caBundle), a leaf signed by a bundle's second CA is
 * signed by that file, and drift/check judge such a file as the CA's own. Read through the
 * parser and, on a local tree, through inventory.sh itself.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assembleFiles, readInventory, type NodeInventory } from "../../src/drift/inventory";
import { compareNode, type WantedFileSummary } from "../../src/drift/report";
import { parseInventoryOutput } from "../../src/drift/script-output";
import { wantedFromSpec } from "../../src/drift/wanted";
import { rotationMarker } from "../../src/pki/ca-rotation";
import { KUBEADM_LAYOUT } from "../../src/pki/layout";
import type { NodeSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { makeCa, makeLeaf, scriptOutput, type TestCa } from "./rotation-certs";

const PKI = "/etc/kubernetes/pki";
const CA = `${PKI}/ca.crt`;
const FP = `${PKI}/front-proxy-ca.crt`;
const APISERVER = `${PKI}/apiserver.crt`;
const ADMIN = "/etc/kubernetes/admin.conf";
const NOW = new Date("2026-06-01T00:00:00Z");

let oldCa: TestCa;
let newCa: TestCa;
let fpCa: TestCa;
let byNew: string;
let byOld: string;
const sha = (pem: string) => new (require("node:crypto").X509Certificate)(pem).fingerprint256.replace(/:/g, "").toLowerCase();

beforeAll(async () => {
    oldCa = await makeCa("kubernetes");
    newCa = await makeCa("kubernetes", rotationMarker("2027"));
    fpCa = await makeCa("front-proxy-ca");
    byNew = await makeLeaf("kube-apiserver", newCa);
    byOld = await makeLeaf("kubernetes-admin", oldCa);
});

const files = (text: string) => assembleFiles(parseInventoryOutput(text), KUBEADM_LAYOUT);
const at = (list: ReturnType<typeof files>, p: string) => list.find((f) => f.path === p)!;

describe("inventory bundles from the script's records", () => {
    it("a CA file with two certificates: cert is the first, bundle holds both in file order; a leaf of the second is signed by that file", () => {
        const list = files(scriptOutput([
            { path: CA, pems: [oldCa.pem, newCa.pem] }, { path: FP, pems: [fpCa.pem] }, { path: APISERVER, pems: [byNew] },
            { path: ADMIN, caPems: [newCa.pem, oldCa.pem], clientPem: byNew },
        ]));
        const ca = at(list, CA);
        expect(ca.cert!.sha256).toBe(sha(oldCa.pem));
        expect(ca.bundle!.map((c) => c.sha256)).toEqual([sha(oldCa.pem), sha(newCa.pem)]);
        expect(ca.bundle![0]).toBe(ca.cert);
        expect(ca.parseError).toBeUndefined();
        expect(ca.bundle!.map((c) => c.signedBy)).toEqual([CA, CA]);
        expect(at(list, APISERVER).cert!.signedBy).toBe(CA);
        const admin = at(list, ADMIN);
        expect(admin.kubeconfig!.ca!.sha256).toBe(sha(newCa.pem));
        expect(admin.kubeconfig!.caBundle!.map((c) => c.sha256)).toEqual([sha(newCa.pem), sha(oldCa.pem)]);
        expect(admin.kubeconfig!.caBundle![0].pem).not.toContain(oldCa.pem.trim());
        expect(admin.cert!.signedBy).toBe(CA);
    });

    it("single-certificate files and kubeconfigs look exactly as before (no bundle fields)", () => {
        const list = files(scriptOutput([{ path: CA, pems: [oldCa.pem] }, { path: ADMIN, caPems: [oldCa.pem], clientPem: byOld }]));
        expect(Object.keys(at(list, CA)).sort()).toEqual(["cert", "exists", "key", "keyMatches", "kind", "mode", "path", "sha256"]);
        expect(Object.keys(at(list, ADMIN).kubeconfig!).sort()).toEqual(["ca", "server"]);
        // The kubeconfig's CA keeps the decoded text as its pem, as before.
        expect(at(list, ADMIN).kubeconfig!.ca!.pem).toBe(oldCa.pem);
    });

    it("a bundle whose second block does not parse is reported, the first still read", () => {
        const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        const ca = at(files(scriptOutput([{ path: CA, pems: [oldCa.pem, broken] }])), CA);
        expect(ca.cert!.sha256).toBe(sha(oldCa.pem));
        expect(ca.bundle).toHaveLength(1);
        expect(ca.parseError).toBe("PEM certificate 2 of 2 does not parse");
    });
});

describe("drift and check on a CA file that trusts two CAs", () => {
    const cluster = haCluster("1.30.4", 0);
    const wanted = wantedFromSpec(cluster)["master-1"];
    const caWanted = wanted.find((w) => w.key === "ca.crt")!;
    // The leaf's expectation as the plan writes it, with the subject of this test's leaf.
    const apiserverWanted = (): WantedFileSummary => ({
        ...wanted.find((w) => w.key === "apiserver.crt")!,
        expected: { subject: { commonName: "kube-apiserver", organizations: [], dnsNames: [], ipAddresses: [] }, issuerCommonName: "kubernetes", caPath: CA },
    });
    const inventory = (caPems: string[]): NodeInventory => ({
        node: "master-1", role: "master", reachable: true, served: [],
        files: files(scriptOutput([{ path: CA, pems: caPems }, { path: APISERVER, pems: [byNew] }])),
    });
    const opts = { now: NOW, renewBeforeDays: 30 };

    for (const [order, pems] of [["old first (trust both)", () => [oldCa.pem, newCa.pem]], ["new first (reissue)", () => [newCa.pem, oldCa.pem]], ["new only (drop the old)", () => [newCa.pem]]] as const) {
        it(`${order}: the CA file and a leaf of the new CA are ok, neither spec-changed nor foreign`, () => {
            const r = compareNode([caWanted, apiserverWanted()], inventory([...pems()]), opts);
            expect(r.files.map((f) => [f.key, f.reasons])).toEqual([["ca.crt", ["ok"]], ["apiserver.crt", ["ok"]]]);
            // check --host (no stack): judged by the node's own CAs.
            const alone = compareNode(undefined, inventory([...pems()]), opts);
            expect(alone.files.map((f) => [f.key, f.reasons])).toEqual([["ca.crt", ["ok"]], ["apiserver.crt", ["ok"]]]);
        });
    }

    it("a leaf of a CA the file does not hold is still foreign", async () => {
        const r = compareNode([caWanted, apiserverWanted()], inventory([oldCa.pem]), opts);
        expect(r.files.find((f) => f.key === "apiserver.crt")!.detail).toContain(`not signed by ${CA}`);
        const alone = compareNode(undefined, inventory([oldCa.pem]), opts);
        expect(alone.files.find((f) => f.key === "apiserver.crt")!.reasons).toContain("spec-changed");
    });
});

describe("inventory.sh prints every certificate of a file and of a kubeconfig's CA data", () => {
    let root: string;
    beforeAll(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "kp-inv-bundle-"));
        const put = (p: string, text: string, mode = 0o644) => {
            fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
            fs.writeFileSync(path.join(root, p), text, { mode });
        };
        put(CA, oldCa.pem + newCa.pem);
        put(APISERVER, byNew);
        const b64 = (t: string) => Buffer.from(t).toString("base64");
        put(ADMIN, [
            "apiVersion: v1", "kind: Config", "clusters:", "- cluster:", `    certificate-authority-data: ${b64(newCa.pem + oldCa.pem)}`,
            "    server: https://10.0.0.11:6443", "  name: kubernetes", "users:", "- name: kubernetes-admin", "  user:",
            `    client-certificate-data: ${b64(byOld)}`, "",
        ].join("\n"), 0o600);
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    it("reads both CAs of ca.crt and of admin.conf's CA data", async () => {
        const node: NodeSpec = { name: "local", role: "master", advertiseAddress: "10.0.0.11", transport: "local", localRoot: root };
        const inv = await readInventory(node, KUBEADM_LAYOUT);
        expect(inv.reachable).toBe(true);
        const ca = inv.files.find((f) => f.path === CA)!;
        expect(ca.bundle!.map((c) => c.sha256)).toEqual([sha(oldCa.pem), sha(newCa.pem)]);
        expect(inv.files.find((f) => f.path === APISERVER)!.cert!.signedBy).toBe(CA);
        const admin = inv.files.find((f) => f.path === ADMIN)!;
        expect(admin.kubeconfig!.caBundle!.map((c) => c.sha256)).toEqual([sha(newCa.pem), sha(oldCa.pem)]);
        expect(admin.cert!.signedBy).toBe(CA);
    });
});
