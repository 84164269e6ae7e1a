/**
 * The components that read PKI files, as one table: restart order, where they run, where they
 * listen, which certificate of ours they serve and how they are restarted. Restart order, the
 * served checks after a restart (src/rollout/plan.ts), the served certificates drift reads
 * (src/drift/inventory.ts) and the worker rules all come from here. Pure: no Pulumi, no I/O.
 */
import type { ClusterSpec, ComponentRestartSpec, NodeRole, NodeSpec, RestartMethodName } from "../spec";
import type { FileKey } from "./layout";

/** Restart methods, as kube-pki:layout.components and kube-pki:certificates[].consumers name them. */
export const RESTART_METHODS = ["static-pod", "systemd", "crictl", "docker", "none"] as const satisfies readonly RestartMethodName[];

/**
 * A consumer of a stack-declared certificate that is not in the table below (kube-proxy,
 * flanneld): restarted after the catalogue components of its node, in declaration order, then
 * checked running, and checked serving its certificate only when it names a port.
 */
export interface ExtraComponent {
    readonly name: string;
    /** The same shape as the layout's per-component restart (src/spec.ts ComponentRestartSpec). */
    readonly restart: ComponentRestartSpec;
    /** TLS port it serves the certificate on (reached at 127.0.0.1); absent: not checked for it. */
    readonly port?: number;
}

/** When a component serves a certificate kube-pki issued (otherwise it self-signs in memory). */
export type ServedWhen = "always" | "component-serving-certs" | "kubelet-serving-managed";

export interface ComponentInfo {
    readonly name: string;
    /** Only the kubelet runs on workers; control-plane components run on masters. */
    readonly runsOnWorkers: boolean;
    /** The TLS port it serves on. */
    readonly port: number;
    /**
     * Where it is reached from the node itself: "loopback" (127.0.0.1) or the node's advertise
     * address. etcd listens on both (kubeadm: --listen-client-urls https://127.0.0.1:2379,https://<address>:2379)
     * and its own probes use 127.0.0.1; controller-manager and scheduler bind 127.0.0.1
     * (kubeadm's --bind-address); apiserver and kubelet bind every address.
     */
    readonly bind: "loopback" | "advertise";
    /** The certificate file it serves, and when that file is ours. */
    readonly servedCert: FileKey;
    readonly servedWhen: ServedWhen;
    /** Client credentials its port requires (etcd asks every client for a certificate). */
    readonly client?: { readonly cert: FileKey; readonly key: FileKey; readonly ca: FileKey };
    /**
     * How it is restarted: "layout" by the layout's strategy (static pod, systemd, crictl);
     * "systemd" always a unit (rotate.sh restarts the kubelet with systemctl whatever strategy
     * it is passed, so the strategy argument stays the layout's for every component).
     */
    readonly restart: "layout" | "systemd";
}

/** In restart order: etcd before the apiserver that reads it, the kubelet last. */
export const COMPONENTS = [
    { name: "etcd", runsOnWorkers: false, port: 2379, bind: "loopback", servedCert: "etcd/server.crt", servedWhen: "always",
      client: { cert: "etcd/healthcheck-client.crt", key: "etcd/healthcheck-client.key", ca: "etcd/ca.crt" }, restart: "layout" },
    { name: "kube-apiserver", runsOnWorkers: false, port: 6443, bind: "advertise", servedCert: "apiserver.crt", servedWhen: "always", restart: "layout" },
    { name: "kube-controller-manager", runsOnWorkers: false, port: 10257, bind: "loopback", servedCert: "controller-manager.crt",
      servedWhen: "component-serving-certs", restart: "layout" },
    { name: "kube-scheduler", runsOnWorkers: false, port: 10259, bind: "loopback", servedCert: "scheduler.crt",
      servedWhen: "component-serving-certs", restart: "layout" },
    { name: "kubelet", runsOnWorkers: true, port: 10250, bind: "advertise", servedCert: "kubelet.crt",
      servedWhen: "kubelet-serving-managed", restart: "systemd" },
] as const satisfies readonly ComponentInfo[];

export type Component = (typeof COMPONENTS)[number]["name"];

/** Components that read PKI files, in the order they are restarted. */
export const COMPONENT_ORDER: readonly Component[] = COMPONENTS.map((c) => c.name);

export function componentInfo(name: Component): ComponentInfo {
    return COMPONENTS.find((c) => c.name === name)!;
}

export function isComponent(name: string): name is Component {
    return COMPONENTS.some((c) => c.name === name);
}

/** Does this component run on a node of this role? */
export function runsOn(name: Component, role: NodeRole): boolean {
    return role === "master" || componentInfo(name).runsOnWorkers;
}

/** The components among `used` that run on a node of `role`, in restart order. */
export function restartOrder(used: Iterable<string>, role: NodeRole): Component[] {
    const set = new Set(used);
    return COMPONENT_ORDER.filter((c) => set.has(c) && runsOn(c, role));
}

/** Does it serve a certificate kube-pki issued in this cluster? */
export function servesOurCertificate(name: Component, cluster: Pick<ClusterSpec, "layout" | "kubelet">): boolean {
    switch (componentInfo(name).servedWhen) {
        case "always": return true;
        case "component-serving-certs": return cluster.layout.componentServingCerts;
        case "kubelet-serving-managed": return cluster.kubelet.servingCertificate === "managed";
    }
}

/** Host (IPv6 unbracketed) and port to reach it from the node itself. */
export function componentAddress(name: Component, node: Pick<NodeSpec, "advertiseAddress">): { host: string; port: number } {
    const c = componentInfo(name);
    return { host: c.bind === "loopback" ? "127.0.0.1" : node.advertiseAddress, port: c.port };
}

/** "host:port" with an IPv6 host in brackets. */
export function componentEndpoint(name: Component, node: Pick<NodeSpec, "advertiseAddress">): string {
    const { host, port } = componentAddress(name, node);
    return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
