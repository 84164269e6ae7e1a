/**
 * A stack that takes over only part of a cluster not made by kubeadm (issue 11, the live
 * handbuilt (a) case): the cluster CA adopted, every other catalogue entry omitted but kube-pki's
 * own admin.conf, kubelet client certificates in rotate mode. Omitted entries are neither read
 * nor declared (the sa pair), and a component restarts only when a file it reads gets content
 * kube-pki makes: the apiserver, reading only the adopted ca.crt, is neither restarted nor
 * checked at its (omitted) apiserver.crt. Echo mocks: the resource graph, no crypto.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { NodeInventory } from "../src/drift/inventory";
import { kubePki } from "../src/program";
import { adoptedContent, componentsToRestart, servedCheck } from "../src/rollout/plan";
import type { ClusterSpec } from "../src/spec";
import { haCluster } from "./fixtures/cluster";
import { createAdoptingEchoMocks } from "./harness/mocks/echo-mocks";
import { runProgram } from "./harness/mocks/run-program";

const CA = "/etc/kubernetes/ssl/ca.pem";
const CA_KEY = "/etc/kubernetes/ssl/ca-key.pem";
const ADMIN = "/etc/kubernetes/kube-pki-admin.conf";
const OMIT = ["front-proxy-ca", "etcd-ca", "apiserver", "apiserver-kubelet-client", "front-proxy-client", "etcd-server", "etcd-peer",
    "etcd-healthcheck-client", "apiserver-etcd-client", "sa", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"];

function kubeletOnly(omit = OMIT): ClusterSpec {
    return haCluster("1.28.15", 1, {
        layout: { kind: "custom", kubernetesDir: "/etc/kubernetes", restart: "systemd", componentServingCerts: false, omit,
            paths: { "ca.crt": CA, "ca.key": CA_KEY, "admin.conf": ADMIN }, components: { kubelet: { restart: "systemd", unit: "kubelet" } } },
        authorities: { ca: "adopt", etcdCa: "same-as-ca", frontProxyCa: "same-as-ca", serviceAccount: "adopt", adoptFrom: "master-1", keyAlgorithm: "ECDSA-P256" },
        kubelet: { clientCertificate: "rotate", servingCertificate: "self-signed" },
        clusterObjects: { enabled: false },
    });
}

/** Every kubelet's client certificate missing: kube-pki declares one per node. */
const noClients = (spec: ClusterSpec): NodeInventory[] =>
    spec.nodes.map((n) => ({ node: n.name, role: n.role, reachable: true, files: [], served: [] }));

async function up(spec: ClusterSpec) {
    const inspect = async () => ({ reasons: {}, repairs: {}, report: "", inventories: noClients(spec) });
    return runProgram(() => kubePki({ spec, inspect }), { mocks: createAdoptingEchoMocks(), stack: "handbuilt" });
}

const commandText = (inputs: Record<string, any>) => JSON.stringify([inputs.create, inputs.update]);

describe("a stack taking over only the kubelet client certificates", () => {
    it("reads and declares no sa pair when sa is omitted; the adopted CA is the only reading", async () => {
        const res = await up(kubeletOnly());
        const adopts = res.resources.filter((r) => r.name.endsWith("-adopt"));
        expect(adopts.map((r) => r.name)).toEqual(["prod-ca-adopt"]);
        expect(commandText(adopts[0].inputs)).toContain(CA_KEY);
        for (const r of res.resources) {
            expect(r.name, r.urn).not.toMatch(/-sa(-|$)/);
            expect(commandText(r.inputs), r.name).not.toContain("/etc/kubernetes/pki/sa.");
        }
    });

    it("restarts only the kubelets (through their client certificate step); the apiserver is never restarted nor checked at apiserver.crt", async () => {
        const spec = kubeletOnly();
        const res = await up(spec);
        const names = res.resources.filter((r) => r.type === "command:remote:Command").map((r) => r.name);
        const restarts = names.filter((n) => /-(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet)$/.test(n));
        expect(restarts).toEqual([]);
        expect(names.filter((n) => n.endsWith("-kubelet-client")).sort()).toEqual(spec.nodes.map((n) => `prod-rollout-${n.name}-kubelet-client`).sort());
        for (const r of res.resources) expect(commandText(r.inputs), r.name).not.toContain("/etc/kubernetes/pki/apiserver.crt");
    });

    it("counts a file as unchanged only when its content is adopted (same-as-ca follows the cluster CA)", () => {
        const spec = kubeletOnly();
        expect(adoptedContent("ca", spec)).toBe(true);
        expect(adoptedContent("etcd-ca", spec)).toBe(true);
        expect(adoptedContent("sa", spec)).toBe(true);
        expect(adoptedContent("admin.conf", spec)).toBe(false);
        expect(adoptedContent("apiserver", spec)).toBe(false);
        const generated = { ...spec, authorities: { ...spec.authorities, ca: "generate" as const } };
        expect(adoptedContent("ca", generated)).toBe(false);
        expect(adoptedContent("etcd-ca", generated)).toBe(false);
        // A generated CA's new ca.crt restarts every reader; an adopted one none (the kubelet-client step restarts kubelets).
        const caOnly = [{ key: "ca.crt", path: CA, source: "ca", consumers: ["kube-apiserver", "kube-controller-manager", "kubelet"] }] as any;
        expect(componentsToRestart(caOnly, "master", generated)).toEqual(["kube-apiserver", "kube-controller-manager", "kubelet"]);
        expect(componentsToRestart(caOnly, "master", spec)).toEqual([]);
        expect(componentsToRestart(caOnly, "master")).toEqual(["kube-apiserver", "kube-controller-manager", "kubelet"]);
    });

    it("gives a component whose served certificate is omitted no served check; kept, it is checked as before", () => {
        const spec = kubeletOnly();
        const master = spec.nodes[0];
        expect(servedCheck("kube-apiserver", master, spec)).toEqual({});
        expect(servedCheck("etcd", master, spec)).toEqual({});
        const kept = kubeletOnly(OMIT.filter((id) => id !== "apiserver"));
        expect(servedCheck("kube-apiserver", master, kept)).toEqual({ endpoint: "10.0.0.11:6443", certPath: "/etc/kubernetes/pki/apiserver.crt" });
    });
});
