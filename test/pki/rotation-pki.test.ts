/**
 * ClusterPki under a CA rotation, with real keys and certificates (executing mocks, tls only) and
 * successive runs on one state store, as successive `up`s: per phase, what the CA files, the CA
 * key, every kubeconfig's CA data and each leaf's signer are, checked with node:crypto.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ClusterPki } from "../../src/pki/cluster-pki";
import type { RotationDecision, RotationPhase } from "../../src/pki/ca-rotation";
import type { CaId } from "../../src/pki/catalog";
import { pemBlocks } from "../../src/pki/keys";
import { parse } from "yaml";
import type { ClusterSpec } from "../../src/spec";
import { haCluster } from "../fixtures/cluster";
import { createExecutingMocks } from "../harness/mocks/executing-mocks";
import { runProgram } from "../harness/mocks/run-program";
import { MockStateStore } from "../harness/mocks/state-store";
import type { RunResult } from "../harness/mocks/records";
import { createSelfSignedCert } from "../harness/mocks/tls-certs";
import { generatePrivateKey } from "../harness/mocks/tls-keys";

const SSC = "tls:index/selfSignedCert:SelfSignedCert";
const LSC = "tls:index/locallySignedCert:LocallySignedCert";
const KEY = "tls:index/privateKey:PrivateKey";

type Which = "old" | "new";
/** What each phase must put on the nodes (issue 14), written out independently of PHASE_CONTENTS. */
const WANT: Record<RotationPhase, { trust: Which[]; key: Which; signer: Which }> = {
    "trust-both": { trust: ["old", "new"], key: "old", signer: "old" },
    "reissue": { trust: ["new", "old"], key: "new", signer: "new" },
    "drop-old": { trust: ["new"], key: "new", signer: "new" },
    "abort-trust": { trust: ["old", "new"], key: "old", signer: "old" },
    "abort-drop-new": { trust: ["old"], key: "old", signer: "old" },
};

function spec(rotate: ClusterSpec["authorities"]["rotate"], overrides: Partial<ClusterSpec["authorities"]> = {}, kubelet?: ClusterSpec["kubelet"]): ClusterSpec {
    const base = haCluster("1.30.4", 1);
    return {
        ...base,
        keyAlgorithm: "ECDSA-P256",
        authorities: { ...base.authorities, keyAlgorithm: "ECDSA-P256", ...overrides, ...(rotate ? { rotate } : {}) },
        ...(kubelet ? { kubelet } : {}),
    };
}

const decision = (ca: CaId, id: string, phase: RotationPhase): RotationDecision => ({ ca, id, phase, complete: false, summary: `test: ${phase}` });

async function run(store: MockStateStore, cluster: ClusterSpec, rotations?: Partial<Record<CaId, RotationDecision>>): Promise<RunResult> {
    return runProgram(() => {
        const pki = new ClusterPki("prod", { cluster, ...(rotations ? { rotations } : {}) });
        return {
            files: Object.fromEntries(Object.entries(pki.nodes).map(([n, np]) => [n, Object.fromEntries(np.files.map((f) => [f.key, f.content]))])),
            caCertificates: pki.caCertificates,
            caBundles: pki.caBundles,
        };
    }, { mocks: createExecutingMocks({ store }), stack: "prod" });
}

const files = (res: RunResult, node: string): Record<string, string> => res.outputs.files.value[node];
const certsIn = (text: string): string[] => pemBlocks(text).filter((b) => b.type === "CERTIFICATE").map((b) => b.pem);
const caDataOf = (kubeconfig: string): string =>
    Buffer.from(parse(kubeconfig).clusters[0].cluster["certificate-authority-data"], "base64").toString("utf8");
const clientCertOf = (kubeconfig: string): string =>
    Buffer.from(parse(kubeconfig).users[0].user["client-certificate-data"], "base64").toString("utf8");

/** The CA's certificate and key as the state holds them. */
function caOf(res: RunResult, name: string): { cert: string; key: string } {
    return { cert: res.get(`${name}-cert`, SSC).outputs.certPem, key: res.get(`${name}-key`, KEY).outputs.privateKeyPem };
}

/** Signed by `ca` (signature and issuer name), checked with node:crypto. */
function signedBy(leafPem: string, caPem: string): boolean {
    const leaf = new X509Certificate(leafPem);
    const ca = new X509Certificate(caPem);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

const samePublicKey = (keyPem: string, certPem: string): boolean =>
    createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" }).equals(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" }));

const MASTERS = ["master-1", "master-2", "master-3"];

describe("etcd CA rotation: trust both → reissue → drop the old", () => {
    const rotate = { etcdCa: { id: "2027", source: "generate" as const, abort: false } };

    it("each phase puts exactly its CAs in etcd/ca.crt, its key in etcd/ca.key and its signer on every etcd leaf", async () => {
        const store = new MockStateStore();
        const before = await run(store, spec(undefined));
        const old = caOf(before, "prod-etcd-ca");
        const untouched = files(before, "master-1")["apiserver.crt"];
        expect(before.resources.some((r) => r.name.startsWith("prod-etcd-ca-2027"))).toBe(false);

        let newCa: { cert: string; key: string } | undefined;
        for (const phase of ["trust-both", "reissue", "drop-old"] as const) {
            const res = await run(store, spec(rotate), { "etcd-ca": decision("etcd-ca", "2027", phase) });
            // The new CA beside the old, named <cluster>-<ca>-<id>, same CN, O = the rotation marker.
            expect(res.get("prod-etcd-ca-2027", "kube-pki:index:CertificateAuthority").parent).toBe(res.get("prod-etcd-ca", "kube-pki:index:CertificateAuthority").parent);
            const fresh = caOf(res, "prod-etcd-ca-2027");
            expect(res.get("prod-etcd-ca-2027-cert", SSC).inputs.subject).toEqual({ commonName: "etcd-ca", organization: "kube-pki rotation 2027" });
            expect(new X509Certificate(fresh.cert).subject).toContain("O=kube-pki rotation 2027");
            newCa ??= fresh;
            // Neither CA changes from run to run (protected, never replaced).
            expect(fresh.cert).toBe(newCa.cert);
            expect(caOf(res, "prod-etcd-ca").cert).toBe(old.cert);
            expect(res.get("prod-etcd-ca-2027-cert", SSC).protect).toBe(true);
            expect(res.get("prod-etcd-ca-2027-key", KEY).protect).toBe(true);

            const pick = (w: Which) => (w === "old" ? old : newCa!);
            const want = WANT[phase];
            for (const node of MASTERS) {
                const f = files(res, node);
                expect(certsIn(f["etcd/ca.crt"]), `${phase} ${node} etcd/ca.crt`).toEqual(want.trust.map((w) => pick(w).cert));
                expect(f["etcd/ca.key"], `${phase} ${node} etcd/ca.key`).toBe(pick(want.key).key);
                expect(samePublicKey(f["etcd/ca.key"], certsIn(f["etcd/ca.crt"])[0]), "the key is the first certificate's").toBe(true);
                for (const leaf of ["etcd/server.crt", "etcd/peer.crt", "etcd/healthcheck-client.crt", "apiserver-etcd-client.crt"]) {
                    expect(signedBy(f[leaf], pick(want.signer).cert), `${phase} ${node} ${leaf} by the ${want.signer} CA`).toBe(true);
                    const other = want.signer === "old" ? newCa! : old;
                    expect(signedBy(f[leaf], other.cert), `${phase} ${node} ${leaf} not by the other`).toBe(false);
                }
                // The cluster CA's files are not the etcd CA's business.
                expect(certsIn(f["ca.crt"])).toHaveLength(1);
            }
            expect(files(res, "master-1")["apiserver.crt"]).toBe(untouched);
            expect(files(res, "worker-1")["etcd/ca.crt"]).toBeUndefined();
            expect(res.outputs.caCertificates.value["etcd-ca"]).toBe(pick(want.key).cert);
            expect(certsIn(res.outputs.caBundles.value["etcd-ca"])).toEqual(want.trust.map((w) => pick(w).cert));

            // Leaves are reissued (their certificate replaced) exactly when the signer changes: at reissue.
            const replaced = store.lastRun.replaced.filter((u) => u.includes(LSC)).map((u) => u.split("::").pop()!).sort();
            const etcdLeaves = MASTERS.flatMap((m) => [`prod-${m}-etcd-server-cert`, `prod-${m}-etcd-peer-cert`]).concat(["prod-apiserver-etcd-client-cert", "prod-etcd-healthcheck-client-cert"]).sort();
            expect(replaced, phase).toEqual(phase === "reissue" ? etcdLeaves : []);
            expect(store.lastRun.replaced.filter((u) => u.includes(SSC) || u.includes(KEY) && /-ca(-2027)?-key$/.test(u))).toEqual([]);
        }
    }, 120_000);

    it("abort after reissue: the old CA signs again with both trusted, then only the old is trusted", async () => {
        const store = new MockStateStore();
        const before = await run(store, spec(undefined));
        const old = caOf(before, "prod-etcd-ca");
        await run(store, spec(rotate), { "etcd-ca": decision("etcd-ca", "2027", "trust-both") });
        const reissued = await run(store, spec(rotate), { "etcd-ca": decision("etcd-ca", "2027", "reissue") });
        const fresh = caOf(reissued, "prod-etcd-ca-2027");
        expect(signedBy(files(reissued, "master-2")["etcd/server.crt"], fresh.cert)).toBe(true);
        const aborting = { etcdCa: { ...rotate.etcdCa, abort: true } };
        let last = reissued;
        for (const phase of ["abort-trust", "abort-drop-new"] as const) {
            const res = await run(store, spec(aborting), { "etcd-ca": decision("etcd-ca", "2027", phase) });
            last = res;
            const want = WANT[phase];
            const pick = (w: Which) => (w === "old" ? old : fresh);
            for (const node of MASTERS) {
                const f = files(res, node);
                expect(certsIn(f["etcd/ca.crt"]), `${phase} ${node}`).toEqual(want.trust.map((w) => pick(w).cert));
                expect(f["etcd/ca.key"]).toBe(old.key);
                expect(signedBy(f["etcd/server.crt"], old.cert), `${phase} ${node} etcd/server.crt`).toBe(true);
                expect(signedBy(f["apiserver-etcd-client.crt"], old.cert)).toBe(true);
            }
            // The new CA stays declared (protected) to the end of the abort.
            expect(caOf(res, "prod-etcd-ca-2027").cert).toBe(fresh.cert);
        }
        // Back where it started: the CA file is byte for byte the one before the rotation.
        expect(files(last, "master-1")["etcd/ca.crt"]).toBe(files(before, "master-1")["etcd/ca.crt"]);
        expect(files(last, "master-1")["etcd/ca.key"]).toBe(files(before, "master-1")["etcd/ca.key"]);
    }, 120_000);
});

describe("etcd CA rotation to an adopted CA (the operator's files, read by the config)", () => {
    it("uses the operator's certificate and key as they are: no CA generated, the key secret, leaves verified by it", async () => {
        const key = generatePrivateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem;
        const { certPem } = await createSelfSignedCert({
            privateKeyPem: key, subject: { commonName: "etcd-ca", organization: "operator" }, isCaCertificate: true, setSubjectKeyId: true,
            validityPeriodHours: 5 * 8760, allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
        } as Parameters<typeof createSelfSignedCert>[0], new Date());
        const rotate = { etcdCa: { id: "hsm", source: "adopt" as const, certFile: "/ops/ca.crt", keyFile: "/ops/ca.key", certPem, keyPem: key, abort: false } };
        const store = new MockStateStore();
        const before = await run(store, spec(undefined));
        const old = caOf(before, "prod-etcd-ca");
        const trust = await run(store, spec(rotate), { "etcd-ca": decision("etcd-ca", "hsm", "trust-both") });
        expect(trust.get("prod-etcd-ca-hsm", "kube-pki:index:CertificateAuthority")).toBeDefined();
        expect(trust.resources.filter((r) => r.name.startsWith("prod-etcd-ca-hsm-")).map((r) => r.name)).toEqual([]);
        expect(certsIn(files(trust, "master-1")["etcd/ca.crt"])).toEqual([old.cert, certPem]);
        const reissue = await run(store, spec(rotate), { "etcd-ca": decision("etcd-ca", "hsm", "reissue") });
        const f = files(reissue, "master-3");
        expect(certsIn(f["etcd/ca.crt"])).toEqual([certPem, old.cert]);
        expect(f["etcd/ca.key"]).toBe(key);
        expect(signedBy(f["etcd/server.crt"], certPem)).toBe(true);
        // The key reaches state only as a secret: the CA key input of the leaves it signs.
        const holders = reissue.resources.flatMap((r) => Object.entries(r.inputs)
            .filter(([, v]) => JSON.stringify(v).includes(key.split("\n")[1])).map(([k]) => ({ r, k })));
        expect(holders.length).toBeGreaterThan(0);
        for (const { r, k } of holders) expect(r.secretInputs, `${r.name}.${k}`).toContain(k);
    }, 120_000);
});

describe("cluster CA rotation (front-proxy CA same-as-ca, kubelet client certificates rotated by the kubelet)", () => {
    const rotate = { ca: { id: "next", source: "generate" as const, abort: false } };
    const kubelet: ClusterSpec["kubelet"] = { servingCertificate: "self-signed", clientCertificate: "rotate" };
    const cluster = (r?: ClusterSpec["authorities"]["rotate"]) => spec(r, { frontProxyCa: "same-as-ca" }, kubelet);

    it("each phase: ca.crt (and front-proxy-ca.crt), ca.key, every kubeconfig's CA data and every leaf of the cluster CA", async () => {
        const store = new MockStateStore();
        const before = await run(store, cluster());
        const old = caOf(before, "prod-ca");
        const etcdLeaf = files(before, "master-1")["etcd/server.crt"];
        for (const phase of ["trust-both", "reissue", "drop-old"] as const) {
            const res = await run(store, cluster(rotate), { ca: decision("ca", "next", phase) });
            const fresh = caOf(res, "prod-ca-next");
            expect(new X509Certificate(fresh.cert).subject).toContain("CN=kubernetes");
            const want = WANT[phase];
            const pick = (w: Which) => (w === "old" ? old : fresh);
            const trust = want.trust.map((w) => pick(w).cert);
            for (const node of [...MASTERS, "worker-1"]) {
                const f = files(res, node);
                expect(certsIn(f["ca.crt"]), `${phase} ${node} ca.crt`).toEqual(trust);
                // kubelet.conf in rotate mode names the kubelet's own PEM but carries the trust bundle.
                expect(certsIn(caDataOf(f["kubelet.conf"])), `${phase} ${node} kubelet.conf`).toEqual(trust);
            }
            for (const node of MASTERS) {
                const f = files(res, node);
                expect(certsIn(f["front-proxy-ca.crt"]), `${phase} ${node} front-proxy-ca.crt (same-as-ca)`).toEqual(trust);
                expect(f["ca.key"]).toBe(pick(want.key).key);
                for (const conf of ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"]) {
                    expect(certsIn(caDataOf(f[conf])), `${phase} ${node} ${conf}`).toEqual(trust);
                    expect(signedBy(clientCertOf(f[conf]), pick(want.signer).cert), `${phase} ${node} ${conf} client`).toBe(true);
                }
                for (const leaf of ["apiserver.crt", "apiserver-kubelet-client.crt", "front-proxy-client.crt"]) {
                    expect(signedBy(f[leaf], pick(want.signer).cert), `${phase} ${node} ${leaf}`).toBe(true);
                }
            }
            // The etcd CA's leaves are not the cluster CA's business.
            expect(files(res, "master-1")["etcd/server.crt"]).toBe(etcdLeaf);
            expect(certsIn(res.outputs.caBundles.value.ca)).toEqual(trust);
            expect(res.outputs.caCertificates.value.ca).toBe(pick(want.key).cert);
        }
    }, 120_000);
});

describe("no rotation", () => {
    it("keeps each CA's file its certificate alone, caBundles the certificates, and declares no second CA", async () => {
        const res = await run(new MockStateStore(), spec(undefined));
        for (const id of ["ca", "front-proxy-ca", "etcd-ca"]) expect(res.outputs.caBundles.value[id]).toBe(res.outputs.caCertificates.value[id]);
        expect(files(res, "master-1")["etcd/ca.crt"]).toBe(caOf(res, "prod-etcd-ca").cert);
        expect(res.ofType("kube-pki:index:CertificateAuthority").map((r) => r.name).sort()).toEqual(["prod-ca", "prod-etcd-ca", "prod-front-proxy-ca"]);
    }, 60_000);

    it("refuses a decision for a CA that is the cluster CA, naming the config key", async () => {
        const cluster = spec({ etcdCa: { id: "x", source: "generate", abort: false } }, { etcdCa: "same-as-ca" });
        await expect(run(new MockStateStore(), cluster, { "etcd-ca": decision("etcd-ca", "x", "trust-both") })).rejects.toThrow(/kube-pki:authorities\.rotate\.etcdCa: etcd-ca is no CA of its own/);
    }, 60_000);
});
