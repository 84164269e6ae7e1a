/**
 * Kubernetes versions: parsing, comparison, the supported range, and the few places where
 * kubeadm's certificate subjects depend on the version (DESIGN §3).
 */

export interface KubernetesVersion {
    major: number;
    minor: number;
    patch: number;
}

/**
 * Oldest and newest minor (of major 1) whose kubeadm PKI the catalogue knows.
 * 1.11 is the first whose files and subjects are those of the catalogue: kubeadm 1.10 named the
 * etcd server and peer certificates "kube-etcd" / "kube-etcd-peer" (cmd/kubeadm/app/constants at
 * release-1.10) and 1.11 names them after the node (kubernetes/kubernetes#64988, "Ensure that the
 * etcd certificates are generated using a proper CN", June 2018). From 1.11 to 1.28 every O is
 * the 1.28 one: system:masters on admin.conf, apiserver-kubelet-client, etcd-healthcheck-client
 * and apiserver-etcd-client (phases/certs/certs.go, later certlist.go: MastersGroup), and
 * etcd/healthcheck-client.* exists (since 1.10, kubernetes/kubernetes#60385). What does differ
 * below 1.25 is in the functions below: who reads sa.key, and whether cluster objects can be applied.
 */
export const MIN_SUPPORTED_MINOR = 11;
export const MAX_SUPPORTED_MINOR = 37;

/** Every supported minor of Kubernetes 1.x, oldest first. */
export const SUPPORTED_MINORS: readonly number[] = Object.freeze(
    Array.from({ length: MAX_SUPPORTED_MINOR - MIN_SUPPORTED_MINOR + 1 }, (_, i) => MIN_SUPPORTED_MINOR + i),
);

/** "1.11 to 1.37": the supported range, for messages. */
export const SUPPORTED_RANGE_TEXT = `1.${MIN_SUPPORTED_MINOR} to 1.${MAX_SUPPORTED_MINOR}`;

// A leading "v" is accepted because kubeadm's ClusterConfiguration and `kubectl version` print it.
const VERSION_PATTERN = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** Parses "1.30.4" or "v1.30.4"; undefined when the text is not a full MAJOR.MINOR.PATCH version. */
export function tryParseKubernetesVersion(text: string): KubernetesVersion | undefined {
    const match = VERSION_PATTERN.exec(text.trim());
    if (!match) return undefined;
    return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Parses "1.30.4" or "v1.30.4"; throws on anything else (pre-releases included). */
export function parseKubernetesVersion(text: string): KubernetesVersion {
    const version = tryParseKubernetesVersion(text);
    if (!version) throw new Error(`"${text}" is not a Kubernetes version of the form MAJOR.MINOR.PATCH (e.g. "1.30.4")`);
    return version;
}

/** "1.30.4" (no "v"). */
export function formatKubernetesVersion(v: KubernetesVersion): string {
    return `${v.major}.${v.minor}.${v.patch}`;
}

type VersionLike = string | KubernetesVersion;

function toVersion(v: VersionLike): KubernetesVersion {
    return typeof v === "string" ? parseKubernetesVersion(v) : v;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareKubernetesVersions(a: VersionLike, b: VersionLike): number {
    const x = toVersion(a);
    const y = toVersion(b);
    return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** True when `v` is `min` or newer, e.g. versionAtLeast("1.35.5", "1.35.5"). */
export function versionAtLeast(v: VersionLike, min: VersionLike): boolean {
    return compareKubernetesVersions(v, min) >= 0;
}

/** True for 1.x with x in SUPPORTED_MINORS (any patch). */
export function isSupportedKubernetesVersion(v: VersionLike): boolean {
    const version = toVersion(v);
    return version.major === 1 && SUPPORTED_MINORS.includes(version.minor);
}

/** The group kubeadm gives cluster-admin client certs: system:masters up to 1.28, kubeadm:cluster-admins from 1.29. */
export function clusterAdminsOrg(v: VersionLike): "system:masters" | "kubeadm:cluster-admins" {
    return versionAtLeast(v, "1.29.0") ? "kubeadm:cluster-admins" : "system:masters";
}

/** super-admin.conf (kubernetes-super-admin, system:masters) exists from 1.29 on. */
export function hasSuperAdminKubeconfig(v: VersionLike): boolean {
    return versionAtLeast(v, "1.29.0");
}

/**
 * First patch release of each minor whose kubeadm issues apiserver-kubelet-client without an O and
 * binds the user with the ClusterRoleBinding kubeadm:apiserver-kubelet-client instead (kubeadm
 * phases/bootstraptoken/node AllowAPIServerToAccessKubeletAPI, made on init/upgrade apply only).
 * The change is kubernetes/kubernetes#138957 ("kubeadm: use a dedicated ClusterRole
 * 'system:kubelet-api-admin' for the kube-apiserver kubelet client", merged 2026-05-11 for 1.37)
 * and its cherry-picks, all merged 2026-05-11: #138964 → release-1.33, #138960 → release-1.34,
 * #138959 → release-1.35, #138958 → release-1.36. First releases carrying them: v1.33.12 (its release
 * notes list #138964, published 2026-05-12), v1.34.8, v1.35.5, v1.36.1 — the same four versions
 * cluster-api lists in its known issue "kubeadm join fails after upgrading to Kubernetes patch
 * releases" (fixed by cluster-api#13664). CHANGELOG-1.3x.md themselves could not be read here (the
 * kubernetes/kubernetes snapshot exceeds the fetch limit); the PR threads and release notes were.
 * Minors before 1.33 got no cherry-pick (out of support then).
 */
export const KUBELET_CLIENT_ORG_DROPPED_IN: Readonly<Record<number, number>> = Object.freeze({ 33: 12, 34: 8, 35: 5, 36: 1 });

/**
 * O of apiserver-kubelet-client: system:masters up to 1.28, kubeadm:cluster-admins from 1.29,
 * and none from 1.33.12, 1.34.8, 1.35.5, 1.36.1 (within their minors) and every 1.37+ — kubeadm
 * then binds the user to system:kubelet-api-admin with RBAC instead (see kubeletClientNeedsRbacBinding).
 */
export function kubeletClientOrg(v: VersionLike): "system:masters" | "kubeadm:cluster-admins" | undefined {
    const version = toVersion(v);
    if (!versionAtLeast(version, "1.29.0")) return "system:masters";
    const firstPatch = version.major === 1 ? KUBELET_CLIENT_ORG_DROPPED_IN[version.minor] : undefined;
    const dropped = (firstPatch !== undefined && version.patch >= firstPatch) || versionAtLeast(version, "1.37.0");
    return dropped ? undefined : "kubeadm:cluster-admins";
}

/** True when apiserver-kubelet-client carries no O and needs the system:kubelet-api-admin RBAC binding. */
export function kubeletClientNeedsRbacBinding(v: VersionLike): boolean {
    return kubeletClientOrg(v) === undefined;
}

/** O of etcd-healthcheck-client and apiserver-etcd-client: system:masters up to 1.28, none after. */
export function etcdClientOrg(v: VersionLike): "system:masters" | undefined {
    return versionAtLeast(v, "1.29.0") ? undefined : "system:masters";
}

/**
 * The apiserver reads sa.key (--service-account-signing-key-file) from 1.20: kubeadm added the flag
 * to its kube-apiserver manifest when the apiserver made it required (kubernetes/kubernetes#95896,
 * "make flags of TokenRequest required", cmd/kubeadm/app/phases/controlplane/manifests.go, 1.20).
 * Before, only the controller-manager reads sa.key; the apiserver reads sa.pub in every version.
 */
export function apiserverReadsServiceAccountKey(v: VersionLike): boolean {
    return versionAtLeast(v, "1.20.0");
}

/**
 * Oldest cluster on which kube-pki applies cluster objects: @pulumi/kubernetes refuses clusters
 * older than 1.13, and its Patch resources are server-side apply, on by default from 1.16
 * (ServerSideApply beta). Below it, kube-pki:clusterObjects is off whatever it says.
 */
export const CLUSTER_OBJECTS_MIN_VERSION = "1.16.0";

export function clusterObjectsSupported(v: VersionLike): boolean {
    return versionAtLeast(v, CLUSTER_OBJECTS_MIN_VERSION);
}
