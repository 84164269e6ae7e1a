/**
 * Seeds an RKE-style cluster: /etc/kubernetes/ssl with RKE's names (kube-ca.pem,
 * kube-apiserver.pem, kube-etcd-<address-dashed>.pem, kube-node.pem, kube-proxy.pem,
 * kube-service-account-token.pem…), kubeconfigs kubecfg-*.yaml that name those files, and every
 * component a docker container (run by the fake kubelet behind the sim's `docker` shim). Every
 * leaf expired a day ago (issued 366 days ago for 365 days); the CA (CN=kube-ca) is valid for 10
 * years. As RKE does, kube-apiserver.pem is also the apiserver's kubelet client and kube-node.pem
 * (CN=system:node, one for all nodes) also its etcd client. Written by openssl only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { APISERVER_DNS, at, dashed, issueOnNode, kubeletServingPair, LayoutSeed, LayoutSeedNode, LayoutSeedOptions, place,
    writeDescription, writeKubeconfigFile } from "./layout-seed-common";
import { issueCert } from "./openssl-issue";

const SSL = "/etc/kubernetes/ssl";
const LEAF_ISSUED_DAYS_AGO = 366;
const LEAF_DAYS = 365;
const CA_DAYS = 3650;
const HYPERKUBE = (v: string) => `rancher/hyperkube:v${v}-rancher1`;
const ETCD_IMAGE = "rancher/mirrored-coreos-etcd:v3.5.9";

/** Node paths of the RKE layout (tests and the seeder share them). */
export const RKE = {
    ssl: SSL,
    ca: `${SSL}/kube-ca.pem`, caKey: `${SSL}/kube-ca-key.pem`,
    apiserver: `${SSL}/kube-apiserver.pem`, apiserverKey: `${SSL}/kube-apiserver-key.pem`,
    etcd: (ip: string) => `${SSL}/kube-etcd-${dashed(ip)}.pem`, etcdKey: (ip: string) => `${SSL}/kube-etcd-${dashed(ip)}-key.pem`,
    node: `${SSL}/kube-node.pem`, nodeKey: `${SSL}/kube-node-key.pem`,
    proxy: `${SSL}/kube-proxy.pem`, proxyKey: `${SSL}/kube-proxy-key.pem`,
    controllerManager: `${SSL}/kube-controller-manager.pem`, controllerManagerKey: `${SSL}/kube-controller-manager-key.pem`,
    scheduler: `${SSL}/kube-scheduler.pem`, schedulerKey: `${SSL}/kube-scheduler-key.pem`,
    serviceAccount: `${SSL}/kube-service-account-token.pem`, serviceAccountKey: `${SSL}/kube-service-account-token-key.pem`,
    nodeKubeconfig: `${SSL}/kubecfg-kube-node.yaml`, proxyKubeconfig: `${SSL}/kubecfg-kube-proxy.yaml`,
    controllerManagerKubeconfig: `${SSL}/kubecfg-kube-controller-manager.yaml`, schedulerKubeconfig: `${SSL}/kubecfg-kube-scheduler.yaml`,
    masterContainers: ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
    nodeContainers: ["kubelet", "kube-proxy"],
} as const;

const rel = (p: string) => p.replace(/^\//, "");

export async function seedRke(o: LayoutSeedOptions): Promise<LayoutSeed> {
    const d = path.join(o.dir, "authorities");
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    const p = (n: string) => ({ cert: path.join(d, `${n}.pem`), key: path.join(d, `${n}-key.pem`) });
    const ca = p("kube-ca");
    const expired = { issuedDaysAgo: LEAF_ISSUED_DAYS_AGO, validDays: LEAF_DAYS, keyType: o.keyType };
    const both = ["serverAuth", "clientAuth"] as Array<"serverAuth" | "clientAuth">;
    await issueCert({ cn: "kube-ca", isCa: true, issuedDaysAgo: LEAF_ISSUED_DAYS_AGO + 1, validDays: CA_DAYS, keyType: o.keyType, out: ca });
    const masters = o.nodes.filter((n) => n.role === "master");
    // Shared leaves: one file for every node that has it, as RKE deploys them.
    const shared = {
        apiserver: p("kube-apiserver"), node: p("kube-node"), proxy: p("kube-proxy"), cm: p("kube-controller-manager"),
        scheduler: p("kube-scheduler"), sa: p("kube-service-account-token"), admin: p("kube-admin"),
    };
    await Promise.all([
        issueCert({ ...expired, cn: "kube-apiserver", eku: both, issuer: ca, out: shared.apiserver, dns: [...masters.map((m) => m.name), "localhost", ...APISERVER_DNS],
            ips: ["127.0.0.1", "10.43.0.1", ...masters.map((m) => m.ip)] }),
        issueCert({ ...expired, cn: "system:node", o: ["system:nodes"], eku: both, issuer: ca, out: shared.node }),
        issueCert({ ...expired, cn: "system:kube-proxy", eku: both, issuer: ca, out: shared.proxy }),
        issueCert({ ...expired, cn: "system:kube-controller-manager", eku: both, issuer: ca, out: shared.cm }),
        issueCert({ ...expired, cn: "system:kube-scheduler", eku: both, issuer: ca, out: shared.scheduler }),
        // RSA whatever the seed's key type, as RKE: this key file is also --service-account-key-file, and
        // keyutil.ParsePublicKeysPEM (hence kube-apiserver) refuses a PKCS#8 EC private key there.
        issueCert({ ...expired, keyType: "rsa-2048", cn: "kube-service-account-token", eku: both, issuer: ca, out: shared.sa }),
        // The operator's workstation copy (kube_config_cluster.yml): valid, so tests can judge with kubectl.
        issueCert({ issuedDaysAgo: 1, validDays: 365, keyType: o.keyType, cn: "kube-admin", o: ["system:masters"], eku: both, issuer: ca, out: shared.admin }),
    ]);
    const pub = path.join(d, "kube-service-account-token.pub");
    fs.writeFileSync(pub, new (require("node:crypto").X509Certificate)(fs.readFileSync(shared.sa.cert)).publicKey.export({ type: "spki", format: "pem" }));
    const firstMaster = masters[0];
    const version = o.kubernetesVersion;

    await Promise.all(o.nodes.map(async (n) => {
        const master = n.role === "master";
        place(n, ca.cert, rel(RKE.ca), 0o644);
        const pair = (src: { cert: string; key: string }, cert: string, key: string) => {
            place(n, src.cert, rel(cert), 0o644);
            place(n, src.key, rel(key), 0o600);
        };
        pair(shared.node, RKE.node, RKE.nodeKey);
        pair(shared.proxy, RKE.proxy, RKE.proxyKey);
        const server = master ? "https://127.0.0.1:6443" : `https://${firstMaster.ip}:6443`;
        const kc = (file: string, user: string, cert: string, key: string) =>
            writeKubeconfigFile(at(n, rel(file)), { clusterName: "local", server, user, ca: { file: RKE.ca }, client: { cert, key } });
        kc(RKE.nodeKubeconfig, "kube-node", RKE.node, RKE.nodeKey);
        kc(RKE.proxyKubeconfig, "kube-proxy", RKE.proxy, RKE.proxyKey);
        const jobs: Array<Promise<unknown>> = [kubeletServingPair(n, o.keyType)];
        if (master) {
            place(n, ca.key, rel(RKE.caKey), 0o600);
            pair(shared.apiserver, RKE.apiserver, RKE.apiserverKey);
            pair(shared.cm, RKE.controllerManager, RKE.controllerManagerKey);
            pair(shared.scheduler, RKE.scheduler, RKE.schedulerKey);
            pair(shared.sa, RKE.serviceAccount, RKE.serviceAccountKey);
            kc(RKE.controllerManagerKubeconfig, "kube-controller-manager", RKE.controllerManager, RKE.controllerManagerKey);
            kc(RKE.schedulerKubeconfig, "kube-scheduler", RKE.scheduler, RKE.schedulerKey);
            jobs.push(issueOnNode(n, rel(RKE.etcd(n.ip)), rel(RKE.etcdKey(n.ip)), { ...expired, cn: "kube-etcd", eku: both, issuer: ca,
                dns: ["localhost", n.name], ips: ["127.0.0.1", ...masters.map((m) => m.ip)] }));
            writeMasterContainers(n, masters, version);
        }
        writeDescription(n, "docker", "kubelet", { image: HYPERKUBE(version), command: ["kubelet",
            `--kubeconfig=${RKE.nodeKubeconfig}`, `--client-ca-file=${RKE.ca}`, `--hostname-override=${n.name}`, "--v=2"] });
        writeDescription(n, "docker", "kube-proxy", { image: HYPERKUBE(version), command: ["kube-proxy",
            `--kubeconfig=${RKE.proxyKubeconfig}`, `--hostname-override=${n.name}`, "--cluster-cidr=10.42.0.0/16", "--healthz-bind-address=127.0.0.1:10256"] });
        await Promise.all(jobs);
    }));

    const adminKubeconfig = path.join(d, "kube_config_cluster.yml");
    writeKubeconfigFile(adminKubeconfig, { clusterName: "local", server: `https://${firstMaster.ip}:6443`, user: "kube-admin-local",
        ca: { pem: fs.readFileSync(ca.cert, "utf8") }, client: { certPem: fs.readFileSync(shared.admin.cert, "utf8"), keyPem: fs.readFileSync(shared.admin.key, "utf8") } });
    return {
        authorities: { ca, etcdCa: ca, frontProxyCa: ca, sa: { key: shared.sa.key, pub } },
        etcdClient: { ca: RKE.ca, cert: RKE.node, key: RKE.nodeKey },
        adminKubeconfig,
    };
}

function writeMasterContainers(n: LayoutSeedNode, masters: LayoutSeedNode[], version: string) {
    writeDescription(n, "docker", "etcd", { image: ETCD_IMAGE, command: ["/usr/local/bin/etcd",
        `--name=etcd-${n.name}`, "--data-dir=/var/lib/etcd",
        `--cert-file=${RKE.etcd(n.ip)}`, `--key-file=${RKE.etcdKey(n.ip)}`, `--peer-cert-file=${RKE.etcd(n.ip)}`, `--peer-key-file=${RKE.etcdKey(n.ip)}`,
        `--trusted-ca-file=${RKE.ca}`, `--peer-trusted-ca-file=${RKE.ca}`, "--client-cert-auth=true", "--peer-client-cert-auth=true",
        `--listen-client-urls=https://0.0.0.0:2379`, `--advertise-client-urls=https://${n.ip}:2379`,
        `--listen-peer-urls=https://0.0.0.0:2380`, `--initial-advertise-peer-urls=https://${n.ip}:2380`,
        `--initial-cluster=${masters.map((m) => `etcd-${m.name}=https://${m.ip}:2380`).join(",")}`, "--initial-cluster-state=new"] });
    writeDescription(n, "docker", "kube-apiserver", { image: HYPERKUBE(version), command: ["kube-apiserver",
        `--advertise-address=${n.ip}`, "--allow-privileged=true", "--authorization-mode=Node,RBAC", `--client-ca-file=${RKE.ca}`,
        `--etcd-cafile=${RKE.ca}`, `--etcd-certfile=${RKE.node}`, `--etcd-keyfile=${RKE.nodeKey}`,
        `--etcd-servers=${masters.map((m) => `https://${m.ip}:2379`).join(",")}`,
        `--kubelet-client-certificate=${RKE.apiserver}`, `--kubelet-client-key=${RKE.apiserverKey}`, "--secure-port=6443",
        "--service-account-issuer=rke", `--service-account-key-file=${RKE.serviceAccountKey}`, `--service-account-signing-key-file=${RKE.serviceAccountKey}`,
        "--service-cluster-ip-range=10.43.0.0/16", `--tls-cert-file=${RKE.apiserver}`, `--tls-private-key-file=${RKE.apiserverKey}`] });
    writeDescription(n, "docker", "kube-controller-manager", { image: HYPERKUBE(version), command: ["kube-controller-manager",
        "--allocate-node-cidrs=true", "--cluster-cidr=10.42.0.0/16", `--kubeconfig=${RKE.controllerManagerKubeconfig}`, "--leader-elect=true",
        `--root-ca-file=${RKE.ca}`, `--service-account-private-key-file=${RKE.serviceAccountKey}`, "--service-cluster-ip-range=10.43.0.0/16"] });
    writeDescription(n, "docker", "kube-scheduler", { image: HYPERKUBE(version), command: ["kube-scheduler",
        `--kubeconfig=${RKE.schedulerKubeconfig}`, "--leader-elect=true"] });
}
