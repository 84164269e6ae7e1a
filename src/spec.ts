/**
 * The validated, typed description of one cluster's PKI, built from the stack config by
 * `src/config.ts`. Everything downstream (catalogue, components, rollout, drift) reads this,
 * never the raw config, so a value here is already checked.
 */

/** Key algorithms the @pulumi/tls provider can generate and kubeadm accepts. */
export type KeyAlgorithm = "RSA-2048" | "RSA-3072" | "RSA-4096" | "ECDSA-P256";

/** How a node is reached: over SSH, or a local directory (the `dev` stack). */
export type Transport = "ssh" | "local";

export type NodeRole = "master" | "worker";

/** How a control-plane component is restarted on a node (the layout's default for its components). */
export type RestartStrategy = "static-pod" | "systemd" | "crictl";

/** Every restart method a component may have (kube-pki:layout.components.<name>.restart). */
export type RestartMethodName = "static-pod" | "systemd" | "crictl" | "docker" | "none";

/** kube-pki:layout.components.<name>: how one component is restarted on this layout's nodes. */
export interface ComponentRestartSpec {
    restart: RestartMethodName;
    /** systemd: the unit (default: the component's name). */
    unit?: string;
    /** docker (required) and crictl (default: the component's name): the container's name. */
    container?: string;
}

/** Where the CAs and the service-account key pair come from. */
export type KeySource = "adopt" | "generate";

/** The etcd and front-proxy CAs may also be the cluster CA itself (hand-built and RKE clusters). */
export type SubCaSource = KeySource | "same-as-ca";

export interface SshSpec {
    host: string;
    port: number;
    user: string;
    /** OpenSSH/PEM private key text used to log in. Held in memory only, passed as a secret. */
    privateKey: string;
    /**
     * The node's host public key ("ssh-ed25519 AAAA…", or ECDSA; never RSA). Every connection
     * (program-time reads, commands, `kube-pki check`) pins it.
     */
    hostKey?: string;
    /**
     * Set only when the node has no hostKey and the stack opted out with
     * `kube-pki:ssh.insecureIgnoreHostKeys: true`: connections then accept any host key. A node
     * with neither is refused by every SSH read.
     */
    insecureIgnoreHostKey?: true;
}

export interface NodeSpec {
    /** Node name as kubeadm knows it (CN of etcd certs, system:node:<name>). Unique. */
    name: string;
    role: NodeRole;
    /** The address the node's apiserver/etcd advertise (an IP). */
    advertiseAddress: string;
    transport: Transport;
    /** Set when transport is "ssh". */
    ssh?: SshSpec;
    /**
     * Set when transport is "local": the directory that stands in for the node's "/".
     * Files land at `<localRoot>/etc/kubernetes/...`.
     */
    localRoot?: string;
}

export interface ValiditySpec {
    /** Validity of generated CAs, in years (kubeadm: 10). */
    caYears: number;
    /** Validity of leaf certificates and kubeconfig client certs, in days (kubeadm: 365). */
    leafDays: number;
    /** A certificate whose remaining validity is below this is reissued / reported. */
    renewBeforeDays: number;
    /** Per-certificate override of leafDays, by catalogue id (e.g. "front-proxy-client": 730). */
    leafDaysOverrides: Record<string, number>;
}

export interface EtcdSpec {
    /** "stacked": etcd runs on every master (kubeadm default). "external": no etcd PKI is managed. */
    mode: "stacked" | "external";
    serverCertSans: string[];
    peerCertSans: string[];
}

export interface LayoutSpec {
    /** "kubeadm" uses kubeadm's paths; "custom" starts from them and applies `paths`. */
    kind: "kubeadm" | "custom";
    /** Root of the Kubernetes config tree on the node (kubeadm: /etc/kubernetes). */
    kubernetesDir: string;
    /**
     * Overrides of single file paths, keyed by file key (e.g. "apiserver.crt", "admin.conf").
     * Templates {node}, {address}, {address-dashed} name per-node files (src/pki/layout.ts).
     */
    paths: Record<string, string>;
    /** How components are restarted (default of every component but the kubelet). */
    restart: RestartStrategy;
    /** Catalogue ids this cluster does not have (kube-pki:layout.omit): planned nowhere. */
    omit?: string[];
    /**
     * Roles served by another entry's certificate (kube-pki:layout.sameCertificate), e.g.
     * { "apiserver-kubelet-client": "apiserver" }: RKE's kube-apiserver.pem is also the kubelet client.
     */
    sameCertificate?: Record<string, string>;
    /** Static pod manifests (kube-pki:layout.manifestsDir; default <kubernetesDir>/manifests). */
    manifestsDir?: string;
    /** Per component restart methods (kube-pki:layout.components); others use `restart`, the kubelet systemd. */
    components?: Record<string, ComponentRestartSpec>;
    /**
     * "user:group" per file key or kube-pki:certificates id (kube-pki:layout.owners): etcd or the
     * apiserver running as a non-root user must read its key. Absent: files stay root:root.
     */
    owners?: Record<string, string>;
    /**
     * Issue serving certificates for controller-manager and scheduler (pki/controller-manager.crt,
     * pki/scheduler.crt) for clusters whose manifests name them with --tls-cert-file (CIS-hardened or
     * hand-built). kubeadm does not: those components then self-sign in memory, and only their restart
     * is verified. Default false.
     */
    componentServingCerts: boolean;
}

export interface AuthoritySourcesSpec {
    ca: KeySource;
    frontProxyCa: SubCaSource;
    etcdCa: SubCaSource;
    serviceAccount: KeySource;
    /** The master the adopted CAs/sa are read from (once, on the first `up`). */
    adoptFrom: string;
    /**
     * Key algorithm of generated CAs and the generated sa pair (`kube-pki:authorities.keyAlgorithm`).
     * Apart from `keyAlgorithm`, which is for leaves only.
     */
    keyAlgorithm: KeyAlgorithm;
    /** `kube-pki:authorities.rotate`: CA rotations asked for, by config key (absent: none). */
    rotate?: Partial<Record<RotatableAuthority, CaRotationSpec>>;
    /** `kube-pki:authorities.rotate.serviceAccount`: the sa key pair's rotation (absent: none). */
    serviceAccountRotation?: SaRotationSpec;
}

/**
 * One declared rotation of the service-account key pair (src/pki/sa-rotation.ts walks its phases,
 * one per `up`). The new key is the operator's file: its public half is known at program time,
 * which is how the nodes' sa.pub keys are told apart (a public key carries no marker).
 */
export interface SaRotationSpec {
    /** Names the rotation in preview and outputs ("2027"); DNS-label characters. */
    id: string;
    /** The new private key's file on the machine running Pulumi, absolute (configured relative to the project directory). */
    keyFile: string;
    /** keyFile's text: an unencrypted RSA/ECDSA PEM private key. Secret: only ever passed on wrapped in pulumi.secret. */
    keyPem: string;
    /** Its public half, SubjectPublicKeyInfo PEM (public). */
    publicKeyPem: string;
    /** Walk back to the old key (verify both, sign with the old one, drop the new). */
    abort: boolean;
}

/** The CAs a stack can rotate (`kube-pki:authorities.rotate.<key>`); the sa pair: SaRotationSpec. */
export type RotatableAuthority = "ca" | "frontProxyCa" | "etcdCa";

/** One declared CA rotation (src/pki/ca-rotation.ts walks its phases, one per `up`). */
export interface CaRotationSpec {
    /** Names the new CA: its resources are `<cluster>-<ca id>-<id>` ("2027"); DNS-label characters. */
    id: string;
    /** The new CA: generated by kube-pki, or adopted from PEM files on the machine running Pulumi. */
    source: "generate" | "adopt";
    /** adopt: the new CA's certificate and key files, absolute (configured relative to the project directory). */
    certFile?: string;
    keyFile?: string;
    /**
     * adopt: the text of certFile and keyFile, read and checked at program time (a CA certificate in
     * date; an unencrypted RSA/ECDSA key that matches it). keyPem is secret: only ever passed on
     * wrapped in pulumi.secret, never logged or put in a message.
     */
    certPem?: string;
    keyPem?: string;
    /** Walk back to the old CA (trust both, reissue with the old one, drop the new). */
    abort: boolean;
}

export interface RolloutSpec {
    /** Whether anything is restarted after files are pushed (false for the dev stack). */
    restart: boolean;
    /** How many workers are rotated at the same time. */
    workerBatchSize: number;
    /** Seconds a component may take to stop/start/serve the new cert before rollback. */
    componentTimeoutSeconds: number;
    /** A node whose clock lags ours by more than this is refused before anything is touched. */
    clockSkewToleranceSeconds: number;
    /** How many backups of replaced files are kept per node. */
    keepBackups: number;
}

export interface DriftSpec {
    /** Read each node at program time (preview and up) and compare with the wanted files. */
    enabled: boolean;
    /** What an unreachable node is: a warning (default) or an error that stops the program. */
    unreachable: "warn" | "error";
    /** Also read the certificate served on each component port. */
    checkServed: boolean;
    /** How many nodes are read at the same time. */
    concurrency: number;
}

/** `kube-pki:kubelet`: what kube-pki manages of the kubelet's own certificates. */
export interface KubeletSpec {
    /**
     * "self-signed" (default): the kubelet's serving certificate (/var/lib/kubelet/pki/kubelet.crt)
     * is its own and is left alone. "managed": kube-pki issues one per node from the cluster CA
     * (CN system:node:<name>, O system:nodes, SANs node name + address), restarts the kubelet and
     * verifies it on :10250.
     */
    servingCertificate: "self-signed" | "managed";
    /**
     * "rotate" (default, kubeadm's setup): kubelet.conf names /var/lib/kubelet/pki/kubelet-client-current.pem
     * and carries no key; kube-pki installs a client certificate there only when the node's is
     * expired, foreign, unreadable, missing or overdue for the kubelet's own rotation.
     * "embedded": kubelet.conf embeds a client certificate issued by kube-pki (clusters without rotation).
     */
    clientCertificate: "rotate" | "embedded";
}

/** `kube-pki:clusterObjects`: the cluster-side half of the PKI (src/cluster-objects/). */
export interface ClusterObjectsSpec {
    /**
     * Keep kube-public/cluster-info and kubeadm's RBAC bindings in the cluster with server-side
     * apply (default true). false: kube-pki declares no object and removes none.
     */
    enabled: boolean;
}

/** A consumer of a stack-declared certificate: a catalogue component, or another one with its restart method. */
export interface StackConsumerSpec {
    name: string;
    /** Absent for catalogue components (the layout restarts them). */
    restart?: ComponentRestartSpec;
    /** TLS port it serves this certificate on (checked at 127.0.0.1 after its restart). */
    port?: number;
}

/**
 * `kube-pki:certificates[]`: a certificate the stack declares beside the catalogue (kube-proxy,
 * flanneld, a user's kubeconfig). CN, O take `{node}`; SANs take `{node}` and `{address}`.
 */
export interface StackCertificateSpec {
    id: string;
    signer: "ca" | "front-proxy-ca" | "etcd-ca";
    commonName: string;
    organizations: string[];
    usages: import("./pki/catalog").AllowedUse[];
    sans: string[];
    /** Node names it lands on (resolved from masters / workers / all / a list); [] for an output-only kubeconfig. */
    nodes: string[];
    /** A certificate + key pair at two paths, or a kubeconfig (at a path, or a stack output only). */
    target:
        | { kind: "files"; cert: string; key: string }
        | { kind: "kubeconfig"; path?: string; server: "endpoint" | "local" };
    /** A user kubeconfig as a secret stack output (never pushed to a node). */
    output: boolean;
    consumers: StackConsumerSpec[];
    /** Validity in days (default kube-pki:validity.leafDays). */
    validityDays?: number;
    /** "user:group" of every file it lands in (absent: root:root). */
    owner?: string;
}

export interface ClusterSpec {
    /** Cluster name: used in resource names and in kubeconfig cluster/context names. */
    name: string;
    /** Full Kubernetes version, e.g. "1.30.4". */
    kubernetesVersion: string;
    /** host:port of the control plane (load balancer for HA); the host goes into apiserver SANs. */
    controlPlaneEndpoint: { host: string; port: number };
    serviceCidr: string;
    dnsDomain: string;
    /** Extra SANs of the apiserver certificate (kubeadm's apiServer.certSANs). */
    apiServerCertSans: string[];
    etcd: EtcdSpec;
    nodes: NodeSpec[];
    /** Key algorithm of leaf certificates and kubeconfig client keys (not CAs: see authorities.keyAlgorithm). */
    keyAlgorithm: KeyAlgorithm;
    validity: ValiditySpec;
    layout: LayoutSpec;
    authorities: AuthoritySourcesSpec;
    rollout: RolloutSpec;
    drift: DriftSpec;
    clusterObjects: ClusterObjectsSpec;
    kubelet: KubeletSpec;
    /** `kube-pki:certificates`: certificates declared in the stack (absent: none). */
    certificates?: StackCertificateSpec[];
}
