/**
 * kube-pki:certificates[].consumers: one component, one way to restart it. The same consumer
 * declared twice with another method, unit, container or port, a consumer restarted otherwise
 * than kube-pki:layout.components says, a catalogue component given a restart method, and a
 * consumer restarted through a catalogue component's unit or container are refused at parse
 * time, naming the key and the fix. Consistent declarations parse.
 */
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import type { RawConfig } from "../../src/config";
import { extraComponentsOf } from "../../src/pki/stack-certificates";
import { fakeEnv, problems, withConfig } from "./helpers";

const NODES = [
    { name: "master-1", role: "master", address: "10.0.0.11" },
    { name: "worker-1", role: "worker", address: "10.0.0.21" },
];
const base = (id: string, n: number, consumers: unknown[]) => ({
    id, signer: "ca", commonName: `system:${id}`, usages: ["client_auth"], nodes: "all",
    files: { cert: `/etc/kubernetes/ssl/${id}-${n}.pem`, key: `/etc/kubernetes/ssl/${id}-${n}-key.pem` }, consumers,
});
const proxy = (consumer: Record<string, unknown>) => base("kube-proxy", 1, [{ name: "kube-proxy", ...consumer }]);
const proxy2 = (consumer: Record<string, unknown>) => base("kube-proxy-serving", 2, [{ name: "kube-proxy", ...consumer }]);
const config = (entries: unknown[], layout?: Record<string, unknown>): RawConfig =>
    withConfig({ nodes: NODES, certificates: entries, ...(layout ? { layout: { kind: "custom", ...layout } } : {}) });

describe("kube-pki:certificates consumers: one restart per component", () => {
    it("the same consumer with another restart method in a second entry is refused at that entry", () => {
        expect(problems(config([proxy({ restart: "systemd" }), proxy2({ restart: "docker", container: "kube-proxy" })]))).toEqual([
            'kube-pki:certificates[1].consumers[0].restart: "kube-proxy" is restarted differently in kube-pki:certificates[0]; give a component the same restart method, unit and container everywhere.',
        ]);
    });

    it("the same method with another unit, or another container, is refused too", () => {
        expect(problems(config([proxy({ restart: "systemd", unit: "kube-proxy.service" }), proxy2({ restart: "systemd", unit: "kproxy" })]))).toEqual([
            'kube-pki:certificates[1].consumers[0].restart: "kube-proxy" is restarted differently in kube-pki:certificates[0]; give a component the same restart method, unit and container everywhere.',
        ]);
        expect(problems(config([proxy({ restart: "docker", container: "kube-proxy" }), proxy2({ restart: "docker", container: "kube-proxy-2" })]))).toEqual([
            'kube-pki:certificates[1].consumers[0].restart: "kube-proxy" is restarted differently in kube-pki:certificates[0]; give a component the same restart method, unit and container everywhere.',
        ]);
        // A default unit name equals the written one: the same unit.
        expect(() => parseClusterSpec(config([proxy({ restart: "systemd" }), proxy2({ restart: "systemd", unit: "kube-proxy" })]), fakeEnv())).not.toThrow();
    });

    it("the same consumer serving on two ports is refused; a port given once is kept", () => {
        expect(problems(config([proxy({ restart: "systemd", port: 10256 }), proxy2({ restart: "systemd", port: 10249 })]))).toEqual([
            'kube-pki:certificates[1].consumers[0].port: "kube-proxy" serves on port 10256 in kube-pki:certificates[0]; give a component one port everywhere (the certificate it serves is checked there), or leave port out here.',
        ]);
        const spec = parseClusterSpec(config([proxy({ restart: "systemd" }), proxy2({ restart: "systemd", port: 10256 })]), fakeEnv());
        expect(extraComponentsOf(spec)).toEqual([{ name: "kube-proxy", restart: { restart: "systemd", unit: "kube-proxy" }, port: 10256 }]);
    });

    it("a consumer restarted otherwise than kube-pki:layout.components says is refused; without restart it takes the layout's", () => {
        const layout = { components: { "kube-proxy": { restart: "docker", container: "kube-proxy" } } };
        expect(problems(config([proxy({ restart: "systemd" })], layout))).toEqual([
            'kube-pki:certificates[0].consumers[0].restart: restarts "kube-proxy" as systemd unit "kube-proxy", but kube-pki:layout.components.kube-proxy says docker container "kube-proxy"; remove restart, unit and container here (the layout\'s is used), or make them the same.',
        ]);
        // One entry relying on the layout, the other contradicting it: the contradiction is named.
        expect(problems(config([proxy({}), proxy2({ restart: "crictl" })], layout))).toEqual([
            'kube-pki:certificates[1].consumers[0].restart: restarts "kube-proxy" as crictl container "kube-proxy", but kube-pki:layout.components.kube-proxy says docker container "kube-proxy"; remove restart, unit and container here (the layout\'s is used), or make them the same.',
        ]);
        const spec = parseClusterSpec(config([proxy({}), proxy2({ restart: "docker", container: "kube-proxy" })], layout), fakeEnv());
        expect(extraComponentsOf(spec)).toEqual([{ name: "kube-proxy", restart: { restart: "docker", container: "kube-proxy" } }]);
    });

    for (const [name, restart] of [
        ["kube-apiserver", { restart: "docker", container: "kube-apiserver" }],
        ["etcd", { restart: "systemd" }],
        ["kube-controller-manager", { restart: "crictl" }],
        ["kube-scheduler", { restart: "none" }],
        ["kubelet", { restart: "docker", container: "kubelet" }],
    ] as const) {
        it(`a catalogue component (${name}) given a restart method of its own is refused`, () => {
            expect(problems(config([base("reader", 1, [{ name, ...restart }])]))).toEqual([
                `kube-pki:certificates[0].consumers[0].restart: "${name}" is a catalogue component, restarted and verified as the layout says; remove restart, unit, container and port.`,
            ]);
        });
    }

    it("a consumer restarted through a catalogue component's unit or container is refused, naming that component", () => {
        // Hand-built: every catalogue component a systemd unit named after it.
        const handbuilt = { restart: "systemd" };
        expect(problems(config([base("apiserver-reader", 1, [{ name: "apiserver", restart: "systemd", unit: "kube-apiserver.service" }])], handbuilt))).toEqual([
            'kube-pki:certificates[0].consumers[0].restart: restarts "apiserver" as systemd unit "kube-apiserver.service", which is how kube-pki restarts the catalogue component "kube-apiserver"; name that component instead ({ name: kube-apiserver }: restarted in order and verified as kube-pki:layout says), or give "apiserver" its own unit or container.',
        ]);
        // kubeadm (static pods): their CRI containers carry the components' names; the kubelet is a unit.
        expect(problems(config([base("r", 1, [{ name: "etcd-sidecar", restart: "crictl", container: "etcd" }])]))[0]).toMatch(
            /^kube-pki:certificates\[0\]\.consumers\[0\]\.restart: restarts "etcd-sidecar" as crictl container "etcd", which is how kube-pki restarts the catalogue component "etcd"; /);
        expect(problems(config([base("r", 1, [{ name: "node-agent", restart: "systemd", unit: "kubelet" }])]))[0]).toMatch(
            /restarts "node-agent" as systemd unit "kubelet", which is how kube-pki restarts the catalogue component "kubelet"; /);
        // RKE: layout.components names the catalogue's docker containers.
        const rke = { components: { "kube-apiserver": { restart: "docker", container: "kube-apiserver" } } };
        expect(problems(config([base("r", 1, [{ name: "api-proxy", restart: "docker", container: "kube-apiserver" }])], rke))[0]).toMatch(
            /restarts "api-proxy" as docker container "kube-apiserver", which is how kube-pki restarts the catalogue component "kube-apiserver"; /);
        // Another tool's container of the same name is not that component (docker is not the CRI).
        expect(() => parseClusterSpec(config([base("r", 1, [{ name: "api-proxy", restart: "docker", container: "kube-apiserver" }])]), fakeEnv())).not.toThrow();
    });

    it("consistent declarations parse: one consumer in two entries, and a catalogue component named without a method", () => {
        const spec = parseClusterSpec(config([
            proxy({ restart: "docker", container: "kube-proxy", port: 10256 }),
            base("flannel", 3, [{ name: "flanneld", restart: "systemd" }, { name: "kube-proxy", restart: "docker", container: "kube-proxy" }, { name: "kubelet" }]),
        ]), fakeEnv());
        expect(extraComponentsOf(spec)).toEqual([
            { name: "kube-proxy", restart: { restart: "docker", container: "kube-proxy" }, port: 10256 },
            { name: "flanneld", restart: { restart: "systemd", unit: "flanneld" } },
        ]);
    });
});
