/**
 * One zod schema per `kube-pki:*` config key. Each key is parsed on its own so that a broken key
 * does not hide the problems of the others; checks that span keys live in cross-checks.ts.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { catalogEntryIds, catalogIds, catalogLeafIds } from "../pki/catalog";
import { layoutFileKeys, PATH_TEMPLATE_VARIABLES, templateNames } from "../pki/layout";
import { SUPPORTED_RANGE_TEXT, isSupportedKubernetesVersion, tryParseKubernetesVersion } from "../pki/versions";
import { certificatesSchema } from "./certificates";
import { configKey, show } from "./errors";
import {
    choiceWithDefault,
    flagWithDefault,
    mapWithDefault,
    optionalString,
    optionalWholeNumber,
    requiredChoice,
    requiredString,
    requiredWholeNumber,
    section,
    sentence,
    stringListWithDefault,
    stringWithDefault,
    wholeNumberWithDefault,
} from "./fields";
import { isDnsLabel, isDnsName, isSan, networkOf, parseEndpoint, serviceCidrProblem, SERVICE_PREFIX_LIMITS } from "./names";
import { OWNER_FIX, ownerCheck } from "./owner";
import { rotateSchema } from "./rotation";

const SAN_FIX = 'use an IP address (e.g. "10.0.0.100") or a lowercase DNS name (e.g. "k8s-api.example.com"; wildcards like "*.example.com" are allowed)';

function sanCheck(value: string): string | undefined {
    return isSan(value) ? undefined : sentence(`${show(value)} is neither an IP address nor a DNS name`, SAN_FIX);
}

const VERSION_FIX = 'set the exact version the cluster runs, as MAJOR.MINOR.PATCH (e.g. "1.30.4"; see `kubectl version`)';

function versionCheck(value: string): string | undefined {
    if (!tryParseKubernetesVersion(value)) return sentence(`${show(value)} is not a full Kubernetes version`, VERSION_FIX);
    if (!isSupportedKubernetesVersion(value)) {
        return sentence(
            `${show(value)} is not supported; kube-pki supports Kubernetes ${SUPPORTED_RANGE_TEXT} (any patch release)`,
            "set the version the cluster runs, or upgrade the cluster to a supported minor first",
        );
    }
    return undefined;
}

const ENDPOINT_FIX =
    'set the host:port clients use to reach the apiserver (a load balancer for HA), e.g. "k8s-api.example.com:6443" or "10.0.0.10" (the port defaults to 6443)';

function endpointCheck(value: string): string | undefined {
    const parsed = parseEndpoint(value);
    if (parsed.ok) return undefined;
    const problem = {
        format: `${show(value)} is not host:port (write IPv6 addresses as "[fd00::10]:6443")`,
        host: `${show(value)} has a host that is neither an IP address nor a DNS name`,
        port: `${show(value)} has a port that is not a number from 1 to 65535`,
    }[parsed.reason];
    return sentence(problem, ENDPOINT_FIX);
}

const CIDR_FIX = 'set the cluster\'s service range as kube-apiserver\'s --service-cluster-ip-range has it (kubeadm default "10.96.0.0/12")';

function serviceCidrCheck(value: string): string | undefined {
    const v4 = SERVICE_PREFIX_LIMITS[4];
    const v6 = SERVICE_PREFIX_LIMITS[6];
    switch (serviceCidrProblem(value)) {
        case undefined:
            return undefined;
        case "not-cidr":
            return sentence(`${show(value)} is not a CIDR`, CIDR_FIX);
        case "dual-stack":
            return sentence(
                `${show(value)} lists several ranges`,
                `set only the primary (first) range, e.g. "${value.split(",")[0].trim()}": the apiserver certificate carries only its first IP`,
            );
        case "host-bits":
            return sentence(`${show(value)} has host bits set`, `write the network address "${networkOf(value)}"`);
        case "too-small":
            return sentence(
                `${show(value)} is too small: the prefix must be /${v4.longest} or shorter for IPv4 (/${v6.longest} for IPv6), since the first address goes to the kubernetes service and the rest to other services`,
                CIDR_FIX,
            );
        case "too-large":
            return sentence(
                `${show(value)} is too large: kube-apiserver refuses a prefix shorter than /${v4.shortest} for IPv4 (/${v6.shortest} for IPv6)`,
                CIDR_FIX,
            );
    }
}

export const clusterSchema = section(
    {
        name: requiredString(
            'set a short lowercase name for the cluster (e.g. "prod"); it names resources and kubeconfig contexts',
            (v) =>
                isDnsLabel(v)
                    ? undefined
                    : sentence(
                          `${show(v)} is not a valid cluster name`,
                          'use lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters (e.g. "prod")',
                      ),
        ),
        kubernetesVersion: requiredString(VERSION_FIX, versionCheck),
        controlPlaneEndpoint: optionalString(ENDPOINT_FIX, endpointCheck),
        serviceCidr: stringWithDefault("10.96.0.0/12", CIDR_FIX, serviceCidrCheck),
        dnsDomain: stringWithDefault("cluster.local", 'set the cluster\'s DNS domain as kubeadm\'s networking.dnsDomain (default "cluster.local")', (v) =>
            isDnsName(v)
                ? undefined
                : sentence(`${show(v)} is not a DNS domain`, 'set the cluster\'s DNS domain as kubeadm\'s networking.dnsDomain (default "cluster.local")'),
        ),
        apiServerCertSans: stringListWithDefault(SAN_FIX, sanCheck),
        etcd: section(
            {
                mode: choiceWithDefault(["stacked", "external"], "stacked"),
                serverCertSans: stringListWithDefault(SAN_FIX, sanCheck),
                peerCertSans: stringListWithDefault(SAN_FIX, sanCheck),
            },
            'set mode "stacked" (etcd on every master, kubeadm default) or "external"',
        ).prefault({}),
    },
    'set at least the cluster\'s name and Kubernetes version, e.g. `pulumi config set --path kube-pki:cluster.name prod` and `pulumi config set --path kube-pki:cluster.kubernetesVersion 1.30.4`',
);

export const HOST_KEY_FIX =
    'set the node\'s SSH host public key as in its /etc/ssh/ssh_host_ed25519_key.pub (e.g. "ssh-ed25519 AAAA…")';
const PORT_FIX = "set the SSH port as a number from 1 to 65535 (default 22)";
const KEY_PATH_FIX = 'set the path of an SSH private key file (e.g. "~/.ssh/id_ed25519")';

const sshSection = section(
    {
        host: optionalString("set the host name or IP sshd listens on (default: the node's address)", (v) =>
            isIP(v) !== 0 || isDnsName(v)
                ? undefined
                : sentence(`${show(v)} is neither an IP address nor a DNS name`, "set the host name or IP sshd listens on (default: the node's address)"),
        ),
        port: optionalWholeNumber({ min: 1, max: 65535 }, PORT_FIX),
        user: optionalString('set the login user (default kube-pki:ssh.user, else "root")', nonEmpty('set the login user (default kube-pki:ssh.user, else "root")')),
        privateKeyPath: optionalString(KEY_PATH_FIX, nonEmpty(KEY_PATH_FIX)),
        // Checked in parse.ts, where the node's name and the opt-out are known.
        hostKey: optionalString(HOST_KEY_FIX),
    },
    "set how to reach this node over SSH: host, port, user, privateKeyPath, hostKey",
);

function nonEmpty(fix: string) {
    return (v: string) => (v.trim() === "" ? sentence("is empty", fix) : undefined);
}

const ADDRESS_FIX = 'set it to the IP the node\'s apiserver/etcd advertise (e.g. "10.0.0.12")';

export const nodeSchema = section(
    {
        name: requiredString('set the node\'s name as `kubectl get nodes` shows it (e.g. "master-1")', (v) =>
            isDnsName(v)
                ? undefined
                : sentence(
                      `${show(v)} is not a valid node name`,
                      'use the node\'s name as `kubectl get nodes` shows it: lowercase letters, digits, "-" and "." (e.g. "master-1")',
                  ),
        ),
        role: requiredChoice(["master", "worker"], 'set role "master" (control plane) or "worker"'),
        address: requiredString(ADDRESS_FIX, (v) => (isIP(v) !== 0 ? undefined : sentence(`${show(v)} is not an IP address`, ADDRESS_FIX))),
        transport: choiceWithDefault(["ssh", "local"], "ssh"),
        ssh: sshSection.optional(),
        localRoot: optionalString(
            'set the directory that stands in for the node\'s "/" (e.g. ".dev-node", relative to the project directory)',
            nonEmpty('set the directory that stands in for the node\'s "/" (e.g. ".dev-node", relative to the project directory)'),
        ),
    },
    "describe the node with name, role, address and transport",
);

export const nodesSchema = z.array(nodeSchema, {
    error: (iss) =>
        sentence(
            iss.input === undefined ? "is required" : `must be a list of nodes, got ${show(iss.input)}`,
            "list every node with name, role (master/worker) and address, e.g. nodes: [{ name: master-1, role: master, address: 10.0.0.11 }]",
        ),
});

export const sshDefaultsSchema = section(
    {
        user: optionalString('set the default login user (e.g. "root")', nonEmpty('set the default login user (e.g. "root")')),
        privateKeyPath: optionalString(KEY_PATH_FIX, nonEmpty(KEY_PATH_FIX)),
        port: optionalWholeNumber({ min: 1, max: 65535 }, PORT_FIX),
        insecureIgnoreHostKeys: flagWithDefault(
            false,
            "set true only to accept any SSH host key on nodes without ssh.hostKey (default false: every SSH node needs a pin)",
        ),
    },
    "set defaults for SSH nodes: user, privateKeyPath, port, insecureIgnoreHostKeys",
).optional();

// The value is secret: messages describe its type only, never echo it.
export const sshPrivateKeySchema = z
    .string({
        error: () =>
            sentence("must be the private key's text", "run `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`"),
    })
    .optional();

export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"] as const;
export const keyAlgorithmSchema = choiceWithDefault(KEY_ALGORITHMS, "RSA-2048", "is not supported");

const DAYS_FIX = "set a whole number of days ≥ 1";

export const validitySchema = section(
    {
        caYears: wholeNumberWithDefault(10, { min: 1 }, "set a whole number of years ≥ 1 (kubeadm: 10)"),
        leafDays: wholeNumberWithDefault(365, { min: 1 }, "set a whole number of days ≥ 1 (kubeadm: 365)"),
        renewBeforeDays: wholeNumberWithDefault(30, { min: 1 }, "set a whole number of days ≥ 1 (default 30)"),
        leafDaysOverrides: mapWithDefault(requiredWholeNumber({ min: 1 }, DAYS_FIX), 'map certificate ids to days, e.g. { "front-proxy-client": 730 }'),
    },
    "set caYears, leafDays, renewBeforeDays and leafDaysOverrides",
)
    .prefault({})
    .superRefine((validity, ctx) => {
        const caDays = validity.caYears * 365;
        const caText = `the CA validity (caYears ${validity.caYears} = ${caDays} days)`;
        if (validity.leafDays >= caDays) {
            ctx.addIssue({
                code: "custom",
                path: ["leafDays"],
                message: sentence(`${validity.leafDays} days is not shorter than ${caText}`, "a leaf must never outlive its CA, so lower leafDays or raise caYears"),
            });
        }
        if (validity.renewBeforeDays >= validity.leafDays) {
            ctx.addIssue({
                code: "custom",
                path: ["renewBeforeDays"],
                message: sentence(
                    `${validity.renewBeforeDays} days is not shorter than leafDays (${validity.leafDays})`,
                    "certificates would be due for renewal as soon as they are issued, so lower renewBeforeDays (e.g. 30) or raise leafDays",
                ),
            });
        }
        for (const [id, days] of Object.entries(validity.leafDaysOverrides)) {
            const at = ["leafDaysOverrides", id];
            if (!catalogIds.includes(id)) {
                ctx.addIssue({ code: "custom", path: at, message: sentence("unknown certificate id", `use one of ${catalogIds.join(", ")}`) });
                continue;
            }
            if (days >= caDays) {
                ctx.addIssue({
                    code: "custom",
                    path: at,
                    message: sentence(`${days} days is not shorter than ${caText}`, "a leaf must never outlive its CA, so lower the override or raise caYears"),
                });
            } else if (validity.renewBeforeDays >= days) {
                ctx.addIssue({
                    code: "custom",
                    path: at,
                    message: sentence(
                        `${days} days is not longer than renewBeforeDays (${validity.renewBeforeDays})`,
                        "that certificate would be due for renewal as soon as it is issued, so raise the override or lower renewBeforeDays",
                    ),
                });
            }
        }
    });

function absolutePath(fix: string) {
    return (v: string) => (path.posix.isAbsolute(v) ? undefined : sentence(`${show(v)} is not an absolute path`, fix));
}

const TEMPLATE_FIX = `use ${PATH_TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(", ")} (e.g. "/etc/kubernetes/ssl/kube-etcd-{address-dashed}.pem")`;

/** A layout path: absolute, and its templates known ones. */
function layoutPathCheck(v: string): string | undefined {
    const unknown = templateNames(v).filter((n) => !(PATH_TEMPLATE_VARIABLES as readonly string[]).includes(n));
    if (unknown.length > 0) return sentence(`unknown template variable ${unknown.map((n) => `{${n}}`).join(", ")} in ${show(v)}`, TEMPLATE_FIX);
    return absolutePath("set the absolute path of the file on the node")(v);
}

/** Keys whose value is the same on every node: a {…} there is a mistake. */
function noTemplate(fix: string) {
    return (v: string) => (templateNames(v).length > 0
        ? sentence(`${show(v)} has a template, but this key takes none (templates are for kube-pki:layout.paths)`, fix)
        : undefined);
}

const RESTART_METHOD_NAMES = ["static-pod", "systemd", "crictl", "docker", "none"] as const;
const UNIT_FIX = 'set the systemd unit that runs the component (e.g. "kube-apiserver" or "k8s-apiserver.service")';
const CONTAINER_FIX = 'set the container\'s name as `docker ps` (or `crictl ps`) shows it (e.g. "kube-apiserver")';
const NAME_CHARS = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;
const unitOrContainer = (fix: string) => (v: string) =>
    noTemplate(fix)(v) ?? (NAME_CHARS.test(v) ? undefined : sentence(`${show(v)} is not a unit or container name`, fix));

const componentRestartSchema = section(
    {
        restart: requiredChoice(RESTART_METHOD_NAMES, `set restart to one of ${RESTART_METHOD_NAMES.join(", ")}`, "is not a restart method"),
        unit: optionalString(UNIT_FIX, unitOrContainer(UNIT_FIX)),
        container: optionalString(CONTAINER_FIX, unitOrContainer(CONTAINER_FIX)),
    },
    'set restart ("static-pod", "systemd" with unit, "crictl", "docker" with container, or "none")',
).superRefine((c, ctx) => {
    if (c.restart === "docker" && c.container === undefined) {
        ctx.addIssue({ code: "custom", path: ["container"], message: sentence('is required with restart "docker"', CONTAINER_FIX) });
    }
    if (c.unit !== undefined && c.restart !== "systemd") {
        ctx.addIssue({ code: "custom", path: ["unit"], message: sentence(`is only used with restart "systemd", not ${show(c.restart)}`, "remove it, or set restart: systemd") });
    }
    if (c.container !== undefined && c.restart !== "docker" && c.restart !== "crictl") {
        ctx.addIssue({ code: "custom", path: ["container"], message: sentence(`is only used with restart "docker" or "crictl", not ${show(c.restart)}`, "remove it, or set restart: docker") });
    }
});

const KUBERNETES_DIR_FIX = 'set the absolute directory of the node\'s Kubernetes config tree (default "/etc/kubernetes")';
const MANIFESTS_FIX = 'set the absolute directory the kubelet reads static pod manifests from (its staticPodPath; default "<kubernetesDir>/manifests")';

export const layoutSchema = section(
    {
        kind: choiceWithDefault(["kubeadm", "custom"], "kubeadm"),
        kubernetesDir: stringWithDefault("/etc/kubernetes", KUBERNETES_DIR_FIX, noTemplate(KUBERNETES_DIR_FIX), absolutePath(KUBERNETES_DIR_FIX)),
        paths: mapWithDefault(
            requiredString("set the absolute path of the file on the node", layoutPathCheck),
            'map file keys to absolute paths, e.g. { "apiserver.crt": "/etc/ssl/k8s/apiserver.pem" }',
        ),
        restart: choiceWithDefault(["static-pod", "systemd", "crictl"], "static-pod"),
        componentServingCerts: flagWithDefault(false, "set true when the controller-manager and scheduler manifests name --tls-cert-file pki/controller-manager.crt and pki/scheduler.crt (default false)"),
        omit: stringListWithDefault(`list catalogue ids the cluster does not have, e.g. [front-proxy-ca, front-proxy-client]`),
        sameCertificate: mapWithDefault(
            requiredString("name the certificate that also serves this role, e.g. \"apiserver\""),
            'map a certificate id to the id whose certificate serves it too, e.g. { "apiserver-kubelet-client": "apiserver" }',
        ),
        manifestsDir: optionalString(MANIFESTS_FIX, noTemplate(MANIFESTS_FIX), absolutePath(MANIFESTS_FIX)),
        components: mapWithDefault(componentRestartSchema, 'map component names to how they restart, e.g. { kube-apiserver: { restart: docker, container: kube-apiserver } }'),
        // Any kind: a kubeadm cluster may run etcd as a non-root user too. Stack ids are checked in parse.ts.
        owners: mapWithDefault(requiredString(OWNER_FIX, ownerCheck), 'map file keys or kube-pki:certificates ids to user:group, e.g. { "etcd/server.key": "etcd:etcd" }'),
    },
    "set kind, kubernetesDir, paths, restart, componentServingCerts, omit, manifestsDir, components and owners",
)
    .prefault({})
    .superRefine((layout, ctx) => {
        const keys = Object.keys(layout.paths);
        if (layout.kind !== "custom") {
            for (const key of ["paths", "omit", "sameCertificate", "components", "manifestsDir"] as const) {
                const v = layout[key];
                const set = Array.isArray(v) ? v.length > 0 : typeof v === "object" ? Object.keys(v).length > 0 : v !== undefined;
                if (!set) continue;
                ctx.addIssue({
                    code: "custom",
                    path: [key],
                    message: sentence(key === "paths" ? 'overrides are only allowed with kind "custom"' : 'is only allowed with kind "custom"',
                        `set ${configKey(["layout", "kind"])} to "custom", or remove ${key}`),
                });
            }
        }
        for (const key of keys) {
            if (!(layoutFileKeys as readonly string[]).includes(key)) {
                ctx.addIssue({ code: "custom", path: ["paths", key], message: sentence("unknown file key", `use one of ${layoutFileKeys.join(", ")}`) });
            }
        }
        const ids = catalogEntryIds();
        layout.omit.forEach((id, i) => {
            if (!ids.includes(id)) ctx.addIssue({ code: "custom", path: ["omit", i], message: sentence(`${show(id)} is not a catalogue id`, `use one of ${ids.join(", ")}`) });
            // The cluster CA signs every kubeconfig, and admin.conf is the stack's admin kubeconfig output.
            else if (id === "ca" || id === "admin.conf") {
                ctx.addIssue({ code: "custom", path: ["omit", i], message: sentence(`${show(id)} cannot be omitted: kube-pki needs it`, `remove it from omit; map it to the cluster's file with ${configKey(["layout", "paths"])}`) });
            }
        });
        const leafIds = catalogLeafIds();
        for (const [role, by] of Object.entries(layout.sameCertificate)) {
            const at = ["sameCertificate", role];
            if (!leafIds.includes(role)) ctx.addIssue({ code: "custom", path: at, message: sentence(`${show(role)} is not a certificate id`, `use one of ${leafIds.join(", ")}`) });
            else if (!leafIds.includes(by)) ctx.addIssue({ code: "custom", path: at, message: sentence(`${show(by)} is not a certificate id`, `use one of ${leafIds.join(", ")}`) });
            else if (role === by || layout.sameCertificate[by] !== undefined) {
                ctx.addIssue({ code: "custom", path: at, message: sentence(`${show(by)} is itself served by another certificate`, "name the certificate that is really issued (chains are not followed)") });
            }
        }
        for (const key of Object.keys(layout.owners)) {
            // A file key, or what may be a kube-pki:certificates id (a DNS label: file keys all have a "." or "/").
            if ((layoutFileKeys as readonly string[]).includes(key) || isDnsLabel(key)) continue;
            ctx.addIssue({ code: "custom", path: ["owners", key], message: sentence("unknown file key", `use one of ${layoutFileKeys.join(", ")}, or the id of a kube-pki:certificates entry`) });
        }
        for (const name of Object.keys(layout.components)) {
            if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
                ctx.addIssue({ code: "custom", path: ["components", name], message: sentence("is not a component name", 'use the component\'s name, e.g. "kube-apiserver", "kubelet" or "kube-proxy"') });
            }
        }
    });

export const authoritiesSchema = section(
    {
        ca: choiceWithDefault(["adopt", "generate"], "adopt"),
        // same-as-ca: the cluster CA signs these too (hand-built and RKE clusters); src/pki/plan.ts.
        frontProxyCa: choiceWithDefault(["adopt", "generate", "same-as-ca"], "adopt"),
        etcdCa: choiceWithDefault(["adopt", "generate", "same-as-ca"], "adopt"),
        serviceAccount: choiceWithDefault(["adopt", "generate"], "adopt"),
        adoptFrom: optionalString("name the master the existing CAs and sa key are read from (default: the first master)"),
        // Generated CAs and the sa pair only; kube-pki:keyAlgorithm is for leaves. Its own key, so
        // changing the leaves' algorithm never replaces a CA key.
        keyAlgorithm: choiceWithDefault(KEY_ALGORITHMS, "RSA-2048", "is not supported"),
        // CA and service-account key rotations asked for; checks across fields and keys, and the files read: rotation.ts.
        rotate: rotateSchema,
    },
    'set each of ca, frontProxyCa, etcdCa, serviceAccount to "adopt" or "generate", keyAlgorithm for generated ones, and rotate for CA and service-account key rotations',
).prefault({});

export const rolloutSchema = section(
    {
        restart: flagWithDefault(true, "set true to restart components after pushing files (default true)"),
        workerBatchSize: wholeNumberWithDefault(5, { min: 1 }, "set how many workers rotate at once (default 5)"),
        componentTimeoutSeconds: wholeNumberWithDefault(180, { min: 1 }, "set how long a component may take to come back, in seconds (default 180)"),
        clockSkewToleranceSeconds: wholeNumberWithDefault(30, { min: 0 }, "set how far a node's clock may lag ours, in seconds (default 30)"),
        keepBackups: wholeNumberWithDefault(5, { min: 1 }, "set how many backups to keep per node (default 5)"),
    },
    "set restart, workerBatchSize, componentTimeoutSeconds, clockSkewToleranceSeconds and keepBackups",
).prefault({});

export const driftSchema = section(
    {
        enabled: flagWithDefault(true, "set true to read nodes at program time and report drift (default true)"),
        unreachable: choiceWithDefault(["warn", "error"], "warn"),
        checkServed: flagWithDefault(true, "set true to also read the certificate each component serves (default true)"),
        concurrency: wholeNumberWithDefault(8, { min: 1 }, "set how many nodes are read at once (default 8)"),
    },
    "set enabled, unreachable, checkServed and concurrency",
).prefault({});

export const kubeletSchema = section(
    {
        // self-signed: the kubelet's own certificate, untouched; managed: kube-pki issues it (src/pki/catalog.ts).
        servingCertificate: choiceWithDefault(["self-signed", "managed"], "self-signed"),
        // rotate: kubelet.conf names kubelet-client-current.pem, kube-pki steps in only when it is unusable; embedded: in kubelet.conf.
        clientCertificate: choiceWithDefault(["rotate", "embedded"], "rotate"),
    },
    'set servingCertificate to "self-signed" (default) or "managed", clientCertificate to "rotate" (default) or "embedded"',
).prefault({});

export const clusterObjectsSchema = section(
    {
        // Objects in the cluster (cluster-info, kubeadm's RBAC bindings) via @pulumi/kubernetes: src/cluster-objects/.
        enabled: flagWithDefault(true, "set true to keep cluster-info and kubeadm's RBAC bindings in the cluster (default true), false to leave the cluster's objects alone"),
    },
    "set enabled to true or false",
).prefault({});

/** Every key of the `kube-pki` namespace with its schema, in the order problems are reported. */
export const keySchemas = {
    cluster: clusterSchema,
    nodes: nodesSchema,
    ssh: sshDefaultsSchema,
    sshPrivateKey: sshPrivateKeySchema,
    keyAlgorithm: keyAlgorithmSchema,
    validity: validitySchema,
    layout: layoutSchema,
    authorities: authoritiesSchema,
    rollout: rolloutSchema,
    drift: driftSchema,
    kubelet: kubeletSchema,
    clusterObjects: clusterObjectsSchema,
    certificates: certificatesSchema,
} as const;

export type ConfigKeyName = keyof typeof keySchemas;
export const CONFIG_KEY_NAMES = Object.keys(keySchemas) as ConfigKeyName[];

export type ParsedConfig = { [K in ConfigKeyName]: z.output<(typeof keySchemas)[K]> };
