/**
 * Seeds one node's kubeadm tree under a local root: the three CAs, every leaf, sa, the
 * kubeconfigs and a rotated kubelet client .pem behind kubelet-client-current.pem. Each entry can
 * be skipped, re-dated, signed by a foreign CA, or given a key that does not match.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { issue, kubeconfigText, newKey, OPENSSL, type CertOrder } from "./fixture-tree";

export const FIXED_ISSUE = "2024-01-01 00:00:00";

export interface SeedOptions {
    name: string;
    ip: string;
    role: "master" | "worker";
    /** Per id ("apiserver", "admin.conf", "kubelet-client"): changed dates/subject. */
    override?: Record<string, Partial<CertOrder>>;
    /** Ids whose file is not written. */
    skip?: string[];
    /** Ids signed by a CA that is not on the node. */
    foreign?: string[];
    /** Ids whose .key is replaced by an unrelated key. */
    wrongKey?: string[];
}

type Ca = { cert: string; key: string };

export function seedNode(root: string, opts: SeedOptions): void {
    const k8s = path.join(root, "etc/kubernetes");
    const pki = path.join(k8s, "pki");
    fs.mkdirSync(path.join(pki, "etcd"), { recursive: true });
    fs.mkdirSync(path.join(root, "var/lib/kubelet/pki"), { recursive: true });
    const skip = new Set(opts.skip ?? []);
    let serial = 100;
    const order = (id: string, base: Omit<CertOrder, "serial">): CertOrder => ({ ...base, serial: ++serial, ...(opts.override?.[id] ?? {}) });

    const cas: Record<string, Ca> = {};
    const mkCa = (id: string, cn: string, rel: string) => {
        const ca = { cert: path.join(pki, `${rel}.crt`), key: path.join(pki, `${rel}.key`) };
        newKey(ca.key);
        issue(order(id, { cn, issuer: "self", issuedAt: FIXED_ISSUE, days: 3650 }), ca.key, ca.cert);
        cas[id] = ca;
    };
    mkCa("ca", "kubernetes", "ca");
    const foreignDir = path.join(root, "foreign-ca");
    const foreign = { cert: path.join(foreignDir, "ca.crt"), key: path.join(foreignDir, "ca.key") };
    newKey(foreign.key);
    issue({ cn: "someone-else", issuer: "self", issuedAt: FIXED_ISSUE, days: 3650, serial: 99 }, foreign.key, foreign.cert);

    const signer = (id: string, caId: string) => (opts.foreign?.includes(id) ? foreign : cas[caId]);
    const leaf = (id: string, rel: string, caId: string, base: Omit<CertOrder, "serial" | "issuer" | "issuedAt" | "days">) => {
        const o = order(id, { ...base, issuer: caId, issuedAt: FIXED_ISSUE, days: 365 });
        if (skip.has(id)) return;
        const keyPath = path.join(pki, `${rel}.key`);
        newKey(keyPath);
        issue(o, keyPath, path.join(pki, `${rel}.crt`), signer(id, caId));
        if (opts.wrongKey?.includes(id)) newKey(keyPath);
    };

    if (opts.role === "master") {
        mkCa("front-proxy-ca", "front-proxy-ca", "front-proxy-ca");
        mkCa("etcd-ca", "etcd-ca", "etcd/ca");
        leaf("apiserver", "apiserver", "ca", {
            cn: "kube-apiserver", eku: "serverAuth",
            dns: [opts.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
            ips: ["10.96.0.1", opts.ip],
        });
        leaf("apiserver-kubelet-client", "apiserver-kubelet-client", "ca", { cn: "kube-apiserver-kubelet-client", o: ["kubeadm:cluster-admins"] });
        leaf("front-proxy-client", "front-proxy-client", "front-proxy-ca", { cn: "front-proxy-client" });
        const etcdSans = { dns: [opts.name, "localhost"], ips: [opts.ip, "127.0.0.1", "::1"], eku: "serverAuth,clientAuth" };
        leaf("etcd-server", "etcd/server", "etcd-ca", { cn: opts.name, ...etcdSans });
        leaf("etcd-peer", "etcd/peer", "etcd-ca", { cn: opts.name, ...etcdSans });
        leaf("etcd-healthcheck-client", "etcd/healthcheck-client", "etcd-ca", { cn: "kube-etcd-healthcheck-client" });
        leaf("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca", { cn: "kube-apiserver-etcd-client" });
        if (!skip.has("sa")) {
            newKey(path.join(pki, "sa.key"));
            execFileSync(OPENSSL, ["pkey", "-in", path.join(pki, "sa.key"), "-pubout", "-out", path.join(pki, "sa.pub")]);
        }
    } else {
        fs.rmSync(cas.ca.key);
    }

    const conf = (id: string, cn: string, o: string[] | undefined, user: string, server: string) => {
        const o2 = order(id, { cn, o, issuer: "ca", issuedAt: FIXED_ISSUE, days: 365 });
        if (skip.has(id)) return;
        const tmpKey = path.join(root, `.${id}.key`);
        const tmpCrt = path.join(root, `.${id}.crt`);
        newKey(tmpKey);
        issue(o2, tmpKey, tmpCrt, signer(id, "ca"));
        if (opts.wrongKey?.includes(id)) newKey(tmpKey);
        fs.writeFileSync(path.join(k8s, id), kubeconfigText(cas.ca.cert, tmpCrt, tmpKey, user, server), { mode: 0o600 });
        fs.rmSync(tmpKey);
        fs.rmSync(tmpCrt);
    };
    const endpoint = `https://${opts.ip}:6443`;
    if (opts.role === "master") {
        conf("admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"], "kubernetes-admin", endpoint);
        conf("super-admin.conf", "kubernetes-super-admin", ["system:masters"], "kubernetes-super-admin", endpoint);
        conf("controller-manager.conf", "system:kube-controller-manager", undefined, "system:kube-controller-manager", endpoint);
        conf("scheduler.conf", "system:kube-scheduler", undefined, "system:kube-scheduler", endpoint);
    }
    // kubelet.conf points at the rotated client .pem (cert + key in one file), as kubeadm does.
    const current = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    if (!skip.has("kubelet-client")) {
        const rotated = "/var/lib/kubelet/pki/kubelet-client-2024-01-01-00-00-00.pem";
        const tmpKey = path.join(root, ".kubelet.key");
        const tmpCrt = path.join(root, ".kubelet.crt");
        newKey(tmpKey);
        issue(order("kubelet-client", { cn: `system:node:${opts.name}`, o: ["system:nodes"], issuer: "ca", issuedAt: FIXED_ISSUE, days: 365 }),
            tmpKey, tmpCrt, signer("kubelet-client", "ca"));
        fs.writeFileSync(path.join(root, rotated), fs.readFileSync(tmpCrt, "utf8") + fs.readFileSync(tmpKey, "utf8"), { mode: 0o600 });
        fs.rmSync(tmpKey);
        fs.rmSync(tmpCrt);
        fs.symlinkSync(rotated, path.join(root, current));
    }
    if (!skip.has("kubelet.conf")) {
        const caB64 = fs.readFileSync(cas.ca.cert).toString("base64");
        fs.writeFileSync(path.join(k8s, "kubelet.conf"), [
            "apiVersion: v1", "kind: Config", "clusters:", "- cluster:", `    certificate-authority-data: ${caB64}`, `    server: ${endpoint}`,
            "  name: kubernetes", "contexts:", "- context:", "    cluster: kubernetes", `    user: system:node:${opts.name}`,
            `  name: system:node:${opts.name}@kubernetes`, `current-context: system:node:${opts.name}@kubernetes`, "preferences: {}", "users:",
            `- name: system:node:${opts.name}`, "  user:", `    client-certificate: ${current}`, `    client-key: ${current}`, "",
        ].join("\n"), { mode: 0o600 });
    }
    fs.rmSync(foreignDir, { recursive: true, force: true });
}
