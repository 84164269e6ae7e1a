/**
 * One zod schema per `kube-pki:*` config key. Each key is parsed on its own so that a broken key
 * does not hide the problems of the others; checks that span keys live in cross-checks.ts.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { catalogIds } from "../pki/catalog";
import { layoutFileKeys } from "../pki/layout";
import { SUPPORTED_RANGE_TEXT, isSupportedKubernetesVersion, tryParseKubernetesVersion } from "../pki/versions";
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

export const layoutSchema = section(
    {
        kind: choiceWithDefault(["kubeadm", "custom"], "kubeadm"),
        kubernetesDir: stringWithDefault("/etc/kubernetes", 'set the absolute directory of the node\'s Kubernetes config tree (default "/etc/kubernetes")', absolutePath('set the absolute directory of the node\'s Kubernetes config tree (default "/etc/kubernetes")')),
        paths: mapWithDefault(
            requiredString("set the absolute path of the file on the node", absolutePath("set the absolute path of the file on the node")),
            'map file keys to absolute paths, e.g. { "apiserver.crt": "/etc/ssl/k8s/apiserver.pem" }',
        ),
        restart: choiceWithDefault(["static-pod", "systemd", "crictl"], "static-pod"),
        componentServingCerts: flagWithDefault(false, "set true when the controller-manager and scheduler manifests name --tls-cert-file pki/controller-manager.crt and pki/scheduler.crt (default false)"),
    },
    "set kind, kubernetesDir, paths, restart and componentServingCerts",
)
    .prefault({})
    .superRefine((layout, ctx) => {
        const keys = Object.keys(layout.paths);
        if (layout.kind !== "custom" && keys.length > 0) {
            ctx.addIssue({
                code: "custom",
                path: ["paths"],
                message: sentence('overrides are only allowed with kind "custom"', `set ${configKey(["layout", "kind"])} to "custom", or remove paths`),
            });
        }
        for (const key of keys) {
            if (!(layoutFileKeys as readonly string[]).includes(key)) {
                ctx.addIssue({ code: "custom", path: ["paths", key], message: sentence("unknown file key", `use one of ${layoutFileKeys.join(", ")}`) });
            }
        }
    });

export const authoritiesSchema = section(
    {
        ca: choiceWithDefault(["adopt", "generate"], "adopt"),
        frontProxyCa: choiceWithDefault(["adopt", "generate"], "adopt"),
        etcdCa: choiceWithDefault(["adopt", "generate"], "adopt"),
        serviceAccount: choiceWithDefault(["adopt", "generate"], "adopt"),
        adoptFrom: optionalString("name the master the existing CAs and sa key are read from (default: the first master)"),
        // Generated CAs and the sa pair only; kube-pki:keyAlgorithm is for leaves. Its own key, so
        // changing the leaves' algorithm never replaces a CA key.
        keyAlgorithm: choiceWithDefault(KEY_ALGORITHMS, "RSA-2048", "is not supported"),
    },
    'set each of ca, frontProxyCa, etcdCa, serviceAccount to "adopt" or "generate", and keyAlgorithm for generated ones',
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
} as const;

export type ConfigKeyName = keyof typeof keySchemas;
export const CONFIG_KEY_NAMES = Object.keys(keySchemas) as ConfigKeyName[];

export type ParsedConfig = { [K in ConfigKeyName]: z.output<(typeof keySchemas)[K]> };
