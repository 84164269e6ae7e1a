/**
 * kubeadm's static pod manifests (v1.30 layout: flags, hostPath volumes, probes), rendered
 * for one simulated master. The fake kubelet runs whatever `command` these name.
 */
import { stringify } from "yaml";

export interface ManifestInputs {
    nodeName: string;
    advertiseAddress: string;
    /** Every master, for etcd's --initial-cluster. */
    masters: Array<{ name: string; ip: string }>;
    clusterName: string;
    kubernetesVersion: string;
    /**
     * Give controller-manager/scheduler explicit --tls-cert-file/--tls-private-key-file
     * (the real ones self-sign in memory without them, which nothing could verify).
     */
    componentServingCerts: boolean;
}

const PKI = "/etc/kubernetes/pki";

function hostPathVolume(name: string, p: string, type: string) {
    return { hostPath: { path: p, type }, name };
}

function staticPod(name: string, component: string, image: string, command: string[], probePort: number,
    probeHost: string, volumes: Array<{ name: string; path: string; type: string; readOnly: boolean }>, extra: object = {}) {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            annotations: extra,
            labels: { component, tier: "control-plane" },
            name,
            namespace: "kube-system",
        },
        spec: {
            containers: [{
                command,
                image,
                imagePullPolicy: "IfNotPresent",
                livenessProbe: {
                    failureThreshold: 8,
                    httpGet: { host: probeHost, path: name === "etcd" ? "/health?exclude=NOSPACE&serializable=true" : "/livez", port: probePort, scheme: name === "etcd" ? "HTTP" : "HTTPS" },
                    initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15,
                },
                name,
                resources: { requests: { cpu: name === "kube-apiserver" ? "250m" : name === "etcd" ? "100m" : name === "kube-scheduler" ? "100m" : "200m" } },
                volumeMounts: volumes.map((v) => ({ mountPath: v.path, name: v.name, ...(v.readOnly ? { readOnly: true } : {}) })),
            }],
            hostNetwork: true,
            priority: 2000001000,
            priorityClassName: "system-node-critical",
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
            volumes: volumes.map((v) => hostPathVolume(v.name, v.path, v.type)),
        },
        status: {},
    };
}

export function etcdManifest(i: ManifestInputs): string {
    const ip = i.advertiseAddress;
    const command = [
        "etcd",
        `--advertise-client-urls=https://${ip}:2379`,
        `--cert-file=${PKI}/etcd/server.crt`,
        "--client-cert-auth=true",
        "--data-dir=/var/lib/etcd",
        "--experimental-initial-corrupt-check=true",
        "--experimental-watch-progress-notify-interval=5s",
        `--initial-advertise-peer-urls=https://${ip}:2380`,
        `--initial-cluster=${i.masters.map((m) => `${m.name}=https://${m.ip}:2380`).join(",")}`,
        "--initial-cluster-state=new",
        `--key-file=${PKI}/etcd/server.key`,
        `--listen-client-urls=https://127.0.0.1:2379,https://${ip}:2379`,
        "--listen-metrics-urls=http://127.0.0.1:2381",
        `--listen-peer-urls=https://${ip}:2380`,
        `--name=${i.nodeName}`,
        `--peer-cert-file=${PKI}/etcd/peer.crt`,
        "--peer-client-cert-auth=true",
        `--peer-key-file=${PKI}/etcd/peer.key`,
        `--peer-trusted-ca-file=${PKI}/etcd/ca.crt`,
        "--snapshot-count=10000",
        `--trusted-ca-file=${PKI}/etcd/ca.crt`,
    ];
    return stringify(staticPod("etcd", "etcd", "registry.k8s.io/etcd:3.5.12-0", command, 2381, "127.0.0.1", [
        { name: "etcd-certs", path: `${PKI}/etcd`, type: "DirectoryOrCreate", readOnly: false },
        { name: "etcd-data", path: "/var/lib/etcd", type: "DirectoryOrCreate", readOnly: false },
    ], { "kubeadm.kubernetes.io/etcd.advertise-client-urls": `https://${ip}:2379` }));
}

const commonVolumes = [
    { name: "ca-certs", path: "/etc/ssl/certs", type: "DirectoryOrCreate", readOnly: true },
    { name: "etc-ca-certificates", path: "/etc/ca-certificates", type: "DirectoryOrCreate", readOnly: true },
    { name: "k8s-certs", path: PKI, type: "DirectoryOrCreate", readOnly: true },
    { name: "usr-local-share-ca-certificates", path: "/usr/local/share/ca-certificates", type: "DirectoryOrCreate", readOnly: true },
    { name: "usr-share-ca-certificates", path: "/usr/share/ca-certificates", type: "DirectoryOrCreate", readOnly: true },
];

export function apiserverManifest(i: ManifestInputs): string {
    const command = [
        "kube-apiserver",
        `--advertise-address=${i.advertiseAddress}`,
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        `--client-ca-file=${PKI}/ca.crt`,
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        `--etcd-cafile=${PKI}/etcd/ca.crt`,
        `--etcd-certfile=${PKI}/apiserver-etcd-client.crt`,
        `--etcd-keyfile=${PKI}/apiserver-etcd-client.key`,
        "--etcd-servers=https://127.0.0.1:2379",
        `--kubelet-client-certificate=${PKI}/apiserver-kubelet-client.crt`,
        `--kubelet-client-key=${PKI}/apiserver-kubelet-client.key`,
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        `--proxy-client-cert-file=${PKI}/front-proxy-client.crt`,
        `--proxy-client-key-file=${PKI}/front-proxy-client.key`,
        "--requestheader-allowed-names=front-proxy-client",
        `--requestheader-client-ca-file=${PKI}/front-proxy-ca.crt`,
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        "--secure-port=6443",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${PKI}/sa.pub`,
        `--service-account-signing-key-file=${PKI}/sa.key`,
        "--service-cluster-ip-range=10.96.0.0/12",
        `--tls-cert-file=${PKI}/apiserver.crt`,
        `--tls-private-key-file=${PKI}/apiserver.key`,
    ];
    return stringify(staticPod("kube-apiserver", "kube-apiserver", `registry.k8s.io/kube-apiserver:v${i.kubernetesVersion}`,
        command, 6443, i.advertiseAddress, commonVolumes,
        { "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": `${i.advertiseAddress}:6443` }));
}

export function controllerManagerManifest(i: ManifestInputs): string {
    const command = [
        "kube-controller-manager",
        "--allocate-node-cidrs=true",
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--bind-address=127.0.0.1",
        `--client-ca-file=${PKI}/ca.crt`,
        "--cluster-cidr=10.244.0.0/16",
        `--cluster-name=${i.clusterName}`,
        `--cluster-signing-cert-file=${PKI}/ca.crt`,
        `--cluster-signing-key-file=${PKI}/ca.key`,
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--leader-elect=true",
        `--requestheader-client-ca-file=${PKI}/front-proxy-ca.crt`,
        `--root-ca-file=${PKI}/ca.crt`,
        `--service-account-private-key-file=${PKI}/sa.key`,
        "--service-cluster-ip-range=10.96.0.0/12",
        ...(i.componentServingCerts
            ? [`--tls-cert-file=${PKI}/controller-manager.crt`, `--tls-private-key-file=${PKI}/controller-manager.key`]
            : []),
        "--use-service-account-credentials=true",
    ];
    return stringify(staticPod("kube-controller-manager", "kube-controller-manager",
        `registry.k8s.io/kube-controller-manager:v${i.kubernetesVersion}`, command, 10257, "127.0.0.1", [
            ...commonVolumes,
            { name: "flexvolume-dir", path: "/usr/libexec/kubernetes/kubelet-plugins/volume/exec", type: "DirectoryOrCreate", readOnly: false },
            { name: "kubeconfig", path: "/etc/kubernetes/controller-manager.conf", type: "FileOrCreate", readOnly: true },
        ]));
}

export function schedulerManifest(i: ManifestInputs): string {
    const command = [
        "kube-scheduler",
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--bind-address=127.0.0.1",
        "--kubeconfig=/etc/kubernetes/scheduler.conf",
        "--leader-elect=true",
        ...(i.componentServingCerts
            ? [`--tls-cert-file=${PKI}/scheduler.crt`, `--tls-private-key-file=${PKI}/scheduler.key`]
            : []),
    ];
    return stringify(staticPod("kube-scheduler", "kube-scheduler", `registry.k8s.io/kube-scheduler:v${i.kubernetesVersion}`,
        command, 10259, "127.0.0.1", [
            { name: "kubeconfig", path: "/etc/kubernetes/scheduler.conf", type: "FileOrCreate", readOnly: true },
        ]));
}
