/**
 * Seeds a hand-built cluster as its operator made it with cfssl years ago: one CA for
 * everything (5 years), cfssl file names under /etc/kubernetes/ssl, kubeconfigs that name those
 * files, every component a systemd unit, and kubelets that rotate their client certificates
 * (made by the controller-manager's signer, i.e. the CA, for one year) into /var/lib/kubelet/pki,
 * all of which expired 35 days ago. Every other certificate is valid. Written by openssl only.
 * The tree is listed in /tmp/i10/T-fixtures.md and in the tests that use it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { kubeletStamp } from "./kubeadm-seed";
import { APISERVER_DNS, at, issueOnNode, kubeletServingPair, LayoutSeed, LayoutSeedNode, LayoutSeedOptions, place,
    writeDescription, writeKubeconfigFile } from "./layout-seed-common";
import { issueCert } from "./openssl-issue";

const SSL = "/etc/kubernetes/ssl";
/** Everything but the kubelet client certificates was made this long ago, valid for 5 years. */
const ISSUED_DAYS_AGO = 400;
const CA_DAYS = 1826;
const LEAF_DAYS = 1825;
/** The kubelet client certificates: one year from the controller-manager's signer, expired 35 days ago. */
const KUBELET_CLIENT_DAYS = 365;
export const HANDBUILT_KUBELET_CLIENT_EXPIRED_DAYS_AGO = ISSUED_DAYS_AGO - KUBELET_CLIENT_DAYS;
const SERVICE_CIDR_FIRST_IP = "10.96.0.1";

/** Node paths of the hand-built layout (tests and the seeder share them). */
export const HANDBUILT = {
    ssl: SSL,
    ca: `${SSL}/ca.pem`, caKey: `${SSL}/ca-key.pem`,
    apiserver: `${SSL}/kubernetes.pem`, apiserverKey: `${SSL}/kubernetes-key.pem`,
    etcd: `${SSL}/etcd.pem`, etcdKey: `${SSL}/etcd-key.pem`,
    admin: `${SSL}/admin.pem`, adminKey: `${SSL}/admin-key.pem`,
    controllerManager: `${SSL}/kube-controller-manager.pem`, controllerManagerKey: `${SSL}/kube-controller-manager-key.pem`,
    scheduler: `${SSL}/kube-scheduler.pem`, schedulerKey: `${SSL}/kube-scheduler-key.pem`,
    kubeProxy: `${SSL}/kube-proxy.pem`, kubeProxyKey: `${SSL}/kube-proxy-key.pem`,
    serviceAccount: `${SSL}/service-account.pem`, serviceAccountKey: `${SSL}/service-account-key.pem`,
    adminKubeconfig: "/etc/kubernetes/admin.kubeconfig",
    controllerManagerKubeconfig: "/etc/kubernetes/kube-controller-manager.kubeconfig",
    schedulerKubeconfig: "/etc/kubernetes/kube-scheduler.kubeconfig",
    kubeProxyKubeconfig: "/etc/kubernetes/kube-proxy.kubeconfig",
    kubeletKubeconfig: "/etc/kubernetes/kubelet.kubeconfig",
    kubeletConfig: "/var/lib/kubelet/config.yaml",
    kubeletClientCurrent: "/var/lib/kubelet/pki/kubelet-client-current.pem",
    /** Master units in restart order, then the ones every node has. */
    masterUnits: ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
    nodeUnits: ["kubelet", "kube-proxy"],
} as const;

const rel = (p: string) => p.replace(/^\//, "");

export async function seedHandbuilt(o: LayoutSeedOptions): Promise<LayoutSeed> {
    const d = path.join(o.dir, "authorities");
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    const ca = { cert: path.join(d, "ca.pem"), key: path.join(d, "ca-key.pem") };
    const sa = { cert: path.join(d, "service-account.pem"), key: path.join(d, "service-account-key.pem") };
    const admin = { cert: path.join(d, "admin.pem"), key: path.join(d, "admin-key.pem") };
    const base = { issuedDaysAgo: ISSUED_DAYS_AGO, validDays: LEAF_DAYS, keyType: o.keyType };
    const client = ["serverAuth", "clientAuth"] as Array<"serverAuth" | "clientAuth">; // cfssl's "kubernetes" profile
    await issueCert({ cn: "Kubernetes", o: ["Kubernetes"], isCa: true, issuedDaysAgo: ISSUED_DAYS_AGO + 1, validDays: CA_DAYS, keyType: o.keyType, out: ca });
    await Promise.all([
        issueCert({ ...base, cn: "service-accounts", o: ["Kubernetes"], eku: client, issuer: ca, out: sa }),
        issueCert({ ...base, cn: "admin", o: ["system:masters"], eku: client, issuer: ca, out: admin }),
    ]);
    const pub = path.join(d, "service-account.pub");
    fs.writeFileSync(pub, new (require("node:crypto").X509Certificate)(fs.readFileSync(sa.cert)).publicKey.export({ type: "spki", format: "pem" }));
    const masters = o.nodes.filter((n) => n.role === "master");
    const firstMaster = masters[0];
    const apiserverUrl = `https://${o.controlPlaneEndpoint}`;

    await Promise.all(o.nodes.map(async (n) => {
        const master = n.role === "master";
        fs.mkdirSync(at(n, rel(SSL)), { recursive: true });
        place(n, ca.cert, rel(HANDBUILT.ca), 0o644);
        const jobs: Array<Promise<unknown>> = [
            issueOnNode(n, rel(HANDBUILT.kubeProxy), rel(HANDBUILT.kubeProxyKey), { ...base, cn: "system:kube-proxy", o: ["system:node-proxier"], eku: client, issuer: ca }),
            kubeletServingPair(n, o.keyType),
            kubeletClient(n, ca, o),
        ];
        if (master) {
            place(n, ca.key, rel(HANDBUILT.caKey), 0o600);
            place(n, sa.cert, rel(HANDBUILT.serviceAccount), 0o644);
            place(n, sa.key, rel(HANDBUILT.serviceAccountKey), 0o600);
            place(n, admin.cert, rel(HANDBUILT.admin), 0o644);
            place(n, admin.key, rel(HANDBUILT.adminKey), 0o600);
            const cpeHost = o.controlPlaneEndpoint.replace(/:\d+$/, "");
            jobs.push(
                issueOnNode(n, rel(HANDBUILT.apiserver), rel(HANDBUILT.apiserverKey), { ...base, cn: "kubernetes", o: ["Kubernetes"], eku: client, issuer: ca,
                    dns: [n.name, ...APISERVER_DNS], ips: [...new Set([SERVICE_CIDR_FIRST_IP, n.ip, cpeHost, "127.0.0.1"])] }),
                issueOnNode(n, rel(HANDBUILT.etcd), rel(HANDBUILT.etcdKey), { ...base, cn: "etcd", o: ["Kubernetes"], eku: client, issuer: ca,
                    dns: [n.name, "localhost"], ips: [n.ip, "127.0.0.1"] }),
                issueOnNode(n, rel(HANDBUILT.controllerManager), rel(HANDBUILT.controllerManagerKey), { ...base, cn: "system:kube-controller-manager",
                    o: ["system:kube-controller-manager"], eku: client, issuer: ca }),
                issueOnNode(n, rel(HANDBUILT.scheduler), rel(HANDBUILT.schedulerKey), { ...base, cn: "system:kube-scheduler", o: ["system:kube-scheduler"], eku: client, issuer: ca }),
            );
            const local = { clusterName: o.clusterName, server: "https://127.0.0.1:6443", ca: { file: HANDBUILT.ca } };
            writeKubeconfigFile(at(n, rel(HANDBUILT.adminKubeconfig)), { ...local, user: "admin", client: { cert: HANDBUILT.admin, key: HANDBUILT.adminKey } });
            writeKubeconfigFile(at(n, rel(HANDBUILT.controllerManagerKubeconfig)), { ...local, user: "system:kube-controller-manager",
                client: { cert: HANDBUILT.controllerManager, key: HANDBUILT.controllerManagerKey } });
            writeKubeconfigFile(at(n, rel(HANDBUILT.schedulerKubeconfig)), { ...local, user: "system:kube-scheduler",
                client: { cert: HANDBUILT.scheduler, key: HANDBUILT.schedulerKey } });
            writeMasterUnits(n, masters);
        }
        const remote = { clusterName: o.clusterName, server: apiserverUrl, ca: { file: HANDBUILT.ca } };
        writeKubeconfigFile(at(n, rel(HANDBUILT.kubeProxyKubeconfig)), { ...remote, user: "system:kube-proxy", client: { cert: HANDBUILT.kubeProxy, key: HANDBUILT.kubeProxyKey } });
        writeKubeconfigFile(at(n, rel(HANDBUILT.kubeletKubeconfig)), { ...remote, user: `system:node:${n.name}`,
            client: { cert: HANDBUILT.kubeletClientCurrent, key: HANDBUILT.kubeletClientCurrent } });
        writeKubeletConfigFile(n);
        writeDescription(n, "units", "kubelet", { description: "Kubernetes Kubelet", command: ["/usr/local/bin/kubelet",
            `--config=${HANDBUILT.kubeletConfig}`, `--kubeconfig=${HANDBUILT.kubeletKubeconfig}`, `--hostname-override=${n.name}`, "--v=2"] });
        writeDescription(n, "units", "kube-proxy", { description: "Kubernetes Kube Proxy", command: ["/usr/local/bin/kube-proxy",
            `--kubeconfig=${HANDBUILT.kubeProxyKubeconfig}`, `--hostname-override=${n.name}`, "--cluster-cidr=10.200.0.0/16"] });
        await Promise.all(jobs);
    }));

    const adminKubeconfig = path.join(d, "admin.kubeconfig");
    writeKubeconfigFile(adminKubeconfig, { clusterName: o.clusterName, server: `https://${firstMaster.ip}:6443`, user: "admin",
        ca: { pem: fs.readFileSync(ca.cert, "utf8") }, client: { certPem: fs.readFileSync(admin.cert, "utf8"), keyPem: fs.readFileSync(admin.key, "utf8") } });
    return {
        authorities: { ca, etcdCa: ca, frontProxyCa: ca, sa: { key: sa.key, pub } },
        etcdClient: { ca: HANDBUILT.ca, cert: HANDBUILT.etcd, key: HANDBUILT.etcdKey },
        adminKubeconfig,
    };
}

/** kubelet-client-<stamp>.pem (cert + key, 0600) and the -current link, as the kubelet's rotation leaves them. */
async function kubeletClient(n: LayoutSeedNode, ca: { cert: string; key: string }, o: LayoutSeedOptions) {
    const pki = at(n, "var/lib/kubelet/pki");
    fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
    const tmp = { cert: path.join(pki, ".client.crt"), key: path.join(pki, ".client.key") };
    await issueCert({ cn: `system:node:${n.name}`, o: ["system:nodes"], eku: ["clientAuth"], issuer: ca,
        issuedDaysAgo: ISSUED_DAYS_AGO, validDays: KUBELET_CLIENT_DAYS, keyType: o.keyType, out: tmp });
    const file = `kubelet-client-${kubeletStamp(new Date(Date.now() - ISSUED_DAYS_AGO * 86400_000))}.pem`;
    fs.writeFileSync(path.join(pki, file), fs.readFileSync(tmp.cert, "utf8") + fs.readFileSync(tmp.key, "utf8"), { mode: 0o600 });
    fs.rmSync(tmp.cert);
    fs.rmSync(tmp.key);
    fs.symlinkSync(path.posix.join("/var/lib/kubelet/pki", file), path.join(pki, "kubelet-client-current.pem"));
}

function writeKubeletConfigFile(n: LayoutSeedNode) {
    const file = at(n, rel(HANDBUILT.kubeletConfig));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration",
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: HANDBUILT.ca } },
        authorization: { mode: "Webhook" }, clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local",
        rotateCertificates: true, serverTLSBootstrap: false,
    }), { mode: 0o644 });
}

function writeMasterUnits(n: LayoutSeedNode, masters: LayoutSeedNode[]) {
    writeDescription(n, "units", "etcd", { description: "etcd", command: ["/usr/local/bin/etcd",
        `--name=${n.name}`, `--cert-file=${HANDBUILT.etcd}`, `--key-file=${HANDBUILT.etcdKey}`,
        `--peer-cert-file=${HANDBUILT.etcd}`, `--peer-key-file=${HANDBUILT.etcdKey}`,
        `--trusted-ca-file=${HANDBUILT.ca}`, `--peer-trusted-ca-file=${HANDBUILT.ca}`,
        "--peer-client-cert-auth=true", "--client-cert-auth=true",
        `--initial-advertise-peer-urls=https://${n.ip}:2380`, `--listen-peer-urls=https://${n.ip}:2380`,
        `--listen-client-urls=https://${n.ip}:2379,https://127.0.0.1:2379`, `--advertise-client-urls=https://${n.ip}:2379`,
        `--initial-cluster=${masters.map((m) => `${m.name}=https://${m.ip}:2380`).join(",")}`,
        "--initial-cluster-state=new", "--data-dir=/var/lib/etcd"] });
    writeDescription(n, "units", "kube-apiserver", { description: "Kubernetes API Server", command: ["/usr/local/bin/kube-apiserver",
        `--advertise-address=${n.ip}`, "--allow-privileged=true", "--authorization-mode=Node,RBAC",
        `--client-ca-file=${HANDBUILT.ca}`, `--etcd-cafile=${HANDBUILT.ca}`,
        `--etcd-certfile=${HANDBUILT.apiserver}`, `--etcd-keyfile=${HANDBUILT.apiserverKey}`,
        `--etcd-servers=${masters.map((m) => `https://${m.ip}:2379`).join(",")}`, "--secure-port=6443",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${HANDBUILT.serviceAccount}`, `--service-account-signing-key-file=${HANDBUILT.serviceAccountKey}`,
        "--service-cluster-ip-range=10.96.0.0/12",
        `--tls-cert-file=${HANDBUILT.apiserver}`, `--tls-private-key-file=${HANDBUILT.apiserverKey}`] });
    writeDescription(n, "units", "kube-controller-manager", { description: "Kubernetes Controller Manager", command: ["/usr/local/bin/kube-controller-manager",
        "--bind-address=127.0.0.1", "--cluster-name=kubernetes",
        `--cluster-signing-cert-file=${HANDBUILT.ca}`, `--cluster-signing-key-file=${HANDBUILT.caKey}`, "--cluster-signing-duration=8760h",
        `--kubeconfig=${HANDBUILT.controllerManagerKubeconfig}`, "--leader-elect=true", `--root-ca-file=${HANDBUILT.ca}`,
        `--service-account-private-key-file=${HANDBUILT.serviceAccountKey}`, "--service-cluster-ip-range=10.96.0.0/12",
        "--use-service-account-credentials=true"] });
    writeDescription(n, "units", "kube-scheduler", { description: "Kubernetes Scheduler", command: ["/usr/local/bin/kube-scheduler",
        "--bind-address=127.0.0.1", `--kubeconfig=${HANDBUILT.schedulerKubeconfig}`, "--leader-elect=true"] });
}
