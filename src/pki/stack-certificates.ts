/**
 * Certificates declared in the stack (kube-pki:certificates) as part of the per-node plan: each
 * entry becomes one certificate (shared, or one per node when its CN, O or SANs name the node or
 * a kubeconfig points at the node's own apiserver) and the files it lands in on its nodes, or a
 * kubeconfig kept only as a secret stack output. Pure: no Pulumi, no I/O (src/pki/plan.ts calls it).
 */
import type { ClusterSpec, NodeSpec, StackCertificateSpec } from "../spec";
import { kubeconfigServer, type CaEntry, type CaId, type KubeconfigEntry, type ResolvedSubject } from "./catalog";
import { isComponent, type Component, type ExtraComponent } from "./components";
import { isIpAddress } from "./net";
import type { PlannedCertificate, PlannedExpectation, PlannedFile } from "./plan";

/** The key of a stack-declared file: the entry's id (certificate or kubeconfig), `<id>:key` for its key. */
export type StackFileKey = string & { readonly __stackFile: true };

/** A user kubeconfig the stack keeps as a secret output and never pushes. */
export interface StackKubeconfigOutput {
    readonly id: string;
    /** Id of its certificate in the plan's certificates. */
    readonly certificate: string;
    readonly server: string;
    readonly user: string;
}

/** What the plan lends this module: its CAs (same-as-ca resolved), paths and certificate table. */
export interface StackPlanContext {
    readonly cluster: ClusterSpec;
    /** The CA that really signs for `id` (a same-as-ca CA is the cluster CA). */
    readonly caOf: (id: CaId) => CaEntry;
    /** Path of a CA's certificate on `node`. */
    readonly caCertPath: (ca: CaEntry, node: NodeSpec) => string;
    readonly adopted: (id: CaId) => boolean;
    readonly certificates: Map<string, PlannedCertificate>;
}

const fill = (text: string, node?: NodeSpec) =>
    node ? text.replace(/\{node\}/g, node.name).replace(/\{address\}/g, node.advertiseAddress) : text;
const templated = (e: StackCertificateSpec) =>
    [e.commonName, ...e.organizations, ...e.sans].some((t) => t.includes("{node}") || t.includes("{address}"));

/** Issued once per node (it names the node, or reaches the node's own apiserver), else shared. */
export function stackIssuedPerNode(e: StackCertificateSpec): boolean {
    return templated(e) || (e.target.kind === "kubeconfig" && e.target.server === "local");
}

function subjectOf(e: StackCertificateSpec, node?: NodeSpec): ResolvedSubject {
    const sans = [...new Set(e.sans.map((s) => fill(s, node)))];
    return {
        commonName: fill(e.commonName, node), organizations: e.organizations.map((o) => fill(o, node)),
        dnsNames: sans.filter((s) => !isIpAddress(s)), ipAddresses: sans.filter((s) => isIpAddress(s)),
    };
}

function certificateOf(ctx: StackPlanContext, e: StackCertificateSpec, node?: NodeSpec): PlannedCertificate {
    const perNode = node !== undefined && stackIssuedPerNode(e);
    const id = perNode ? `${node.name}/${e.id}` : e.id;
    const known = ctx.certificates.get(id);
    if (known) return known;
    const cert: PlannedCertificate = {
        id, source: e.id, scope: perNode ? "node" : "shared",
        // "stack" keeps these resource names apart from the catalogue's "<cluster>-<node>-<id>".
        nameParts: perNode ? [node.name, "stack", e.id] : ["stack", e.id],
        subject: subjectOf(e, perNode ? node : undefined), issuer: ctx.caOf(e.signer).id, usages: [...e.usages],
        validityDays: e.validityDays ?? ctx.cluster.validity.leafDays,
    };
    ctx.certificates.set(id, cert);
    return cert;
}

const serverOf = (cluster: ClusterSpec, server: "endpoint" | "local", node: NodeSpec) =>
    kubeconfigServer({ server } as Pick<KubeconfigEntry, "server"> as KubeconfigEntry, cluster, node);

/** The files of every entry that lands on `node`, in declaration order. */
export function stackFilesOf(ctx: StackPlanContext, node: NodeSpec): PlannedFile[] {
    return (ctx.cluster.certificates ?? []).filter((e) => !e.output && e.nodes.includes(node.name)).flatMap((e): PlannedFile[] => {
        const cert = certificateOf(ctx, e, node);
        const ca = ctx.caOf(e.signer);
        const consumers = e.consumers.map((c) => c.name).filter((n): n is Component => isComponent(n));
        const extra = e.consumers.map((c) => c.name).filter((n) => !isComponent(n));
        const common = { source: e.id, stack: true as const, consumers, ...(extra.length > 0 ? { extraConsumers: extra } : {}) };
        const expectation = (keyPath?: string): PlannedExpectation => ({
            subject: cert.subject, issuer: ca.id, issuerCommonName: ca.commonName, usages: cert.usages,
            ...(keyPath ? { keyPath } : {}), caPath: ctx.caCertPath(ca, node), ...(ctx.adopted(ca.id) ? { adoptedIssuer: true as const } : {}),
        });
        if (e.target.kind === "files") {
            return [
                { key: e.id as StackFileKey, path: e.target.cert, mode: "0644", name: e.id, material: { kind: "leaf-cert", certificate: cert.id },
                  expected: expectation(e.target.key), validityDays: cert.validityDays, ...common },
                { key: `${e.id}:key` as StackFileKey, path: e.target.key, mode: "0600", material: { kind: "leaf-key", certificate: cert.id }, ...common },
            ];
        }
        return [{
            key: e.id as StackFileKey, path: e.target.path!, mode: "0600", name: e.id,
            material: { kind: "kubeconfig", certificate: cert.id, server: serverOf(ctx.cluster, e.target.server, node), user: e.id },
            expected: expectation(), validityDays: cert.validityDays, ...common,
        }];
    });
}

/** Kubeconfigs kept only as secret stack outputs (a cluster user's), with their certificates. */
export function stackOutputsOf(ctx: StackPlanContext): StackKubeconfigOutput[] {
    const first = ctx.cluster.nodes[0];
    return (ctx.cluster.certificates ?? []).filter((e) => e.output && e.target.kind === "kubeconfig").map((e) => ({
        id: e.id, certificate: certificateOf(ctx, e).id, server: serverOf(ctx.cluster, "endpoint", first), user: e.id,
    }));
}

/** Consumers outside the component table, in declaration order, each with its restart method. */
export function extraComponentsOf(cluster: ClusterSpec): ExtraComponent[] {
    const out = new Map<string, ExtraComponent>();
    for (const e of cluster.certificates ?? []) {
        for (const c of e.consumers) {
            if (isComponent(c.name)) continue;
            // One component (config validation refuses two ports): a port given by any declaration counts.
            const seen = out.get(c.name);
            if (seen) {
                if (seen.port === undefined && c.port !== undefined) out.set(c.name, { ...seen, port: c.port });
                continue;
            }
            const restart = c.restart ?? cluster.layout.components?.[c.name];
            if (!restart) throw new Error(`kube-pki:certificates: ${c.name} has no restart method`);
            out.set(c.name, { name: c.name, restart, ...(c.port !== undefined ? { port: c.port } : {}) });
        }
    }
    return [...out.values()];
}
