/**
 * kube-pki:kubelet.clientCertificate rotate: which kubelets get a client certificate from kube-pki
 * (src/pki/kubelet-client.ts), the preview row, and kubelet.conf in kubeadm's post-finalize form.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { attributeIssuer, parseCert, type CertInfo } from "../../src/drift/cert-info";
import type { InventoryFile, NodeInventory } from "../../src/drift/inventory";
import { KUBELET_CLIENT_ROW, kubeletClientRow, planFileActions } from "../../src/drift/actions";
import { renderRotatingKubeletConfig } from "../../src/pki/kubeconfig";
import { rotationMarker, type RotationDecision, type RotationPhase } from "../../src/pki/ca-rotation";
import { decideKubeletClient, decideKubeletClients, kubeletTrustsAlready, pemSha256, type KubeletClientRotation } from "../../src/pki/kubelet-client";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T00:00:00Z");
const CA = "/etc/kubernetes/pki/ca.crt";
const rotate: ClusterSpec = { ...haCluster("1.30.4", 1), kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" } };
const worker = rotate.nodes.find((n) => n.name === "worker-1")!;

function cert(over: Partial<CertInfo> & { issued: number; days: number }): CertInfo {
    const notBefore = new Date(NOW.getTime() - over.issued * DAY);
    return {
        subjectCN: "system:node:worker-1", subjectO: ["system:nodes"], issuerCN: "kubernetes", issuerO: [],
        dnsNames: [], ipAddresses: [], notBefore, notAfter: new Date(notBefore.getTime() + over.days * DAY),
        sha256: "ab".repeat(32), serialNumber: "1", isCa: false, selfSigned: false, signedBy: CA, pem: "", ...over,
    };
}

function inventory(current: Partial<InventoryFile> | undefined, rotation: boolean | "no config" = true): NodeInventory {
    const rotateCertificates = rotation === "no config" ? undefined : rotation;
    const files: InventoryFile[] = current === undefined ? [] : [{
        key: "kubelet-client-current", path: "/var/lib/kubelet/pki/kubelet-client-2025-09-01-00-00-00.pem", kind: "kubelet-pem", exists: true,
        linkTarget: "/var/lib/kubelet/pki/kubelet-client-2025-09-01-00-00-00.pem", ...current,
    }];
    return {
        node: "worker-1", role: "worker", reachable: true, files, served: [],
        kubeletConfig: { present: rotateCertificates !== undefined, ...(rotateCertificates !== undefined ? { rotateCertificates } : {}) },
    };
}

const decide = (inv: NodeInventory | undefined, spec = rotate) => decideKubeletClient(spec, worker, inv, NOW);

describe("which kubelet client certificates kube-pki replaces", () => {
    it("embedded stacks and nodes that were not read: no decision (nothing declared)", () => {
        expect(decide(inventory({ cert: cert({ issued: 500, days: 365 }) }), haCluster("1.30.4", 1))).toBeUndefined();
        expect(decide(undefined)).toBeUndefined();
        expect(decide({ ...inventory(undefined), reachable: false })).toBeUndefined();
    });

    it("a healthy rotated certificate is left to the kubelet", () => {
        const d = decide(inventory({ cert: cert({ issued: 100, days: 365 }) }))!;
        expect(d).toMatchObject({ action: "keep", declare: false, rotation: true });
        expect(d.reason).toBe("ok (expires in 265 d; the kubelet rotates it)");
    });

    const cases: Array<[string, Partial<InventoryFile> | undefined, RegExp]> = [
        ["missing", undefined, /^missing \(\/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem\)$/],
        ["unreadable", { unreadable: true }, /^not readable$/],
        ["not a certificate", { parseError: "no PEM certificate in file" }, /^no PEM certificate in file$/],
        ["key mismatch", { cert: cert({ issued: 10, days: 365 }), keyMatches: false }, /key does not match/],
        ["expired", { cert: cert({ issued: 400, days: 365 }) }, /^expired 35 d ago$/],
        ["foreign CA", { cert: cert({ issued: 10, days: 365, issuerCN: "other-ca", signedBy: undefined }) }, /^signed by another CA \(issuer CN=other-ca, not \/etc\/kubernetes\/pki\/ca\.crt\)$/],
        ["another node's identity", { cert: cert({ issued: 10, days: 365, subjectCN: "system:node:worker-9" }) }, /CN=system:node:worker-9 .*not CN=system:node:worker-1/],
        ["past 90 % of its lifetime", { cert: cert({ issued: 335, days: 365 }) }, /^91 % of its lifetime used \(expires in 30 d\): the kubelet's own rotation/],
        ["inside renew-before (short lifetime)", { cert: cert({ issued: 100, days: 120 }) }, /^expires in 20 d, inside renew-before 30 d$/],
    ];
    for (const [what, file, reason] of cases) {
        it(`${what}: reissued`, () => {
            const d = decide(inventory(file))!;
            expect(d.action).toBe("reissue");
            expect(d.declare).toBe(true);
            expect(d.reason).toMatch(reason);
        });
    }

    it("kube-pki's own file stays declared while the link points at it, and is dropped once the kubelet rotated", () => {
        const ours = "/var/lib/kubelet/pki/kubelet-client-kube-pki-2026-05-01-00-00-00.pem";
        const d = decide(inventory({ path: ours, linkTarget: ours, cert: cert({ issued: 31, days: 365 }) }))!;
        expect(d).toMatchObject({ action: "keep", declare: true });
        expect(d.reason).toBe("kube-pki's certificate in use; kept until the kubelet rotates it");
        expect(decide(inventory({ cert: cert({ issued: 1, days: 365 }) }))!.declare).toBe(false);
    });
});

describe("the preview row", () => {
    it("names expiry, issuer, rotation and the action with its reason", () => {
        const row = kubeletClientRow(rotate, decide(inventory({ cert: cert({ issued: 10, days: 365, issuerCN: "old-ca", signedBy: undefined }) }, false)), "2027-06-01T00:00:00.000Z")!;
        expect(row).toEqual({
            action: "reissue", expires: "2027-06-01T00:00:00.000Z",
            reason: "signed by another CA (issuer CN=old-ca, not /etc/kubernetes/pki/ca.crt) [issuer CN=old-ca; rotation off]",
        });
        const keep = kubeletClientRow(rotate, decide(inventory({ cert: cert({ issued: 10, days: 365 }) }, "no config")), "x")!;
        expect(keep.action).toBe("keep");
        expect(keep.reason).toBe("ok (expires in 355 d; rotateCertificates unknown) [issuer CN=kubernetes; rotation unknown (no kubelet config)]");
        expect(keep.expires).toBe(cert({ issued: 10, days: 365 }).notAfter.toISOString());
    });
});

describe("no kubelet restart for kubelet.conf's new form", () => {
    const base = decide(inventory({ cert: cert({ issued: 10, days: 365 }) }))!;
    const trusting = { ...base, trust: { caCrt: "c", kubeconfigCa: "c", server: "https://k8s:6443" } };
    it("only a rotating kubelet that trusts the same CA and endpoint", () => {
        expect(kubeletTrustsAlready(trusting, "c", "https://k8s:6443")).toBe(true);
        expect(kubeletTrustsAlready({ ...trusting, rotation: false }, "c", "https://k8s:6443")).toBe(false);
        expect(kubeletTrustsAlready(trusting, "new-ca", "https://k8s:6443")).toBe(false);
        expect(kubeletTrustsAlready(trusting, "c", "https://other:6443")).toBe(false);
        // Reissuing does not change the answer: the kubelet-client step restarts the kubelet itself.
        expect(kubeletTrustsAlready({ ...trusting, action: "reissue" }, "c", "https://k8s:6443")).toBe(true);
        expect(kubeletTrustsAlready(undefined, "c", "https://k8s:6443")).toBe(false);
    });
});

describe("kubelet.conf in kubeadm's post-kubelet-finalize form", () => {
    it("names kubelet-client-current.pem for certificate and key and holds no key material", () => {
        const text = renderRotatingKubeletConfig({
            clusterName: "prod", server: "https://k8s:6443", caCertPem: "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n",
            nodeName: "worker-1", clientPemPath: "/var/lib/kubelet/pki/kubelet-client-current.pem",
        });
        expect(parse(text)).toEqual({
            apiVersion: "v1", kind: "Config", preferences: {},
            clusters: [{ name: "prod", cluster: { "certificate-authority-data": Buffer.from("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n").toString("base64"), server: "https://k8s:6443" } }],
            contexts: [{ name: "system:node:worker-1@prod", context: { cluster: "prod", user: "system:node:worker-1" } }],
            "current-context": "system:node:worker-1@prod",
            users: [{ name: "system:node:worker-1", user: {
                "client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem", "client-key": "/var/lib/kubelet/pki/kubelet-client-current.pem",
            } }],
        });
        expect(text).not.toMatch(/-data: .*\n.*key-data|client-key-data|client-certificate-data/);
    });

    it("pemSha256 is the certificate's DER fingerprint (what the inventory reports)", () => {
        const dir = mkdtempSync(join(tmpdir(), "kpki-kc-"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=kubernetes",
            "-keyout", join(dir, "k"), "-out", join(dir, "c"), "-days", "1"], { stdio: "ignore" });
        const pem = readFileSync(join(dir, "c"), "utf8");
        expect(pemSha256(pem)).toBe(new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase());
    });
});

describe("during a rotation of the cluster CA (real certificates)", () => {
    // Old CA, the new one kube-pki generates (subject O = rotationMarker), one adopted from files
    // (same CN, no marker) and a foreign one; kubelet client certificates signed by each.
    const dir = mkdtempSync(join(tmpdir(), "kpki-kc-rot-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    function makeCa(name: string, subject: string): string {
        openssl("req", "-x509", ...ecKey, "-subj", subject, "-days", "3650", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return readFileSync(join(dir, `${name}.crt`), "utf8");
    }
    function makeClient(ca: string): string {
        const name = `client-by-${ca}`;
        openssl("req", "-new", ...ecKey, "-subj", "/O=system:nodes/CN=system:node:worker-1", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.csr`));
        writeFileSync(join(dir, "ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
        openssl("x509", "-req", "-in", join(dir, `${name}.csr`), "-CA", join(dir, `${ca}.crt`), "-CAkey", join(dir, `${ca}.key`),
            "-CAcreateserial", "-days", "365", "-extfile", join(dir, "ext"), "-out", join(dir, `${name}.crt`));
        return readFileSync(join(dir, `${name}.crt`), "utf8");
    }
    const pems = {
        old: makeCa("old", "/CN=kubernetes"),
        generated: makeCa("generated", `/O=${rotationMarker("2027")}/CN=kubernetes`),
        adopted: makeCa("adopted", "/O=ops/CN=kubernetes"),
        foreign: makeCa("foreign", "/CN=kubernetes"),
    };
    const clients = { old: makeClient("old"), generated: makeClient("generated"), adopted: makeClient("adopted"), foreign: makeClient("foreign") };
    const now = new Date();
    const own = "/var/lib/kubelet/pki/kubelet-client-2026-01-01-00-00-00.pem";
    const ours = "/var/lib/kubelet/pki/kubelet-client-kube-pki-2026-01-01-00-00-00.pem";

    /**
     * A node's reading as the inventory makes it: ca.crt holds `bundle` (both CAs during a
     * rotation, the signing one first) and any of its certificates attributes the client's.
     */
    function node(client: keyof typeof clients, bundle: ReadonlyArray<keyof typeof pems>, link = own): NodeInventory {
        const cas = bundle.map((ca) => ({ path: CA, cert: parseCert(pems[ca]) }));
        const cert = parseCert(clients[client]);
        attributeIssuer(cert, cas);
        return {
            node: "worker-1", role: "worker", reachable: true, served: [], kubeletConfig: { present: true, rotateCertificates: true },
            files: [
                { key: "ca.crt", path: CA, kind: "certificate", exists: true, cert: cas[0].cert },
                { key: "kubelet-client-current", path: link, kind: "kubelet-pem", exists: true, linkTarget: link, cert, keyMatches: true },
            ],
        };
    }
    // ca.crt through a rotation: before it, trust-both (and abort-trust), reissue, drop-old done.
    const OLD = ["old"] as const, BOTH = ["old", "generated"] as const, NEW_FIRST = ["generated", "old"] as const, NEW = ["generated"] as const;
    const rotation = (phase: RotationPhase, adopted = false): KubeletClientRotation => {
        const decision: RotationDecision = { ca: "ca", id: "2027", phase, complete: false, summary: `CA rotation ca → 2027: ${phase}` };
        return adopted ? { decision, newCaCertPem: pems.adopted } : { decision };
    };
    const decideIn = (inv: NodeInventory, r?: KubeletClientRotation) => decideKubeletClient(rotate, worker, inv, now, r)!;

    it("the test certificates chain as the node would see them (openssl verify)", () => {
        for (const ca of ["old", "generated", "adopted", "foreign"] as const) {
            expect(execFileSync("openssl", ["verify", "-purpose", "sslclient", "-CAfile", join(dir, `${ca}.crt`), join(dir, `client-by-${ca}.crt`)], { encoding: "utf8" }))
                .toMatch(/: OK/);
        }
        expect(parseCert(clients.generated).issuerO).toEqual([rotationMarker("2027")]);
        expect(parseCert(clients.adopted).issuerCN).toBe(parseCert(clients.old).issuerCN);
    });

    it("reissue and drop-old: a certificate from the old CA is reissued and declared", () => {
        for (const phase of ["reissue", "drop-old"] as const) {
            // The node before the phase (both trusted, old first) and after an interrupted one (new first).
            for (const bundle of [BOTH, NEW_FIRST]) {
                expect(decideIn(node("old", bundle), rotation(phase)))
                    .toMatchObject({ action: "reissue", declare: true, reason: "signed by the old CA during the rotation to 2027" });
            }
        }
        // Without the rotation the same node is left to the kubelet.
        expect(decideIn(node("old", BOTH))).toMatchObject({ action: "keep", declare: false });
    });

    it("reissue and drop-old: a certificate from the new CA is left to the kubelet", () => {
        for (const phase of ["reissue", "drop-old"] as const) {
            for (const bundle of [BOTH, NEW_FIRST, NEW]) {
                const d = decideIn(node("generated", bundle), rotation(phase));
                expect(d).toMatchObject({ action: "keep", declare: false });
                expect(d.reason).toMatch(/^ok \(expires in 36\d d; the kubelet rotates it\)$/);
            }
        }
    });

    it("kube-pki's own file: reissued while from the old CA, declared until the kubelet rotated to one from the new CA", () => {
        const old = decideIn(node("old", BOTH, ours), rotation("reissue"));
        expect(old).toMatchObject({ action: "reissue", declare: true, reason: "signed by the old CA during the rotation to 2027 (kube-pki's certificate in use)" });
        const fresh = decideIn(node("generated", NEW_FIRST, ours), rotation("reissue"));
        expect(fresh).toMatchObject({ action: "keep", declare: true, reason: "kube-pki's certificate in use; kept until the kubelet rotates it" });
        expect(decideIn(node("generated", NEW, ours), rotation("drop-old"))).toMatchObject({ action: "keep", declare: true });
        // The kubelet rotated (the controller-manager signs with the new key): let go.
        expect(decideIn(node("generated", NEW), rotation("drop-old"))).toMatchObject({ action: "keep", declare: false });
    });

    it("abort-trust and abort-drop-new mirror it: the new CA's certificate is reissued, the old one's kept", () => {
        for (const phase of ["abort-trust", "abort-drop-new"] as const) {
            for (const bundle of [NEW_FIRST, BOTH]) {
                expect(decideIn(node("generated", bundle), rotation(phase)))
                    .toMatchObject({ action: "reissue", declare: true, reason: "signed by the new CA during the abort of the rotation to 2027" });
                expect(decideIn(node("generated", bundle, ours), rotation(phase)))
                    .toMatchObject({ action: "reissue", declare: true, reason: "signed by the new CA during the abort of the rotation to 2027 (kube-pki's certificate in use)" });
                expect(decideIn(node("old", bundle), rotation(phase))).toMatchObject({ action: "keep", declare: false });
                expect(decideIn(node("old", bundle, ours), rotation(phase))).toMatchObject({ action: "keep", declare: true });
            }
            expect(decideIn(node("old", OLD), rotation(phase))).toMatchObject({ action: "keep", declare: false });
        }
    });

    it("an adopted new CA is known by its signature, not its name", () => {
        expect(decideIn(node("adopted", ["old", "adopted"]), rotation("reissue", true))).toMatchObject({ action: "keep", declare: false });
        // Even where ca.crt does not attribute it (a node whose anchors still lack it).
        expect(decideIn(node("adopted", OLD), rotation("reissue", true))).toMatchObject({ action: "keep", declare: false });
        expect(decideIn(node("old", ["adopted", "old"]), rotation("reissue", true)))
            .toMatchObject({ action: "reissue", declare: true, reason: "signed by the old CA during the rotation to 2027" });
        // A marker in the issuer's name is no proof when the new CA is adopted.
        expect(decideIn(node("generated", ["old", "adopted"]), rotation("reissue", true)))
            .toMatchObject({ action: "reissue", reason: "signed by another CA (issuer CN=kubernetes, not /etc/kubernetes/pki/ca.crt)" });
        expect(decideIn(node("adopted", ["adopted", "old"]), rotation("abort-trust", true)))
            .toMatchObject({ action: "reissue", reason: "signed by the new CA during the abort of the rotation to 2027" });
    });

    it("a foreign CA stays foreign during a rotation; a marker without a CA in ca.crt that verifies it is no proof either", () => {
        for (const phase of ["reissue", "abort-trust"] as const) {
            expect(decideIn(node("foreign", BOTH), rotation(phase)))
                .toMatchObject({ action: "reissue", declare: true, reason: "signed by another CA (issuer CN=kubernetes, not /etc/kubernetes/pki/ca.crt)" });
        }
        expect(decideIn(node("generated", OLD), rotation("reissue")))
            .toMatchObject({ action: "reissue", declare: true, reason: "signed by another CA (issuer CN=kubernetes, not /etc/kubernetes/pki/ca.crt)" });
    });

    it("no rotation, or trust-both: exactly today's decisions", () => {
        const readings = [node("old", OLD), node("old", BOTH), node("old", BOTH, ours), node("foreign", BOTH), node("generated", NEW_FIRST), node("generated", OLD)];
        for (const inv of readings) {
            const today = decideIn(inv);
            expect(decideIn(inv, rotation("trust-both"))).toEqual(today);
            expect(decideIn(inv, rotation("trust-both", true))).toEqual(today);
        }
        expect(decideKubeletClients(rotate, [node("old", OLD)], now)).toEqual({ "worker-1": decideIn(node("old", OLD)) });
    });

    it("the preview row says what the run does: reissue during the rotation, keep without it", () => {
        const row = (r?: KubeletClientRotation) => planFileActions(rotate, [node("old", BOTH)], { now, ...(r ? { kubeletRotation: r } : {}) })["worker-1"][KUBELET_CLIENT_ROW];
        expect(row(rotation("reissue"))).toMatchObject({ action: "reissue", reason: "signed by the old CA during the rotation to 2027 [issuer CN=kubernetes; rotation on]" });
        expect(row()).toMatchObject({ action: "keep", reason: /^ok \(expires in 36\d d; the kubelet rotates it\)/ });
    });

    it("decideKubeletClients passes the rotation to every node; another CA's rotation is refused", () => {
        expect(decideKubeletClients(rotate, [node("old", BOTH)], now, rotation("reissue"))["worker-1"])
            .toMatchObject({ action: "reissue", declare: true, reason: "signed by the old CA during the rotation to 2027" });
        const etcd: KubeletClientRotation = { decision: { ...rotation("reissue").decision, ca: "etcd-ca" } };
        expect(() => decideIn(node("old", BOTH), etcd)).toThrow(/cluster CA's rotation, not etcd-ca's/);
    });
});
