/**
 * Seeds node folders "as if kubeadm init/join ran a year ago": shared CAs and sa keys,
 * each master's full kubeadm tree (DESIGN §3 subjects/EKUs/SANs), kubeconfigs, kubelet pki
 * and static pod manifests; workers get ca.crt, kubelet.conf and kubelet pki.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { apiserverManifest, controllerManagerManifest, etcdManifest, ManifestInputs, schedulerManifest } from "./manifests";
import { CertPaths, generateKeyPair, issueCert, SeedKeyType } from "./openssl-issue";

/** The shared CA material of a seeded cluster (host paths, readable by tests). */
export interface SeedAuthorities {
    ca: CertPaths;
    frontProxyCa: CertPaths;
    etcdCa: CertPaths;
    sa: { key: string; pub: string };
}

export interface SeedNode {
    name: string;
    role: "master" | "worker";
    ip: string;
    /** Host folder bind-mounted over the node's "/" paths: <root>/etc/kubernetes etc. */
    hostRoot: string;
    seed: boolean;
}

export interface SeedOptions {
    dir: string;
    nodes: SeedNode[];
    kubernetesVersion: string;
    clusterName: string;
    controlPlaneEndpoint: string;
    leafExpiresInDays: number;
    keyType: SeedKeyType;
    componentServingCerts: boolean;
}

const KUBEADM_LEAF_DAYS = 365;
const KUBEADM_CA_DAYS = 3650;

/** [major, minor, patch] of "1.30.0" / "v1.30.0". */
export function parseVersion(v: string): [number, number, number] {
    const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
    if (!m) throw new Error(`bad kubernetesVersion "${v}"`);
    return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Organisation of the admin-like client certs per version (DESIGN §3). */
export function adminOrganisations(version: string) {
    const [, minor, patch] = parseVersion(version);
    const legacy = minor <= 28;
    const noKubeletClientOrg = minor >= 37 || (minor === 36 && patch >= 1) || (minor === 35 && patch >= 5);
    return {
        admin: legacy ? ["system:masters"] : ["kubeadm:cluster-admins"],
        apiserverKubeletClient: noKubeletClientOrg ? [] : legacy ? ["system:masters"] : ["kubeadm:cluster-admins"],
        etcdClients: legacy ? ["system:masters"] : [],
        superAdmin: !legacy,
    };
}

function leafDates(leafExpiresInDays: number) {
    const issuedDaysAgo = Math.max(0, KUBEADM_LEAF_DAYS - leafExpiresInDays);
    return { issuedDaysAgo, validDays: leafExpiresInDays + issuedDaysAgo };
}

function writeKubeconfig(file: string, o: { clusterName: string; server: string; caPem: string; user: string; context: string;
    cert: { data: string; key: string } | { file: string } }) {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const user = "file" in o.cert
        ? { "client-certificate": o.cert.file, "client-key": o.cert.file }
        : { "client-certificate-data": b64(o.cert.data), "client-key-data": b64(o.cert.key) };
    const doc = {
        apiVersion: "v1",
        clusters: [{ cluster: { "certificate-authority-data": b64(o.caPem), server: o.server }, name: o.clusterName }],
        contexts: [{ context: { cluster: o.clusterName, user: o.user }, name: o.context }],
        "current-context": o.context,
        kind: "Config",
        preferences: {},
        users: [{ name: o.user, user }],
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify(doc), { mode: 0o600 });
}

function copy(src: string, dst: string, mode: number) {
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
    fs.chmodSync(dst, mode);
}

/** "2025-03-01-10-20-30", the stamp kubelet puts in kubelet-client-<stamp>.pem. */
export function kubeletStamp(d: Date): string {
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
}

async function issueCas(o: SeedOptions): Promise<SeedAuthorities> {
    const d = path.join(o.dir, "authorities");
    const caAgo = Math.max(KUBEADM_LEAF_DAYS, leafDates(o.leafExpiresInDays).issuedDaysAgo) + 1;
    const p = (n: string): CertPaths => ({ cert: path.join(d, `${n}.crt`), key: path.join(d, `${n}.key`) });
    const auth: SeedAuthorities = {
        ca: p("ca"), frontProxyCa: p("front-proxy-ca"), etcdCa: p("etcd-ca"),
        sa: { key: path.join(d, "sa.key"), pub: path.join(d, "sa.pub") },
    };
    const ca = { isCa: true, issuedDaysAgo: caAgo, validDays: KUBEADM_CA_DAYS, keyType: o.keyType };
    await Promise.all([
        issueCert({ ...ca, cn: "kubernetes", out: auth.ca }),
        issueCert({ ...ca, cn: "front-proxy-ca", out: auth.frontProxyCa }),
        issueCert({ ...ca, cn: "etcd-ca", out: auth.etcdCa }),
        generateKeyPair(auth.sa.key, auth.sa.pub),
    ]);
    return auth;
}

/** Kubelet client identity (cert+key in one file, symlinked as -current) plus its self-signed serving cert. */
async function seedKubeletPki(o: SeedOptions, auth: SeedAuthorities, n: SeedNode) {
    const pki = path.join(n.hostRoot, "var/lib/kubelet/pki");
    fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
    const dates = leafDates(o.leafExpiresInDays);
    const tmp = { cert: path.join(pki, ".client.crt"), key: path.join(pki, ".client.key") };
    await issueCert({ cn: `system:node:${n.name}`, o: ["system:nodes"], eku: ["clientAuth"], issuer: auth.ca, ...dates, keyType: o.keyType, out: tmp });
    const stamp = kubeletStamp(new Date(Date.now() - dates.issuedDaysAgo * 86400_000));
    const pem = `kubelet-client-${stamp}.pem`;
    fs.writeFileSync(path.join(pki, pem), fs.readFileSync(tmp.cert, "utf8") + fs.readFileSync(tmp.key, "utf8"), { mode: 0o600 });
    fs.rmSync(tmp.cert);
    fs.rmSync(tmp.key);
    fs.symlinkSync(path.join("/var/lib/kubelet/pki", pem), path.join(pki, "kubelet-client-current.pem"));
    await issueCert({ cn: `${n.name}@${Math.floor(Date.now() / 1000)}`, eku: ["serverAuth"], dns: [n.name], ips: [n.ip], ...dates,
        keyType: o.keyType, out: { cert: path.join(pki, "kubelet.crt"), key: path.join(pki, "kubelet.key") } });
    const caPem = fs.readFileSync(auth.ca.cert, "utf8");
    const master = n.role === "master";
    writeKubeletConfig(n.hostRoot);
    writeKubeconfig(path.join(n.hostRoot, "etc/kubernetes/kubelet.conf"), {
        clusterName: master ? o.clusterName : "default-cluster",
        server: `https://${o.controlPlaneEndpoint}`,
        caPem,
        user: master ? `system:node:${n.name}` : "default-auth",
        context: master ? `system:node:${n.name}@${o.clusterName}` : "default-context",
        cert: { file: "/var/lib/kubelet/pki/kubelet-client-current.pem" },
    });
}

/**
 * /var/lib/kubelet/config.yaml as `kubeadm init/join` writes it (the fields the sim reads:
 * rotateCertificates, which makes the kubelet use kubelet-client-current.pem; staticPodPath).
 */
function writeKubeletConfig(hostRoot: string) {
    const file = path.join(hostRoot, "var/lib/kubelet/config.yaml");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } },
        authorization: { mode: "Webhook" },
        cgroupDriver: "systemd",
        clusterDNS: ["10.96.0.10"],
        clusterDomain: "cluster.local",
        rotateCertificates: true,
        staticPodPath: "/etc/kubernetes/manifests",
    }), { mode: 0o644 });
}

async function seedMaster(o: SeedOptions, auth: SeedAuthorities, n: SeedNode) {
    const k = path.join(n.hostRoot, "etc/kubernetes");
    const pki = path.join(k, "pki");
    fs.mkdirSync(path.join(pki, "etcd"), { recursive: true });
    copy(auth.ca.cert, path.join(pki, "ca.crt"), 0o644);
    copy(auth.ca.key, path.join(pki, "ca.key"), 0o600);
    copy(auth.frontProxyCa.cert, path.join(pki, "front-proxy-ca.crt"), 0o644);
    copy(auth.frontProxyCa.key, path.join(pki, "front-proxy-ca.key"), 0o600);
    copy(auth.etcdCa.cert, path.join(pki, "etcd/ca.crt"), 0o644);
    copy(auth.etcdCa.key, path.join(pki, "etcd/ca.key"), 0o600);
    copy(auth.sa.key, path.join(pki, "sa.key"), 0o600);
    copy(auth.sa.pub, path.join(pki, "sa.pub"), 0o644);

    const orgs = adminOrganisations(o.kubernetesVersion);
    const dates = leafDates(o.leafExpiresInDays);
    const leaf = (file: string) => ({ cert: path.join(pki, `${file}.crt`), key: path.join(pki, `${file}.key`) });
    const base = { ...dates, keyType: o.keyType };
    const cpeHost = o.controlPlaneEndpoint.replace(/:\d+$/, "");
    const cpeIsIp = /^[\d.]+$/.test(cpeHost);
    const nodeSans = { dns: [n.name, "localhost"], ips: [n.ip, "127.0.0.1", "::1"] };
    const jobs: Array<Promise<void>> = [
        issueCert({ ...base, cn: "kube-apiserver", eku: ["serverAuth"], issuer: auth.ca, out: leaf("apiserver"),
            dns: [n.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                ...(cpeIsIp ? [] : [cpeHost])],
            ips: [...new Set(["10.96.0.1", n.ip, ...(cpeIsIp ? [cpeHost] : [])])] }),
        issueCert({ ...base, cn: "kube-apiserver-kubelet-client", o: orgs.apiserverKubeletClient, eku: ["clientAuth"], issuer: auth.ca, out: leaf("apiserver-kubelet-client") }),
        issueCert({ ...base, cn: "front-proxy-client", eku: ["clientAuth"], issuer: auth.frontProxyCa, out: leaf("front-proxy-client") }),
        issueCert({ ...base, cn: n.name, eku: ["serverAuth", "clientAuth"], issuer: auth.etcdCa, out: leaf("etcd/server"), ...nodeSans }),
        issueCert({ ...base, cn: n.name, eku: ["serverAuth", "clientAuth"], issuer: auth.etcdCa, out: leaf("etcd/peer"), ...nodeSans }),
        issueCert({ ...base, cn: "kube-etcd-healthcheck-client", o: orgs.etcdClients, eku: ["clientAuth"], issuer: auth.etcdCa, out: leaf("etcd/healthcheck-client") }),
        issueCert({ ...base, cn: "kube-apiserver-etcd-client", o: orgs.etcdClients, eku: ["clientAuth"], issuer: auth.etcdCa, out: leaf("apiserver-etcd-client") }),
    ];
    if (o.componentServingCerts) {
        const serving = { ...base, eku: ["serverAuth"] as Array<"serverAuth">, issuer: auth.ca, dns: [n.name, "localhost"], ips: ["127.0.0.1", n.ip] };
        jobs.push(issueCert({ ...serving, cn: "kube-controller-manager", out: leaf("controller-manager") }));
        jobs.push(issueCert({ ...serving, cn: "kube-scheduler", out: leaf("scheduler") }));
    }

    // Kubeconfig client certs are issued into a scratch dir, embedded, then deleted.
    const scratch = path.join(o.dir, "scratch", n.name);
    const kubeconfigs: Array<{ file: string; cn: string; o: string[]; server: string }> = [
        { file: "admin.conf", cn: "kubernetes-admin", o: orgs.admin, server: o.controlPlaneEndpoint },
        ...(orgs.superAdmin ? [{ file: "super-admin.conf", cn: "kubernetes-super-admin", o: ["system:masters"], server: o.controlPlaneEndpoint }] : []),
        { file: "controller-manager.conf", cn: "system:kube-controller-manager", o: [], server: `${n.ip}:6443` },
        { file: "scheduler.conf", cn: "system:kube-scheduler", o: [], server: `${n.ip}:6443` },
    ];
    const caPem = fs.readFileSync(auth.ca.cert, "utf8");
    for (const kc of kubeconfigs) {
        jobs.push((async () => {
            const out = { cert: path.join(scratch, `${kc.file}.crt`), key: path.join(scratch, `${kc.file}.key`) };
            await issueCert({ ...base, cn: kc.cn, o: kc.o, eku: ["clientAuth"], issuer: auth.ca, out });
            writeKubeconfig(path.join(k, kc.file), {
                clusterName: o.clusterName, server: `https://${kc.server}`, caPem, user: kc.cn,
                context: `${kc.cn}@${o.clusterName}`,
                cert: { data: fs.readFileSync(out.cert, "utf8"), key: fs.readFileSync(out.key, "utf8") },
            });
        })());
    }
    jobs.push(seedKubeletPki(o, auth, n));
    await Promise.all(jobs);
    fs.rmSync(scratch, { recursive: true, force: true });

    const mi: ManifestInputs = {
        nodeName: n.name, advertiseAddress: n.ip, clusterName: o.clusterName, kubernetesVersion: o.kubernetesVersion,
        masters: o.nodes.filter((x) => x.role === "master" && x.seed).map((x) => ({ name: x.name, ip: x.ip })),
        componentServingCerts: o.componentServingCerts,
    };
    const manifests = path.join(k, "manifests");
    fs.mkdirSync(manifests, { recursive: true });
    fs.writeFileSync(path.join(manifests, "etcd.yaml"), etcdManifest(mi), { mode: 0o600 });
    fs.writeFileSync(path.join(manifests, "kube-apiserver.yaml"), apiserverManifest(mi), { mode: 0o600 });
    fs.writeFileSync(path.join(manifests, "kube-controller-manager.yaml"), controllerManagerManifest(mi), { mode: 0o600 });
    fs.writeFileSync(path.join(manifests, "kube-scheduler.yaml"), schedulerManifest(mi), { mode: 0o600 });
}

async function seedWorker(o: SeedOptions, auth: SeedAuthorities, n: SeedNode) {
    copy(auth.ca.cert, path.join(n.hostRoot, "etc/kubernetes/pki/ca.crt"), 0o644);
    fs.mkdirSync(path.join(n.hostRoot, "etc/kubernetes/manifests"), { recursive: true });
    await seedKubeletPki(o, auth, n);
}

/** Generates the shared authorities and writes every seeded node's tree. */
export async function seedCluster(o: SeedOptions): Promise<SeedAuthorities> {
    const auth = await issueCas(o);
    await Promise.all(o.nodes.filter((n) => n.seed).map((n) => (n.role === "master" ? seedMaster(o, auth, n) : seedWorker(o, auth, n))));
    return auth;
}
