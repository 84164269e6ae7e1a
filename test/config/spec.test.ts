/** What a valid config turns into: defaults, derived values, key sources and path resolution. */
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import { fakeEnv, pinnedConfig, realHostKey, realPrivateKey, withConfig } from "./helpers";

describe("defaults", () => {
    it("fills every optional key with the documented default", () => {
        const spec = parseClusterSpec(pinnedConfig(), fakeEnv());
        expect(spec).toEqual({
            name: "lab",
            kubernetesVersion: "1.30.4",
            controlPlaneEndpoint: { host: "10.0.0.11", port: 6443 },
            serviceCidr: "10.96.0.0/12",
            dnsDomain: "cluster.local",
            apiServerCertSans: [],
            etcd: { mode: "stacked", serverCertSans: [], peerCertSans: [] },
            nodes: [
                {
                    name: "master-1",
                    role: "master",
                    advertiseAddress: "10.0.0.11",
                    transport: "ssh",
                    ssh: { host: "10.0.0.11", port: 22, user: "root", privateKey: realPrivateKey, hostKey: realHostKey },
                },
            ],
            keyAlgorithm: "RSA-2048",
            validity: { caYears: 10, leafDays: 365, renewBeforeDays: 30, leafDaysOverrides: {} },
            layout: { kind: "kubeadm", kubernetesDir: "/etc/kubernetes", paths: {}, restart: "static-pod", componentServingCerts: false },
            authorities: { ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", adoptFrom: "master-1", keyAlgorithm: "RSA-2048" },
            rollout: { restart: true, workerBatchSize: 5, componentTimeoutSeconds: 180, clockSkewToleranceSeconds: 30, keepBackups: 5 },
            drift: { enabled: true, unreachable: "warn", checkServed: true, concurrency: 8 },
            clusterObjects: { enabled: true },
            kubelet: { servingCertificate: "self-signed", clientCertificate: "rotate" },
        });
    });

    it("strips a leading v from the version and defaults the endpoint port", () => {
        const spec = parseClusterSpec(withConfig({ cluster: { kubernetesVersion: "v1.31.2", controlPlaneEndpoint: "k8s.example.com" } }), fakeEnv());
        expect(spec.kubernetesVersion).toBe("1.31.2");
        expect(spec.controlPlaneEndpoint).toEqual({ host: "k8s.example.com", port: 6443 });
    });

    it("reads IPv6 endpoints with and without brackets", () => {
        const bracketed = parseClusterSpec(withConfig({ cluster: { controlPlaneEndpoint: "[fd00::10]:8443" } }), fakeEnv());
        expect(bracketed.controlPlaneEndpoint).toEqual({ host: "fd00::10", port: 8443 });
        const bare = parseClusterSpec(withConfig({ cluster: { controlPlaneEndpoint: "fd00::10" } }), fakeEnv());
        expect(bare.controlPlaneEndpoint).toEqual({ host: "fd00::10", port: 6443 });
    });
});

describe("SSH settings", () => {
    it("layers node settings over kube-pki:ssh over built-in defaults", () => {
        const home = "/home/op";
        const files = { "/home/op/.ssh/fleet": realPrivateKey, "/srv/kube-pki/keys/special": realPrivateKey };
        const env = fakeEnv(files, home, "/srv/kube-pki");
        const spec = parseClusterSpec(
            {
                cluster: { name: "lab", kubernetesVersion: "1.29.1" },
                ssh: { user: "ops", port: 2222, privateKeyPath: "~/.ssh/fleet" },
                nodes: [
                    { name: "master-1", role: "master", address: "10.0.0.11", ssh: { hostKey: realHostKey } },
                    { name: "worker-1", role: "worker", address: "10.0.0.21", ssh: { host: "worker-1.lab", port: 22, user: "root", privateKeyPath: "keys/special", hostKey: realHostKey } },
                ],
            },
            env,
        );
        expect(spec.nodes[0].ssh).toEqual({ host: "10.0.0.11", port: 2222, user: "ops", privateKey: realPrivateKey, hostKey: realHostKey });
        expect(spec.nodes[1].ssh).toEqual({ host: "worker-1.lab", port: 22, user: "root", privateKey: realPrivateKey, hostKey: realHostKey });
        expect(env.reads.sort()).toEqual(["/home/op/.ssh/fleet", "/srv/kube-pki/keys/special"]);
    });

    it("uses the secret key for nodes without their own path, and reads no file for it", () => {
        const env = fakeEnv();
        const spec = parseClusterSpec(withConfig({ nodes: [{ name: "master-1", role: "master", address: "10.0.0.11" }] }), env);
        expect(spec.nodes[0].ssh?.privateKey).toBe(realPrivateKey);
        expect(env.reads).toEqual([]);
    });
});

describe("local nodes", () => {
    it("resolves localRoot against the project directory and expands ~", () => {
        const env = fakeEnv({}, "/home/op", "/srv/kube-pki");
        const spec = parseClusterSpec(
            {
                cluster: { name: "dev", kubernetesVersion: "1.30.4" },
                nodes: [
                    { name: "m", role: "master", address: "127.0.0.1", transport: "local", localRoot: ".dev-node" },
                    { name: "w", role: "worker", address: "127.0.0.2", transport: "local", localRoot: "~/nodes/w" },
                    { name: "x", role: "worker", address: "127.0.0.3", transport: "local", localRoot: "/var/tmp/x" },
                ],
            },
            env,
        );
        expect(spec.nodes.map((n) => n.localRoot)).toEqual(["/srv/kube-pki/.dev-node", "/home/op/nodes/w", "/var/tmp/x"]);
        expect(spec.nodes.every((n) => n.ssh === undefined)).toBe(true);
    });
});

describe("custom layout and external etcd", () => {
    it("keeps path overrides, restart strategy and etcd mode", () => {
        const spec = parseClusterSpec(
            withConfig({
                cluster: { etcd: { mode: "external" } },
                layout: { kind: "custom", kubernetesDir: "/opt/k8s", paths: { "apiserver.crt": "/etc/ssl/k8s/apiserver.pem" }, restart: "systemd" },
                keyAlgorithm: "ECDSA-P256",
            }),
            fakeEnv(),
        );
        expect(spec.etcd.mode).toBe("external");
        expect(spec.layout).toEqual({ kind: "custom", kubernetesDir: "/opt/k8s", paths: { "apiserver.crt": "/etc/ssl/k8s/apiserver.pem" }, restart: "systemd", componentServingCerts: false });
        expect(spec.keyAlgorithm).toBe("ECDSA-P256");
    });
});
