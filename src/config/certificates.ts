/**
 * `kube-pki:certificates`: certificates the stack declares beside the catalogue (a kube-proxy
 * client certificate on every node, a flanneld certificate, a user's kubeconfig kept as a secret
 * stack output). The schema checks each entry alone; `certificateIssues` checks what needs the
 * rest of the spec (node names, the cluster's CAs, paths the catalogue already uses).
 */
import * as path from "node:path";
import { z } from "zod";
import { catalog, TLS_ALLOWED_USES, type AllowedUse } from "../pki/catalog";
import { COMPONENT_ORDER, isComponent, RESTART_METHODS } from "../pki/components";
import { planCluster } from "../pki/plan";
import { stackIssuedPerNode } from "../pki/stack-certificates";
import type { ClusterSpec, ComponentRestartSpec, StackCertificateSpec } from "../spec";
import { configKey, show, type ConfigIssue, type ConfigPath } from "./errors";
import {
    choiceWithDefault, flagWithDefault, optionalString, optionalWholeNumber, requiredString, section, sentence, stringListWithDefault,
} from "./fields";
import { isDnsLabel, isSan } from "./names";
import { OWNER_FIX, ownerCheck } from "./owner";

export const STACK_SIGNERS = ["ca", "front-proxy-ca", "etcd-ca"] as const;
const NODE_SETS = ["masters", "workers", "all"] as const;

/** Which templates each field takes: CN and O `{node}`, SANs `{node}` and `{address}`, every other field none. */
const TEMPLATE = /\{[^{}]*\}/g;
function templateCheck(allowed: readonly string[], fix: string) {
    return (value: string): string | undefined => {
        const bad = (value.match(TEMPLATE) ?? []).find((t) => !allowed.includes(t));
        if (bad === undefined) return undefined;
        const takes = allowed.length === 0 ? "this field takes no template" : `this field takes only ${allowed.join(" and ")}`;
        return sentence(`${show(bad)} is a template, but ${takes}`, fix);
    };
}
const NO_TEMPLATE_PATH = "write one fixed absolute path (templates {node}/{address} are for commonName, organizations and sans)";

function absolute(fix: string) {
    return (v: string) => (path.posix.isAbsolute(v) && !/\s/.test(v) ? undefined : sentence(`${show(v)} is not an absolute path without blanks`, fix));
}

/** A SAN with its templates filled by sample values must be an IP or DNS name. */
function sanCheck(v: string): string | undefined {
    const sample = v.replace(/\{node\}/g, "node-1").replace(/\{address\}/g, "10.0.0.1");
    return isSan(sample) ? undefined
        : sentence(`${show(v)} is neither an IP address nor a DNS name`, 'use an IP, a DNS name, "{node}" (the node\'s name) or "{address}" (its address)');
}

const ID_FIX = 'use lowercase letters, digits and "-" (e.g. "kube-proxy"); it names the certificate\'s resources and rows';
const UNIT_FIX = 'set the unit\'s name as systemctl knows it (e.g. "kube-proxy" or "kube-proxy.service")';
const CONTAINER_FIX = 'set the container\'s name as `docker ps`/`crictl ps` shows it (e.g. "kube-proxy")';
const plainName = (fix: string) => (v: string) =>
    /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/.test(v) ? undefined : sentence(`${show(v)} is not a plain name`, fix);

const consumerSchema = section(
    {
        name: requiredString('name the component that reads it: a catalogue component (e.g. "kubelet") or another one (e.g. "kube-proxy")',
            templateCheck([], "write the component's name"), plainName('use the component\'s name (letters, digits, "-", "_", ".", "@")')),
        restart: z.enum(RESTART_METHODS, {
            error: (iss) => sentence(`${show(iss.input)} is not a restart method`, `use one of ${RESTART_METHODS.map((m) => `"${m}"`).join(", ")}`),
        }).optional(),
        unit: optionalString(UNIT_FIX, templateCheck([], UNIT_FIX), plainName(UNIT_FIX)),
        container: optionalString(CONTAINER_FIX, templateCheck([], CONTAINER_FIX), plainName(CONTAINER_FIX)),
        port: optionalWholeNumber({ min: 1, max: 65535 }, "set the TLS port it serves this certificate on (checked after its restart), or leave it out"),
    },
    "describe the consumer with name, restart (static-pod, systemd, crictl, docker, none), unit or container, and port",
);

const entrySchema = section(
    {
        id: requiredString(ID_FIX, (v) => (isDnsLabel(v) ? undefined : sentence(`${show(v)} is not a valid id`, ID_FIX))),
        signer: z.enum(STACK_SIGNERS, {
            error: (iss) => iss.input === undefined
                ? sentence("is required", `name the CA that signs it: ${STACK_SIGNERS.map((s) => `"${s}"`).join(", ")}`)
                : sentence(`${show(iss.input)} is not one of the cluster's CAs`, `use one of ${STACK_SIGNERS.map((s) => `"${s}"`).join(", ")}`),
        }),
        commonName: requiredString('set the subject\'s CN (e.g. "system:kube-proxy"; "{node}" is the node\'s name)',
            templateCheck(["{node}"], 'use "{node}" for the node\'s name, or a fixed text')),
        organizations: stringListWithDefault("list the subject's O values", templateCheck(["{node}"], 'use "{node}" for the node\'s name, or a fixed text')),
        usages: z.array(z.enum(TLS_ALLOWED_USES, {
            error: (iss) => sentence(`${show(iss.input)} is not a usage`, `use kube-pki's names: ${TLS_ALLOWED_USES.join(", ")}`),
        }), {
            error: (iss) => sentence(iss.input === undefined ? "is required" : `must be a list, got ${show(iss.input)}`,
                'list its usages, e.g. [digital_signature, key_encipherment, client_auth]'),
        }).min(1, { error: sentence("is empty", "list at least one usage, e.g. client_auth") }),
        sans: stringListWithDefault("list IPs or DNS names", templateCheck(["{node}", "{address}"], 'use "{node}" or "{address}", or a fixed name'), sanCheck),
        nodes: z.union([
            z.enum(NODE_SETS),
            z.array(z.string({ error: () => sentence("must be a node name", "list node names from kube-pki:nodes") })),
        ], { error: () => sentence("must be masters, workers, all or a list of node names", 'e.g. nodes: all, or nodes: [worker-1, worker-2]') }).optional(),
        files: section(
            {
                cert: requiredString("set the absolute path of the certificate on the node", templateCheck([], NO_TEMPLATE_PATH), absolute("set the absolute path of the certificate on the node")),
                key: requiredString("set the absolute path of its private key on the node", templateCheck([], NO_TEMPLATE_PATH), absolute("set the absolute path of its private key on the node")),
            },
            "set cert and key: the absolute paths of the certificate and its private key",
        ).optional(),
        kubeconfig: section(
            {
                path: optionalString("set the absolute path of the kubeconfig on the node", templateCheck([], NO_TEMPLATE_PATH), absolute("set the absolute path of the kubeconfig on the node")),
                server: choiceWithDefault(["endpoint", "local"], "endpoint"),
            },
            'set path (absolute) and server: "endpoint" (kube-pki:cluster.controlPlaneEndpoint) or "local" (the master\'s own apiserver)',
        ).optional(),
        output: flagWithDefault(false, "set true to keep this kubeconfig as a secret stack output only (a cluster user's), never pushed"),
        consumers: z.array(consumerSchema, { error: () => sentence("must be a list", "list the components that read it, e.g. [{ name: kube-proxy, restart: systemd }]") }).default([]),
        validityDays: optionalWholeNumber({ min: 1 }, "set a whole number of days ≥ 1 (default kube-pki:validity.leafDays)"),
        owner: optionalString(OWNER_FIX, ownerCheck),
    },
    "describe the certificate with id, signer, commonName, usages, nodes, and files or kubeconfig",
).superRefine((e, ctx) => {
    const add = (at: PropertyKey[], problem: string, fix: string) => ctx.addIssue({ code: "custom", path: at, message: sentence(problem, fix) });
    if (e.files && e.kubeconfig) add(["kubeconfig"], "is set together with files", "keep files (a certificate + key pair) or kubeconfig, not both");
    if (!e.files && !e.kubeconfig) add(["files"], "is required (or kubeconfig)", "set files: { cert, key } or kubeconfig: { path, server }");
    if (e.output) {
        const fix = "an output-only kubeconfig goes to no node: remove it, or set output: false to push the kubeconfig";
        if (!e.kubeconfig) add(["output"], "is only for kubeconfigs", "set kubeconfig: { server: endpoint } for a user's kubeconfig, or remove output");
        if (e.kubeconfig?.path !== undefined) add(["kubeconfig", "path"], "is set with output: true (never pushed)", fix);
        if (e.kubeconfig?.server === "local") add(["kubeconfig", "server"], '"local" needs a node', 'use "endpoint" for a user\'s kubeconfig');
        if (e.nodes !== undefined) add(["nodes"], "is set with output: true (never pushed)", fix);
        if (e.consumers.length > 0) add(["consumers"], "is set with output: true (never pushed)", fix);
        if (e.owner !== undefined) add(["owner"], "is set with output: true (never pushed)", fix);
        for (const field of ["commonName", "organizations", "sans"] as const) {
            if (JSON.stringify(e[field]).includes("{")) add([field], "has a template but an output-only kubeconfig has no node", "write a fixed value");
        }
    } else {
        if (e.kubeconfig && e.kubeconfig.path === undefined) add(["kubeconfig", "path"], "is required", "set where the kubeconfig lands on the nodes, or set output: true for a user's kubeconfig (secret stack output)");
        if (e.nodes === undefined) add(["nodes"], "is required", "set masters, workers, all or a list of node names");
    }
    if (e.kubeconfig && e.signer !== "ca") add(["signer"], `${show(e.signer)} cannot sign a kubeconfig's client certificate`, 'use "ca": the apiserver accepts client certificates of the cluster CA (--client-ca-file)');
    e.consumers.forEach((c, i) => {
        const at = ["consumers", i];
        if (isComponent(c.name)) {
            if (c.restart ?? c.unit ?? c.container ?? c.port) {
                add([...at, "restart"], `${show(c.name)} is a catalogue component, restarted and verified as the layout says`, "remove restart, unit, container and port");
            }
            return;
        }
        if (c.restart === "static-pod") add([...at, "restart"], `"static-pod" is for catalogue components only`, "use systemd, crictl, docker or none");
        if (c.unit !== undefined && c.restart !== "systemd") add([...at, "unit"], "is only used with restart: systemd", "remove it, or set restart: systemd");
        if (c.container !== undefined && c.restart !== "docker" && c.restart !== "crictl") add([...at, "container"], "is only used with restart: docker or crictl", "remove it");
        if (c.restart === "docker" && c.container === undefined) add([...at, "container"], "is required with restart: docker", CONTAINER_FIX);
        if (c.port !== undefined && c.restart === "none") add([...at, "port"], "is set but restart is none (nothing restarts, nothing to verify)", "remove port, or set a restart method");
    });
});

export const certificatesSchema = z.array(entrySchema, {
    error: (iss) => sentence(`must be a list of certificates, got ${show(iss.input)}`, "list entries with id, signer, commonName, usages, nodes, and files or kubeconfig"),
}).optional();

export type ParsedCertificates = z.output<typeof certificatesSchema>;

/** Entries as the spec keeps them; node sets are resolved to names. */
export function certificateSpecs(parsed: NonNullable<ParsedCertificates>, nodes: ClusterSpec["nodes"]): StackCertificateSpec[] {
    return parsed.map((e) => {
        const names = e.nodes === undefined ? []
            : Array.isArray(e.nodes) ? [...e.nodes]
            : nodes.filter((n) => e.nodes === "all" || (e.nodes === "masters") === (n.role === "master")).map((n) => n.name);
        return {
            id: e.id, signer: e.signer, commonName: e.commonName, organizations: [...e.organizations], usages: [...e.usages] as AllowedUse[],
            sans: [...e.sans], nodes: names,
            target: e.files ? { kind: "files", cert: e.files.cert, key: e.files.key }
                : { kind: "kubeconfig", ...(e.kubeconfig!.path !== undefined ? { path: e.kubeconfig!.path } : {}), server: e.kubeconfig!.server },
            output: e.output,
            consumers: e.consumers.map((c) => ({
                name: c.name,
                ...(c.restart ? { restart: restartOf(c.name, c.restart, c.unit, c.container) } : {}),
                ...(c.port !== undefined ? { port: c.port } : {}),
            })),
            ...(e.validityDays !== undefined ? { validityDays: e.validityDays } : {}),
            ...(e.owner !== undefined ? { owner: e.owner } : {}),
        };
    });
}

function restartOf(name: string, restart: ComponentRestartSpec["restart"], unit?: string, container?: string): ComponentRestartSpec {
    if (restart === "systemd") return { restart, unit: unit ?? name };
    if (restart === "crictl" || restart === "docker") return { restart, container: container ?? name };
    return { restart };
}

const describeRestart = (r: ComponentRestartSpec): string =>
    r.restart === "systemd" ? `systemd unit ${show(r.unit)}` : r.restart === "docker" || r.restart === "crictl" ? `${r.restart} container ${show(r.container)}` : r.restart;

/** What restarting `r` stops, as one key: the same key means the same unit or container. */
function restartTarget(r: ComponentRestartSpec): string | undefined {
    if (r.restart === "systemd") return `systemd:${r.unit!.replace(/\.service$/, "")}`;
    if (r.restart === "docker") return `docker:${r.container}`;
    // A static pod's container is named after its component, as a CRI container.
    if (r.restart === "crictl") return `cri:${r.container}`;
    return undefined;
}

/** How the layout restarts a catalogue component (the kubelet is never a static pod nor a CRI container). */
function catalogueRestart(spec: ClusterSpec, component: string): ComponentRestartSpec {
    const own = spec.layout.components?.[component];
    if (own) return restartOf(component, own.restart, own.unit, own.container);
    const method = component === "kubelet" && spec.layout.restart !== "systemd" ? "systemd" : spec.layout.restart;
    return method === "static-pod" ? { restart: "crictl", container: component } : restartOf(component, method);
}

/**
 * A consumer outside the catalogue restarted differently from kube-pki:layout.components, or
 * through the unit/container of a catalogue component (which would restart that component out
 * of order and unverified, twice in one run).
 */
function consumerRestartClash(spec: ClusterSpec, name: string, restart: ComponentRestartSpec): { problem: string; fix: string } | undefined {
    const own = spec.layout.components?.[name];
    if (own) {
        const layout = restartOf(name, own.restart, own.unit, own.container);
        if (JSON.stringify(layout) !== JSON.stringify(restart)) {
            return {
                problem: `restarts ${show(name)} as ${describeRestart(restart)}, but ${configKey(["layout", "components", name])} says ${describeRestart(layout)}`,
                fix: `remove restart, unit and container here (the layout's is used), or make them the same`,
            };
        }
    }
    const target = restartTarget(restart);
    if (target === undefined) return undefined;
    const component = COMPONENT_ORDER.find((c) => restartTarget(catalogueRestart(spec, c)) === target);
    if (component === undefined) return undefined;
    return {
        problem: `restarts ${show(name)} as ${describeRestart(restart)}, which is how kube-pki restarts the catalogue component ${show(component)}`,
        fix: `name that component instead ({ name: ${component} }: restarted in order and verified as kube-pki:layout says), or give ${show(name)} its own unit or container`,
    };
}

/** Ids the catalogue (and the kubelet's rotated client certificate) already use. */
const CATALOGUE_IDS: readonly string[] = [...catalog("1.30.0", "stacked", true, true).map((e) => e.id), "kubelet-client"];

/**
 * Checks that need the whole spec: unique ids that are not the catalogue's, known node names, a
 * signer the cluster has (and the cluster CA on workers, the only CA they hold), consumers named
 * with one restart method, no path claimed twice on a node (by two entries, or by an entry
 * and a catalogue file), and no resource name made twice.
 */
export function certificateIssues(spec: ClusterSpec): ConfigIssue[] {
    const entries = spec.certificates ?? [];
    if (entries.length === 0) return [];
    const issues: ConfigIssue[] = [];
    const at = (i: number, ...rest: PropertyKey[]): string => configKey(["certificates", i, ...rest] as ConfigPath);
    const push = (key: string, problem: string, fix: string) => issues.push({ key, message: sentence(problem, fix) });
    const nodeNames = spec.nodes.map((n) => n.name);
    const roleOf = new Map(spec.nodes.map((n) => [n.name, n.role]));
    const cataloguePlan = planCluster({ ...spec, certificates: [] });
    const catalogueFiles = Object.fromEntries(Object.entries(cataloguePlan.nodes).map(([name, n]) => [name, n.files]));
    const cas = new Set(Object.values(catalogueFiles).flat().flatMap((f) => (f.material.kind === "ca-cert" ? [f.material.ca] : [])));
    const seenIds = new Map<string, number>();
    const restarts = new Map<string, { index: number; text: string }>();
    const ports = new Map<string, { index: number; port: number }>();
    // Per node, path → who holds it.
    const claims = new Map<string, Map<string, string>>();
    for (const node of nodeNames) claims.set(node, new Map((catalogueFiles[node] ?? []).map((f) => [f.path, `the catalogue's ${f.key}`])));

    entries.forEach((e, i) => {
        const earlier = seenIds.get(e.id);
        if (earlier !== undefined) push(at(i, "id"), `${show(e.id)} is already the id of ${configKey(["certificates", earlier])}`, "give every entry its own id");
        else seenIds.set(e.id, i);
        if (CATALOGUE_IDS.includes(e.id)) push(at(i, "id"), `${show(e.id)} is a catalogue id`, "choose another id (catalogue entries are configured with kube-pki:layout and kube-pki:validity)");
        if (!cas.has(e.signer)) {
            push(at(i, "signer"), `${show(e.signer)} is not a CA of this cluster${spec.etcd.mode === "external" ? " (etcd is external: kube-pki has no etcd CA)" : ""}`,
                `use one of ${[...cas].map((c) => `"${c}"`).join(", ")}`);
        }
        e.nodes.forEach((name, j) => {
            if (!roleOf.has(name)) push(at(i, "nodes", j), `${show(name)} is not a node`, `use a name from kube-pki:nodes (${nodeNames.map((n) => show(n)).join(", ")}), or masters, workers, all`);
        });
        const workers = e.nodes.filter((n) => roleOf.get(n) === "worker");
        if (e.signer !== "ca" && workers.length > 0) {
            push(at(i, "signer"), `${show(e.signer)} is not on workers (${workers.map((w) => show(w)).join(", ")}): they hold only the cluster CA`, 'use "ca", or put it on masters only');
        }
        e.consumers.forEach((c, j) => {
            if (!c.restart && !isComponent(c.name) && !spec.layout.components?.[c.name]) {
                push(at(i, "consumers", j, "restart"), `is required for ${show(c.name)}, which is neither a catalogue component (${COMPONENT_ORDER.join(", ")}) nor in kube-pki:layout.components`,
                    `set one of ${RESTART_METHODS.join(", ")}`);
            }
            if (c.port !== undefined) {
                const firstPort = ports.get(c.name);
                if (!firstPort) ports.set(c.name, { index: i, port: c.port });
                else if (firstPort.port !== c.port) {
                    push(at(i, "consumers", j, "port"), `${show(c.name)} serves on port ${firstPort.port} in ${configKey(["certificates", firstPort.index])}`,
                        "give a component one port everywhere (the certificate it serves is checked there), or leave port out here");
                }
            }
            if (!c.restart) return;
            const text = JSON.stringify(c.restart);
            const first = restarts.get(c.name);
            if (!first) restarts.set(c.name, { index: i, text });
            else if (first.text !== text) {
                push(at(i, "consumers", j, "restart"), `${show(c.name)} is restarted differently in ${configKey(["certificates", first.index])}`, "give a component the same restart method, unit and container everywhere");
            }
            const issue = consumerRestartClash(spec, c.name, c.restart);
            if (issue) push(at(i, "consumers", j, "restart"), issue.problem, issue.fix);
        });
        const paths: Array<[string, PropertyKey[]]> = e.target.kind === "files"
            ? [[e.target.cert, ["files", "cert"]], [e.target.key, ["files", "key"]]]
            : e.target.path !== undefined ? [[e.target.path, ["kubeconfig", "path"]]] : [];
        const reported = new Set<string>();
        for (const node of e.nodes) {
            const held = claims.get(node);
            if (!held) continue;
            for (const [p, field] of paths) {
                const owner = held.get(p);
                const key = at(i, ...field);
                if (owner && !reported.has(key)) {
                    reported.add(key);
                    push(key, `${show(p)} is already the path of ${owner} on ${show(node)}: two different contents cannot share one file`, "choose another path");
                }
                held.set(p, `${configKey(["certificates", i])} (${e.id})`);
            }
        }
    });
    issues.push(...resourceNameClashes(spec, [...cataloguePlan.certificates.values()].map((c) => c.nameParts), at));
    return issues;
}

/**
 * Resource names are `<cluster>-stack-<id>` (shared) and `<cluster>-<node>-stack-<id>` (per
 * node), joined with "-": id "a-stack-b" would name the same resource as id "b" on node "a",
 * and Pulumi would refuse (or one certificate would replace the other) at `up`. Refused here.
 */
function resourceNameClashes(spec: ClusterSpec, catalogue: ReadonlyArray<readonly string[]>, at: (i: number, ...rest: PropertyKey[]) => string): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const resource = (parts: readonly string[]) => [spec.name, ...parts].join("-");
    const owners = new Map<string, string>(catalogue.map((parts) => [resource(parts), `the catalogue's certificate ${show(parts[parts.length - 1])}`]));
    const known = new Set(spec.nodes.map((n) => n.name));
    const entries = spec.certificates ?? [];
    entries.forEach((e, i) => {
        // A repeated id is reported as such, not as the names it repeats.
        if (entries.findIndex((o) => o.id === e.id) !== i) return;
        const perNode = !e.output && stackIssuedPerNode(e);
        const names = perNode
            ? e.nodes.filter((n) => known.has(n)).map((n) => ({ name: resource([n, "stack", e.id]), where: ` on node ${show(n)}` }))
            : [{ name: resource(["stack", e.id]), where: "" }];
        let reported = false;
        for (const { name, where } of names) {
            const owner = owners.get(name);
            if (owner !== undefined && !reported) {
                reported = true;
                issues.push({
                    key: at(i, "id"),
                    message: sentence(`${show(e.id)} names resource ${show(name)}${where}, which is already the name of ${owner}`,
                        `choose another id (resources are named <cluster>-stack-<id> and <cluster>-<node>-stack-<id>: "-stack-" in an id or a node name can repeat a name)`),
                });
            }
            if (owner === undefined) owners.set(name, `${configKey(["certificates", i] as ConfigPath)} (${show(e.id)})${where}`);
        }
    });
    return issues;
}
