/**
 * Every config mistake named in the design produces one exact, actionable line
 * ("kube-pki:<key>: <problem>; <fix>.") and all of them are reported together.
 */
import { generatePrivateKey } from "../harness/mocks/tls-keys";
import { describe, expect, it } from "vitest";
import { ConfigError, parseClusterSpec } from "../../src/config";
import { fakeEnv, minimalConfig, pinnedConfig, problems, realHostKey, realPrivateKey, realPublicKey, realRsaHostKey, withConfig } from "./helpers";

const VALID_IDS =
    "apiserver, apiserver-kubelet-client, front-proxy-client, etcd-server, etcd-peer, etcd-healthcheck-client, apiserver-etcd-client, controller-manager-server, scheduler-server, kubelet-server, admin.conf, super-admin.conf, controller-manager.conf, scheduler.conf, kubelet.conf";
const CIDR_FIX = 'set the cluster\'s service range as kube-apiserver\'s --service-cluster-ip-range has it (kubeadm default "10.96.0.0/12").';

describe("missing required keys", () => {
    it("names each missing top-level key with an example", () => {
        expect(problems({})).toEqual([
            "kube-pki:cluster: is required; set at least the cluster's name and Kubernetes version, e.g. `pulumi config set --path kube-pki:cluster.name prod` and `pulumi config set --path kube-pki:cluster.kubernetesVersion 1.30.4`.",
            "kube-pki:nodes: is required; list every node with name, role (master/worker) and address, e.g. nodes: [{ name: master-1, role: master, address: 10.0.0.11 }].",
        ]);
    });

    it("names missing fields inside objects", () => {
        expect(problems(withConfig({ cluster: { name: undefined, kubernetesVersion: undefined }, nodes: [{ name: "master-1", role: "master" }] }))).toEqual([
            'kube-pki:cluster.name: is required; set a short lowercase name for the cluster (e.g. "prod"); it names resources and kubeconfig contexts.',
            'kube-pki:cluster.kubernetesVersion: is required; set the exact version the cluster runs, as MAJOR.MINOR.PATCH (e.g. "1.30.4"; see `kubectl version`).',
            'kube-pki:nodes[0].address: is required; set it to the IP the node\'s apiserver/etcd advertise (e.g. "10.0.0.12").',
        ]);
    });

    it("treats YAML nulls (`key:` without a value) as absent", () => {
        const spec = parseClusterSpec(withConfig({ cluster: { apiServerCertSans: null, serviceCidr: null }, rollout: null }), fakeEnv());
        expect(spec.apiServerCertSans).toEqual([]);
        expect(spec.serviceCidr).toBe("10.96.0.0/12");
        expect(spec.rollout.workerBatchSize).toBe(5);
    });
});

describe("nodes", () => {
    it("rejects duplicate names, naming both indexes", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "10.0.0.11" },
            { name: "worker-1", role: "worker", address: "10.0.0.21" },
            { name: "master-1", role: "worker", address: "10.0.0.22" },
        ];
        expect(problems(withConfig({ nodes }))).toEqual([
            'kube-pki:nodes[2].name: "master-1" is already used by kube-pki:nodes[0]; give every node its own name (it becomes the CN of its etcd certificates and system:node:<name>).',
        ]);
    });

    it("rejects a duplicate address, in any spelling of the same IP, naming both indexes", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "fd00::11" },
            { name: "master-2", role: "master", address: "10.0.0.12" },
            { name: "worker-1", role: "worker", address: "fd00:0:0:0:0:0:0:11" },
            { name: "worker-2", role: "worker", address: "10.0.0.12" },
            { name: "worker-3", role: "worker", address: "::ffff:10.0.0.12" },
        ];
        const fix = "give every node its own address (it goes into the node's certificates, its etcd peer URL and per-address file names).";
        expect(problems(withConfig({ nodes }))).toEqual([
            `kube-pki:nodes[2].address: "fd00:0:0:0:0:0:0:11" is already the address of kube-pki:nodes[0]; ${fix}`,
            `kube-pki:nodes[3].address: "10.0.0.12" is already the address of kube-pki:nodes[1]; ${fix}`,
        ]);
    });

    it("requires at least one master", () => {
        expect(problems(withConfig({ nodes: [{ name: "worker-1", role: "worker", address: "10.0.0.21" }] }))).toEqual([
            'kube-pki:nodes: no node has role "master"; mark the control-plane nodes with role: master (at least one is needed).',
        ]);
        expect(problems(withConfig({ nodes: [] }))).toEqual([
            'kube-pki:nodes: no node has role "master"; mark the control-plane nodes with role: master (at least one is needed).',
        ]);
    });

    it("rejects an address that is not an IP", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "10.0.0.11" },
            { name: "master-2", role: "master", address: "10.0.0.12" },
            { name: "master-3", role: "master", address: "10.0.0.300" },
        ];
        expect(problems(withConfig({ nodes }))).toEqual([
            'kube-pki:nodes[2].address: "10.0.0.300" is not an IP address; set it to the IP the node\'s apiserver/etcd advertise (e.g. "10.0.0.12").',
        ]);
    });

    it("rejects bad roles and names", () => {
        const nodes = [{ name: "Master_1", role: "control-plane", address: "10.0.0.11" }];
        expect(problems(withConfig({ nodes }))).toEqual([
            'kube-pki:nodes[0].name: "Master_1" is not a valid node name; use the node\'s name as `kubectl get nodes` shows it: lowercase letters, digits, "-" and "." (e.g. "master-1").',
            'kube-pki:nodes[0].role: "control-plane" is not allowed; use one of "master", "worker".',
            'kube-pki:nodes: no node has role "master"; mark the control-plane nodes with role: master (at least one is needed).',
        ]);
    });

    it("requires localRoot for a local node, even next to other problems of that node", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "10.0.0.11" },
            { name: "dev", role: "wrker", address: "127.0.0.1", transport: "local" },
        ];
        expect(problems(withConfig({ nodes }))).toEqual([
            'kube-pki:nodes[1].role: "wrker" is not allowed; use one of "master", "worker".',
            'kube-pki:nodes[1].localRoot: is required for transport "local"; set the directory that stands in for the node\'s "/" (e.g. ".dev-node", relative to the project directory).',
        ]);
    });

    it("rejects transport-specific fields on the other transport", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "10.0.0.11", localRoot: "/tmp/x" },
            { name: "dev", role: "worker", address: "127.0.0.1", transport: "local", localRoot: ".dev", ssh: { port: 2222 } },
        ];
        expect(problems(withConfig({ nodes }))).toEqual([
            'kube-pki:nodes[0].localRoot: is only used with transport "local"; remove it, or set transport: local.',
            'kube-pki:nodes[1].ssh: is only used with transport "ssh"; remove it, or set transport: ssh.',
        ]);
    });

    it("reports unknown keys one per line, with the valid ones", () => {
        const nodes = [{ name: "master-1", role: "master", address: "10.0.0.11", adress: "x", ssh: { prot: 22 } }];
        expect(problems(withConfig({ nodes, nodez: [] }))).toEqual([
            "kube-pki:nodez: unknown key; valid keys are kube-pki:cluster, kube-pki:nodes, kube-pki:ssh, kube-pki:sshPrivateKey, kube-pki:keyAlgorithm, kube-pki:validity, kube-pki:layout, kube-pki:authorities, kube-pki:rollout, kube-pki:drift, kube-pki:kubelet, kube-pki:clusterObjects, kube-pki:certificates.",
            "kube-pki:nodes[0].ssh.prot: unknown key; valid keys here are host, port, user, privateKeyPath, hostKey.",
            "kube-pki:nodes[0].adress: unknown key; valid keys here are name, role, address, transport, ssh, localRoot.",
        ]);
    });
});

const UNPINNED = (node: string, stack = "<stack>") =>
    `node "${node}" has no pinned SSH host key, so kube-pki would push keys to whatever answers at its address; run \`npx kube-pki host-keys --stack ${stack}\` and paste the ssh.hostKey it prints for "${node}", or accept any host key on unpinned nodes with kube-pki:ssh.insecureIgnoreHostKeys: true (insecure; the program then warns at every run).`;

describe("host keys", () => {
    const twoNodes = (ssh1: object, ssh2?: object) => [
        { name: "master-1", role: "master", address: "10.0.0.11", ssh: ssh1 },
        { name: "worker-1", role: "worker", address: "10.0.0.21", ...(ssh2 ? { ssh: ssh2 } : {}) },
    ];

    it("requires a pin on every SSH node, naming the key, the node, the stack and both fixes", () => {
        expect(problems({ ...pinnedConfig(), nodes: twoNodes({ port: 2222 }) }, { ...fakeEnv(), stack: "prod" })).toEqual([
            `kube-pki:nodes[0].ssh.hostKey: ${UNPINNED("master-1", "prod")}`,
            `kube-pki:nodes[1].ssh.hostKey: ${UNPINNED("worker-1", "prod")}`,
        ]);
        // Without a known stack name the command shows where it goes.
        expect(problems({ ...pinnedConfig(), nodes: twoNodes({ hostKey: realHostKey }) })).toEqual([`kube-pki:nodes[1].ssh.hostKey: ${UNPINNED("worker-1")}`]);
    });

    it("needs no pin for a local node", () => {
        const nodes = [{ name: "dev", role: "master", address: "127.0.0.1", transport: "local", localRoot: ".dev" }];
        expect(parseClusterSpec({ ...pinnedConfig(), nodes }, fakeEnv()).nodes[0].ssh).toBeUndefined();
    });

    it("accepts unpinned nodes only with the loud opt-out, and marks exactly those nodes", () => {
        const spec = parseClusterSpec({ ...pinnedConfig(), nodes: twoNodes({ hostKey: realHostKey }), ssh: { insecureIgnoreHostKeys: "true" } }, fakeEnv());
        expect(spec.nodes[0].ssh).toEqual({ host: "10.0.0.11", port: 22, user: "root", privateKey: realPrivateKey, hostKey: realHostKey });
        expect(spec.nodes[1].ssh).toEqual({ host: "10.0.0.21", port: 22, user: "root", privateKey: realPrivateKey, insecureIgnoreHostKey: true });
        expect(problems({ ...pinnedConfig(), ssh: { insecureIgnoreHostKeys: "yes" } })).toEqual([
            'kube-pki:ssh.insecureIgnoreHostKeys: must be true or false, got "yes"; set true only to accept any SSH host key on nodes without ssh.hostKey (default false: every SSH node needs a pin).',
        ]);
    });

    it("refuses an RSA pin, saying why, and asks for the ed25519 or ECDSA key", () => {
        expect(problems({ ...pinnedConfig(), nodes: twoNodes({ hostKey: realHostKey }, { hostKey: realRsaHostKey }) }, { ...fakeEnv(), stack: "prod" })).toEqual([
            "kube-pki:nodes[1].ssh.hostKey: is an RSA host key: pulumi-command pins with HostKeyAlgorithms=[the pin's type], so it would offer only ssh-rsa (SHA-1 signatures), which OpenSSH 8.8 and later refuse, and every command on the node would fail; pin node \"worker-1\"'s ed25519 or ECDSA host key instead (its /etc/ssh/ssh_host_ed25519_key.pub; `npx kube-pki host-keys --stack prod` prints it).",
        ]);
        // The opt-out does not excuse an RSA pin: the pin would still be used.
        expect(problems({ ...minimalConfig(), nodes: twoNodes({ hostKey: realRsaHostKey }) })).toHaveLength(1);
    });

    it("accepts ECDSA pins of every curve, with a comment", () => {
        for (const bits of [256, 384, 521] as const) {
            const pin = `${generatePrivateKey({ algorithm: "ECDSA", ecdsaCurve: `P${bits}` }).publicKeyOpenssh.trim()} root@master-1`;
            expect(parseClusterSpec({ ...pinnedConfig(), nodes: twoNodes({ hostKey: pin }, { hostKey: ` ${realHostKey}\n` }) }, fakeEnv()).nodes.map((n) => n.ssh?.hostKey))
                .toEqual([pin, realHostKey]);
        }
    });

    it("rejects a host key that is not an SSH public key, without echoing it", () => {
        const nodes = [{ name: "master-1", role: "master", address: "10.0.0.11", ssh: { hostKey: realPrivateKey } }];
        const lines = problems({ ...pinnedConfig(), nodes });
        expect(lines).toEqual([
            'kube-pki:nodes[0].ssh.hostKey: is not an SSH public key (it is a private key); set the node\'s SSH host public key as in its /etc/ssh/ssh_host_ed25519_key.pub (e.g. "ssh-ed25519 AAAA…").',
        ]);
        expect(lines.join("\n")).not.toContain(realPrivateKey.split("\n")[1]);
        const ok = parseClusterSpec({ ...pinnedConfig(), nodes: [{ name: "master-1", role: "master", address: "10.0.0.11", ssh: { hostKey: realPublicKey } }] }, fakeEnv());
        expect(ok.nodes[0].ssh?.hostKey).toBe(realPublicKey);
    });
});

describe("cluster", () => {
    it("rejects SANs that are neither IP nor DNS name, wherever they are", () => {
        const cluster = { apiServerCertSans: ["k8s.example.com", "10.0.0.300", "*.apps.example.com", "api_server"], etcd: { serverCertSans: ["etcd.local", "-bad"] } };
        expect(problems(withConfig({ cluster }))).toEqual([
            'kube-pki:cluster.apiServerCertSans[1]: "10.0.0.300" is neither an IP address nor a DNS name; use an IP address (e.g. "10.0.0.100") or a lowercase DNS name (e.g. "k8s-api.example.com"; wildcards like "*.example.com" are allowed).',
            'kube-pki:cluster.apiServerCertSans[3]: "api_server" is neither an IP address nor a DNS name; use an IP address (e.g. "10.0.0.100") or a lowercase DNS name (e.g. "k8s-api.example.com"; wildcards like "*.example.com" are allowed).',
            'kube-pki:cluster.etcd.serverCertSans[1]: "-bad" is neither an IP address nor a DNS name; use an IP address (e.g. "10.0.0.100") or a lowercase DNS name (e.g. "k8s-api.example.com"; wildcards like "*.example.com" are allowed).',
        ]);
    });

    it("rejects a service CIDR that is not a CIDR", () => {
        expect(problems(withConfig({ cluster: { serviceCidr: "10.96.0.0/33" } }))).toEqual([
            `kube-pki:cluster.serviceCidr: "10.96.0.0/33" is not a CIDR; ${CIDR_FIX}`,
        ]);
        expect(problems(withConfig({ cluster: { serviceCidr: "10.96.0.0" } }))).toEqual([`kube-pki:cluster.serviceCidr: "10.96.0.0" is not a CIDR; ${CIDR_FIX}`]);
    });

    it("rejects service CIDRs that are too small or too large, IPv4 and IPv6", () => {
        const tooSmall = (v: string) =>
            `kube-pki:cluster.serviceCidr: "${v}" is too small: the prefix must be /28 or shorter for IPv4 (/120 for IPv6), since the first address goes to the kubernetes service and the rest to other services; ${CIDR_FIX}`;
        const tooLarge = (v: string) =>
            `kube-pki:cluster.serviceCidr: "${v}" is too large: kube-apiserver refuses a prefix shorter than /12 for IPv4 (/108 for IPv6); ${CIDR_FIX}`;
        expect(problems(withConfig({ cluster: { serviceCidr: "10.96.0.0/29" } }))).toEqual([tooSmall("10.96.0.0/29")]);
        expect(problems(withConfig({ cluster: { serviceCidr: "10.0.0.0/8" } }))).toEqual([tooLarge("10.0.0.0/8")]);
        expect(problems(withConfig({ cluster: { serviceCidr: "fd00::/121" } }))).toEqual([tooSmall("fd00::/121")]);
        expect(problems(withConfig({ cluster: { serviceCidr: "fd00::/64" } }))).toEqual([tooLarge("fd00::/64")]);
        // The limits themselves are accepted.
        for (const cidr of ["10.96.0.0/12", "10.96.0.0/28", "fd00::/108", "fd00::/120"]) {
            expect(parseClusterSpec(withConfig({ cluster: { serviceCidr: cidr } }), fakeEnv()).serviceCidr).toBe(cidr);
        }
    });

    it("asks for the network address when host bits are set, and for one range when given two", () => {
        expect(problems(withConfig({ cluster: { serviceCidr: "10.96.0.1/12" } }))).toEqual([
            'kube-pki:cluster.serviceCidr: "10.96.0.1/12" has host bits set; write the network address "10.96.0.0/12".',
        ]);
        expect(problems(withConfig({ cluster: { serviceCidr: "10.96.0.0/12,fd00::/108" } }))).toEqual([
            'kube-pki:cluster.serviceCidr: "10.96.0.0/12,fd00::/108" lists several ranges; set only the primary (first) range, e.g. "10.96.0.0/12": the apiserver certificate carries only its first IP.',
        ]);
    });

    it("rejects malformed and unsupported Kubernetes versions, saying which are supported", () => {
        const malformed = (v: string) =>
            `kube-pki:cluster.kubernetesVersion: "${v}" is not a full Kubernetes version; set the exact version the cluster runs, as MAJOR.MINOR.PATCH (e.g. "1.30.4"; see \`kubectl version\`).`;
        const unsupported = (v: string) =>
            `kube-pki:cluster.kubernetesVersion: "${v}" is not supported; kube-pki supports Kubernetes 1.11 to 1.37 (any patch release); set the version the cluster runs, or upgrade the cluster to a supported minor first.`;
        expect(problems(withConfig({ cluster: { kubernetesVersion: "1.30" } }))).toEqual([malformed("1.30")]);
        expect(problems(withConfig({ cluster: { kubernetesVersion: "1.30.4-rc.0" } }))).toEqual([malformed("1.30.4-rc.0")]);
        expect(problems(withConfig({ cluster: { kubernetesVersion: "1.10.13" } }))).toEqual([unsupported("1.10.13")]);
        for (const v of ["1.11.0", "1.24.17"]) expect(parseClusterSpec(withConfig({ cluster: { kubernetesVersion: v } }), fakeEnv()).kubernetesVersion).toBe(v);
        expect(problems(withConfig({ cluster: { kubernetesVersion: "1.38.0" } }))).toEqual([unsupported("1.38.0")]);
        expect(problems(withConfig({ cluster: { kubernetesVersion: 1.3 } }))).toEqual([
            'kube-pki:cluster.kubernetesVersion: must be a string, got 1.3; set the exact version the cluster runs, as MAJOR.MINOR.PATCH (e.g. "1.30.4"; see `kubectl version`).',
        ]);
    });

    it("rejects a malformed control-plane endpoint", () => {
        const fix =
            'set the host:port clients use to reach the apiserver (a load balancer for HA), e.g. "k8s-api.example.com:6443" or "10.0.0.10" (the port defaults to 6443).';
        expect(problems(withConfig({ cluster: { controlPlaneEndpoint: "k8s-api.example.com:99999" } }))).toEqual([
            `kube-pki:cluster.controlPlaneEndpoint: "k8s-api.example.com:99999" has a port that is not a number from 1 to 65535; ${fix}`,
        ]);
        expect(problems(withConfig({ cluster: { controlPlaneEndpoint: "https://k8s-api:6443" } }))).toEqual([
            `kube-pki:cluster.controlPlaneEndpoint: "https://k8s-api:6443" is not host:port (write IPv6 addresses as "[fd00::10]:6443"); ${fix}`,
        ]);
        expect(problems(withConfig({ cluster: { controlPlaneEndpoint: "k8s_api:6443" } }))).toEqual([
            `kube-pki:cluster.controlPlaneEndpoint: "k8s_api:6443" has a host that is neither an IP address nor a DNS name; ${fix}`,
        ]);
    });
});

describe("keyAlgorithm", () => {
    it("lists the supported algorithms", () => {
        expect(problems(withConfig({ keyAlgorithm: "RSA-1024" }))).toEqual([
            'kube-pki:keyAlgorithm: "RSA-1024" is not supported; use one of "RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256".',
        ]);
    });

    it("sets generated authorities apart from leaves: authorities.keyAlgorithm, default RSA-2048, same choices", () => {
        expect(problems(withConfig({ authorities: { keyAlgorithm: "ED25519" } }))).toEqual([
            'kube-pki:authorities.keyAlgorithm: "ED25519" is not supported; use one of "RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256".',
        ]);
        const leavesOnly = parseClusterSpec(withConfig({ keyAlgorithm: "ECDSA-P256" }), fakeEnv());
        expect([leavesOnly.keyAlgorithm, leavesOnly.authorities.keyAlgorithm]).toEqual(["ECDSA-P256", "RSA-2048"]);
        const both = parseClusterSpec(withConfig({ authorities: { ca: "generate", keyAlgorithm: "RSA-4096" } }), fakeEnv());
        expect([both.keyAlgorithm, both.authorities.keyAlgorithm]).toEqual(["RSA-2048", "RSA-4096"]);
    });
});

describe("validity", () => {
    it("refuses a leaf that would outlive its CA", () => {
        expect(problems(withConfig({ validity: { caYears: 1, leafDays: 365 } }))).toEqual([
            "kube-pki:validity.leafDays: 365 days is not shorter than the CA validity (caYears 1 = 365 days); a leaf must never outlive its CA, so lower leafDays or raise caYears.",
        ]);
        expect(problems(withConfig({ validity: { caYears: 2, leafDaysOverrides: { "admin.conf": 800 } } }))).toEqual([
            'kube-pki:validity.leafDaysOverrides["admin.conf"]: 800 days is not shorter than the CA validity (caYears 2 = 730 days); a leaf must never outlive its CA, so lower the override or raise caYears.',
        ]);
    });

    it("refuses renew-before at or above a validity", () => {
        expect(problems(withConfig({ validity: { leafDays: 90, renewBeforeDays: 90 } }))).toEqual([
            "kube-pki:validity.renewBeforeDays: 90 days is not shorter than leafDays (90); certificates would be due for renewal as soon as they are issued, so lower renewBeforeDays (e.g. 30) or raise leafDays.",
        ]);
        expect(problems(withConfig({ validity: { renewBeforeDays: 60, leafDaysOverrides: { "front-proxy-client": 45 } } }))).toEqual([
            "kube-pki:validity.leafDaysOverrides.front-proxy-client: 45 days is not longer than renewBeforeDays (60); that certificate would be due for renewal as soon as it is issued, so raise the override or lower renewBeforeDays.",
        ]);
    });

    it("lists the valid ids for an unknown override, and wants whole positive days", () => {
        expect(problems(withConfig({ validity: { leafDaysOverrides: { ca: 400, apiserver: 0, "kubelet.conf": "ninety" } } }))).toEqual([
            "kube-pki:validity.leafDaysOverrides.apiserver: must be a whole number ≥ 1, got 0; set a whole number of days ≥ 1.",
            'kube-pki:validity.leafDaysOverrides["kubelet.conf"]: must be a whole number ≥ 1, got "ninety"; set a whole number of days ≥ 1.',
        ]);
        expect(problems(withConfig({ validity: { leafDaysOverrides: { ca: 400 } } }))).toEqual([
            `kube-pki:validity.leafDaysOverrides.ca: unknown certificate id; use one of ${VALID_IDS}.`,
        ]);
        expect(problems(withConfig({ validity: { caYears: 2.5 } }))).toEqual([
            "kube-pki:validity.caYears: must be a whole number ≥ 1, got 2.5; set a whole number of years ≥ 1 (kubeadm: 10).",
        ]);
    });
});

describe("layout", () => {
    it("lists the valid file keys for an unknown path key", () => {
        expect(problems(withConfig({ layout: { kind: "custom", paths: { "apiserver.pem": "/etc/ssl/apiserver.pem", "ca.crt": "/etc/ssl/ca.pem" } } }))).toEqual([
            'kube-pki:layout.paths["apiserver.pem"]: unknown file key; use one of ca.crt, ca.key, front-proxy-ca.crt, front-proxy-ca.key, etcd/ca.crt, etcd/ca.key, apiserver.crt, apiserver.key, apiserver-kubelet-client.crt, apiserver-kubelet-client.key, front-proxy-client.crt, front-proxy-client.key, etcd/server.crt, etcd/server.key, etcd/peer.crt, etcd/peer.key, etcd/healthcheck-client.crt, etcd/healthcheck-client.key, apiserver-etcd-client.crt, apiserver-etcd-client.key, sa.key, sa.pub, controller-manager.crt, controller-manager.key, scheduler.crt, scheduler.key, admin.conf, super-admin.conf, controller-manager.conf, scheduler.conf, kubelet.conf, kubelet.crt, kubelet.key.',
        ]);
    });

    it("allows paths only with kind custom, and only absolute ones", () => {
        expect(problems(withConfig({ layout: { paths: { "ca.crt": "/etc/ssl/ca.pem" } } }))).toEqual([
            'kube-pki:layout.paths: overrides are only allowed with kind "custom"; set kube-pki:layout.kind to "custom", or remove paths.',
        ]);
        expect(problems(withConfig({ layout: { kind: "custom", kubernetesDir: "etc/kubernetes", paths: { "etcd/server.key": "ssl/etcd.key" } } }))).toEqual([
            'kube-pki:layout.kubernetesDir: "etc/kubernetes" is not an absolute path; set the absolute directory of the node\'s Kubernetes config tree (default "/etc/kubernetes").',
            'kube-pki:layout.paths["etcd/server.key"]: "ssl/etcd.key" is not an absolute path; set the absolute path of the file on the node.',
        ]);
    });
});

describe("authorities", () => {
    it("requires adoptFrom to name a master", () => {
        const nodes = [
            { name: "master-1", role: "master", address: "10.0.0.11" },
            { name: "master-2", role: "master", address: "10.0.0.12" },
            { name: "worker-1", role: "worker", address: "10.0.0.21" },
        ];
        expect(problems(withConfig({ nodes, authorities: { adoptFrom: "worker-1" } }))).toEqual([
            'kube-pki:authorities.adoptFrom: "worker-1" is a worker, not a master; name the master the existing CAs and sa key are read from ("master-1", "master-2"), or remove it to use the first master.',
        ]);
        expect(problems(withConfig({ nodes, authorities: { adoptFrom: "master-9" } }))).toEqual([
            'kube-pki:authorities.adoptFrom: "master-9" is not a node; name the master the existing CAs and sa key are read from ("master-1", "master-2"), or remove it to use the first master.',
        ]);
    });
});

describe("rollout and drift", () => {
    it("checks numbers, flags and choices", () => {
        expect(problems(withConfig({ rollout: { workerBatchSize: 0, keepBackups: -1, restart: "yes" }, drift: { unreachable: "ignore", concurrency: 0 } }))).toEqual([
            'kube-pki:rollout.restart: must be true or false, got "yes"; set true to restart components after pushing files (default true).',
            "kube-pki:rollout.workerBatchSize: must be a whole number ≥ 1, got 0; set how many workers rotate at once (default 5).",
            "kube-pki:rollout.keepBackups: must be a whole number ≥ 1, got -1; set how many backups to keep per node (default 5).",
            'kube-pki:drift.unreachable: "ignore" is not allowed; use one of "warn", "error".',
            "kube-pki:drift.concurrency: must be a whole number ≥ 1, got 0; set how many nodes are read at once (default 8).",
        ]);
    });

    it("accepts the strings `pulumi config set --path` stores for numbers and booleans", () => {
        const spec = parseClusterSpec(withConfig({ rollout: { workerBatchSize: "3", restart: "false" }, drift: { concurrency: "2" } }), fakeEnv());
        expect(spec.rollout).toMatchObject({ workerBatchSize: 3, restart: false });
        expect(spec.drift.concurrency).toBe(2);
    });
});

describe("kubelet.servingCertificate", () => {
    it("defaults to self-signed (the kubelet's own certificate, untouched)", () => {
        expect(parseClusterSpec(withConfig({}), fakeEnv()).kubelet.servingCertificate).toBe("self-signed");
        expect(parseClusterSpec(withConfig({ kubelet: { servingCertificate: "managed" } }), fakeEnv()).kubelet.servingCertificate).toBe("managed");
    });

    it("names the key and the allowed values for a bad value, a typo and a wrong type", () => {
        expect(problems(withConfig({ kubelet: { servingCertificate: "ca-signed" } }))).toEqual([
            'kube-pki:kubelet.servingCertificate: "ca-signed" is not allowed; use one of "self-signed", "managed".',
        ]);
        expect(problems(withConfig({ kubelet: { servingCertificate: true } }))).toEqual([
            'kube-pki:kubelet.servingCertificate: true is not allowed; use one of "self-signed", "managed".',
        ]);
        expect(problems(withConfig({ kubelet: { servingCertficate: "managed" } }))).toEqual([
            "kube-pki:kubelet.servingCertficate: unknown key; valid keys here are servingCertificate, clientCertificate.",
        ]);
        expect(problems(withConfig({ kubelet: "managed" }))).toEqual([
            'kube-pki:kubelet: must be an object (a map of keys), got "managed"; set servingCertificate to "self-signed" (default) or "managed", clientCertificate to "rotate" (default) or "embedded".',
        ]);
    });
});

describe("kubelet.clientCertificate", () => {
    it("defaults to rotate (kubelet.conf names kubelet-client-current.pem, as kubeadm writes it)", () => {
        expect(parseClusterSpec(withConfig({}), fakeEnv()).kubelet.clientCertificate).toBe("rotate");
        expect(parseClusterSpec(withConfig({ kubelet: { clientCertificate: "embedded" } }), fakeEnv()).kubelet.clientCertificate).toBe("embedded");
    });

    it("names the key and the allowed values for a bad value, a wrong type and a typo", () => {
        expect(problems(withConfig({ kubelet: { clientCertificate: "rotating" } }))).toEqual([
            'kube-pki:kubelet.clientCertificate: "rotating" is not allowed; use one of "rotate", "embedded".',
        ]);
        expect(problems(withConfig({ kubelet: { clientCertificate: false } }))).toEqual([
            'kube-pki:kubelet.clientCertificate: false is not allowed; use one of "rotate", "embedded".',
        ]);
        expect(problems(withConfig({ kubelet: { clientCertifcate: "embedded" } }))).toEqual([
            "kube-pki:kubelet.clientCertifcate: unknown key; valid keys here are servingCertificate, clientCertificate.",
        ]);
    });
});

describe("SSH private keys", () => {
    const sshNodes = [
        { name: "master-1", role: "master", address: "10.0.0.11" },
        { name: "worker-1", role: "worker", address: "10.0.0.21" },
        { name: "dev", role: "worker", address: "127.0.0.1", transport: "local", localRoot: ".dev" },
    ];

    it("names every SSH node without a key and both ways to fix it", () => {
        expect(problems({ ...minimalConfig(), sshPrivateKey: undefined, nodes: sshNodes })).toEqual([
            'kube-pki:sshPrivateKey: nodes "master-1", "worker-1" connect over SSH but no private key is configured; run `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`, or set kube-pki:ssh.privateKeyPath (or the node\'s ssh.privateKeyPath) to the key file.',
        ]);
        expect(problems({ ...minimalConfig(), sshPrivateKey: undefined })).toEqual([
            'kube-pki:sshPrivateKey: node "master-1" connects over SSH but no private key is configured; run `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`, or set kube-pki:ssh.privateKeyPath (or the node\'s ssh.privateKeyPath) to the key file.',
        ]);
    });

    it("reports an unreadable key file with its expanded path, once", () => {
        const env = fakeEnv();
        expect(problems({ ...minimalConfig(), sshPrivateKey: undefined, nodes: sshNodes, ssh: { privateKeyPath: "~/.ssh/missing", insecureIgnoreHostKeys: true } }, env)).toEqual([
            'kube-pki:ssh.privateKeyPath: cannot read "/home/op/.ssh/missing" (ENOENT); point it at a readable private key file, or store the key with `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`.',
        ]);
        expect(env.reads).toEqual(["/home/op/.ssh/missing"]);
    });

    it("rejects unusable key text without echoing it", () => {
        const pub = "/home/op/.ssh/id_ed25519.pub";
        expect(problems({ ...minimalConfig(), sshPrivateKey: undefined, ssh: { privateKeyPath: pub, insecureIgnoreHostKeys: true } }, fakeEnv({ [pub]: realPublicKey }))).toEqual([
            'kube-pki:ssh.privateKeyPath: "/home/op/.ssh/id_ed25519.pub" is not a usable SSH private key (it is a public key); point it at an unencrypted private key file (not the .pub).',
        ]);
        const lines = problems({ ...minimalConfig(), sshPrivateKey: "hunter2-not-a-key" });
        expect(lines).toEqual([
            "kube-pki:sshPrivateKey: is not a usable SSH private key (Unsupported key format); store an unencrypted private key's full text with `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`.",
        ]);
        expect(lines.join("\n")).not.toContain("hunter2");
        expect(problems({ ...minimalConfig(), sshPrivateKey: 42 })).toEqual([
            "kube-pki:sshPrivateKey: must be the private key's text; run `pulumi config set --secret kube-pki:sshPrivateKey < ~/.ssh/id_ed25519`.",
        ]);
    });

    it("refuses the secret and a default key path together", () => {
        expect(problems(withConfig({ ssh: { privateKeyPath: "~/.ssh/id_ed25519" } }))).toEqual([
            "kube-pki:ssh.privateKeyPath: is set together with the secret kube-pki:sshPrivateKey; keep only one of them.",
        ]);
    });
});

describe("all at once", () => {
    it("reports every problem of a broken config in one ConfigError, grouped by key", () => {
        let error: unknown;
        try {
            parseClusterSpec(
                {
                    cluster: { name: "Lab", kubernetesVersion: "1.10.0", serviceCidr: "10.96.0.0/30" },
                    nodes: [
                        { name: "w", role: "worker", address: "10.0.0.300" },
                        { name: "w", role: "worker", address: "10.0.0.2" },
                    ],
                    keyAlgorithm: "ED25519",
                    validity: { leafDays: 5000 },
                    authorities: { adoptFrom: "w" },
                },
                fakeEnv(),
            );
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const e = error as ConfigError;
        expect(e.lines.map((l) => l.slice(0, l.indexOf(": ")))).toEqual([
            "kube-pki:cluster.name",
            "kube-pki:cluster.kubernetesVersion",
            "kube-pki:cluster.serviceCidr",
            "kube-pki:nodes[0].address",
            "kube-pki:nodes[1].name",
            "kube-pki:nodes",
            "kube-pki:keyAlgorithm",
            "kube-pki:validity.leafDays",
            "kube-pki:authorities.adoptFrom",
        ]);
        expect(e.message.split("\n")[0]).toBe("Invalid kube-pki stack configuration (9 problems):");
        expect(e.message.split("\n").slice(1)).toEqual(e.lines.map((l) => `  ${l}`));
    });
});
