/**
 * The CA rotation scenario shared by test/e2e/ca-rotation-*.live.test.ts and bench/ca-rotation.ts:
 * the simulated cluster (3 masters + 1 worker), the stack before and during the rotation
 * (`kube-pki:authorities.rotate.<key>: { id, source: generate }`), what each phase must leave on
 * the nodes, and how the new CA (certificate from a node, key from the run's state) is found.
 * No vitest here: the bench imports it.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { RotatableAuthority, ClusterSpec } from "../../src/spec";
import type { RunResult } from "../harness/mocks";
import { issueCert, type SimClusterOptions, type SimCluster, type SimNode } from "../harness/sim";
import { anchorOrder, certPublic, keyFilePublic, knownCa, kubeconfigsOf, leafSigners, pemCerts, type KnownCa } from "./ca-rotation-judges";
import { specFor } from "./sim-spec";

export const ROTATION_ID = "r1";

/** 3 masters + 1 worker; leaves valid long enough that no renewal mixes into the phases. */
export const ROTATION_SIM: SimClusterOptions = { masters: 3, workers: 1, leafExpiresInDays: 200, keyType: "ecdsa-p256", rootLoginShell: "/bin/sh" };

export type PhaseName = "trust-both" | "reissue" | "drop-old";
export const PHASES: readonly PhaseName[] = ["trust-both", "reissue", "drop-old"];

/** What each phase (and the cluster before the rotation) leaves in every trust anchor (in order), which CA signs every leaf, the CA key file. */
export const EXPECTED: Record<PhaseName | "before", { trust: string[]; signer: string; key: string }> = {
    "before": { trust: ["old"], signer: "old", key: "old" },
    "trust-both": { trust: ["old", "new"], signer: "old", key: "old" },
    "reissue": { trust: ["new", "old"], signer: "new", key: "new" },
    "drop-old": { trust: ["new"], signer: "new", key: "new" },
};

/** The rotating CA of a scenario: its config key, CA id, CA files on masters and trust anchors of a node. */
export interface RotatingCa {
    key: RotatableAuthority;
    caId: "ca" | "etcd-ca" | "front-proxy-ca";
    certPath: string;
    keyPath: string;
    /** Node path (or "<kubeconfig> certificate-authority-data") → text of every trust anchor of this CA on the node. */
    anchors(node: SimNode): Record<string, string>;
}

export const ETCD_CA: RotatingCa = {
    key: "etcdCa", caId: "etcd-ca", certPath: "/etc/kubernetes/pki/etcd/ca.crt", keyPath: "/etc/kubernetes/pki/etcd/ca.key",
    anchors: (node): Record<string, string> => (node.role === "master"
        ? { "/etc/kubernetes/pki/etcd/ca.crt": fs.readFileSync(node.realHostPath("/etc/kubernetes/pki/etcd/ca.crt"), "utf8") } : {}),
};

export const CLUSTER_CA: RotatingCa = {
    key: "ca", caId: "ca", certPath: "/etc/kubernetes/pki/ca.crt", keyPath: "/etc/kubernetes/pki/ca.key",
    anchors: (node) => ({
        "/etc/kubernetes/pki/ca.crt": fs.readFileSync(node.realHostPath("/etc/kubernetes/pki/ca.crt"), "utf8"),
        ...Object.fromEntries(kubeconfigsOf(node).map((kc) => [`${kc.file} certificate-authority-data`, kc.caPem])),
    }),
};

/** The stack the tests start from (kubeadm's own kubelet client rotation, as kubeadm seeds it). */
export function baseSpec(sim: SimCluster): ClusterSpec {
    return specFor(sim, {
        rollout: { restart: true, workerBatchSize: 2, componentTimeoutSeconds: 30, clockSkewToleranceSeconds: 30, keepBackups: 3 },
        kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" },
    });
}

/** `kube-pki:authorities.rotate.<key>: { id, source: generate }` on top of `spec`. */
export function rotating(spec: ClusterSpec, ca: RotatingCa, id = ROTATION_ID): ClusterSpec {
    return { ...spec, authorities: { ...spec.authorities, rotate: { [ca.key]: { id, source: "generate", abort: false } } } };
}

/** Runs `fn` while collecting every pulumi.log.info/warn message (the program's preview lines). */
export async function withLogs<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; lines: string[] }> {
    const lines: string[] = [];
    const log = pulumi.log as { info: typeof pulumi.log.info; warn: typeof pulumi.log.warn };
    const { info, warn } = log;
    log.info = (msg: string, ...rest: any[]) => { lines.push(msg); return info(msg, ...rest); };
    log.warn = (msg: string, ...rest: any[]) => { lines.push(msg); return warn(msg, ...rest); };
    try {
        return { result: await fn(), lines };
    } catch (error) {
        return { error, lines };
    } finally {
        log.info = info;
        log.warn = warn;
    }
}

/** The program's line(s) about the rotation of `ca` (the agreed "CA rotation <ca id> → <id>: …" line). */
export function rotationLines(lines: readonly string[], ca: RotatingCa, id = ROTATION_ID): string[] {
    const names = new RegExp(`CA rotation\\s+${ca.caId}\\s.*${id}`);
    return lines.filter((l) => names.test(l));
}

/**
 * The new CA after trust-both: the certificate of master-1's CA file that is not the old one, and
 * its key from the run's state (the PrivateKey whose public key is the certificate's), written
 * 0600 to a private temp dir so that openssl can sign probe clients with it.
 */
export async function newCaFrom(sim: SimCluster, ca: RotatingCa, old: KnownCa, result: RunResult): Promise<{ ca: KnownCa; keyFile: string }> {
    const bundle = pemCerts(fs.readFileSync(sim.masters[0].realHostPath(ca.certPath), "utf8"));
    const others = [];
    for (const pem of bundle) if (new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase() !== old.fingerprint) others.push(pem);
    if (others.length !== 1) throw new Error(`${ca.certPath} on master-1 holds ${bundle.length} certificate(s), ${others.length} not the old CA`);
    const der = (pem: string) => crypto.createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
    const pub = der(certPublic(others[0]));
    const key = result.ofType("tls:index/privateKey:PrivateKey").find((k) => k.outputs.publicKeyPem && der(String(k.outputs.publicKeyPem)) === pub);
    if (!key) throw new Error(`no PrivateKey in the run's state has the public key of the new ${ca.caId}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-newca-"));
    const keyFile = path.join(dir, "new-ca.key");
    fs.writeFileSync(keyFile, String(key.outputs.privateKeyPem), { mode: 0o600 });
    return { ca: await knownCa("new", others[0]), keyFile };
}

/** An etcd client certificate signed by `issuer` (openssl, in a private temp dir): host paths. */
export async function etcdProbeClient(cn: string, issuer: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-probe-"));
    const out = { cert: path.join(dir, `${cn}.crt`), key: path.join(dir, `${cn}.key`) };
    await issueCert({ cn, eku: ["clientAuth"], issuer, issuedDaysAgo: 1, validDays: 30, keyType: "ecdsa-p256", out });
    return out;
}

/** What every node holds of the rotating CA: anchors (names of the CAs, in order), leaf signers, CA key on masters. */
export interface NodeHoldings {
    anchors: Record<string, string[]>;
    /** Leaf → "old" | "new" (leaves of other CAs left out). */
    leaves: Record<string, string>;
    key?: string;
}

export async function holdings(sim: SimCluster, ca: RotatingCa, cas: readonly KnownCa[]): Promise<Record<string, NodeHoldings>> {
    const out: Record<string, NodeHoldings> = {};
    for (const n of sim.nodes) {
        const anchors: Record<string, string[]> = {};
        for (const [where, text] of Object.entries(ca.anchors(n))) anchors[where] = anchorOrder(text, cas);
        const leaves = Object.fromEntries(Object.entries(leafSigners(n, cas)).filter(([, s]) => s !== ""));
        let key: string | undefined;
        if (n.role === "master") {
            const pub = keyFilePublic(n, ca.keyPath);
            key = cas.find((c) => certPublic(c.pem) === pub)?.name ?? "?";
        }
        out[n.name] = { anchors, leaves, key };
    }
    return out;
}

/** What `holdings` must be after `phase`, given the leaves the cluster had before the rotation. */
export function expectedHoldings(sim: SimCluster, ca: RotatingCa, phase: PhaseName | "before", leavesBefore: Record<string, NodeHoldings>): Record<string, NodeHoldings> {
    const e = EXPECTED[phase];
    return Object.fromEntries(sim.nodes.map((n) => [n.name, {
        anchors: Object.fromEntries(Object.keys(ca.anchors(n)).map((w) => [w, e.trust])),
        leaves: Object.fromEntries(Object.keys(leavesBefore[n.name].leaves).map((w) => [w, e.signer])),
        key: n.role === "master" ? e.key : undefined,
    }]));
}
