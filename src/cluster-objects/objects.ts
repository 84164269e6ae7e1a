/**
 * The objects kube-pki keeps in the cluster, with kubeadm's names, subjects and role references
 * (each cites the kubeadm source that makes it). Pure data: src/cluster-objects/cluster-objects.ts
 * turns them into server-side apply Patch resources.
 */
import { hasSuperAdminKubeconfig, kubeletClientNeedsRbacBinding } from "../pki/versions";

const RBAC = "rbac.authorization.k8s.io";

export interface Subject { apiGroup: typeof RBAC; kind: "User" | "Group"; name: string }
export interface RoleRef { apiGroup: typeof RBAC; kind: "Role" | "ClusterRole"; name: string }

export interface BindingObject {
    kind: "ClusterRoleBinding" | "RoleBinding";
    name: string;
    namespace?: string;
    roleRef: RoleRef;
    subjects: Subject[];
    /** kubeadm source that makes the object (for the comment trail and the README). */
    source: string;
    /** Applied with super-admin.conf's identity (system:masters): the binding admin.conf itself needs. */
    asSuperAdmin?: boolean;
}

export interface RoleObject {
    kind: "Role";
    name: string;
    namespace: string;
    rules: { apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }[];
    source: string;
}

const CLUSTERINFO_GO = "cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go";
const TLSBOOTSTRAP_GO = "cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go";

/** kubeadm's BootstrapSignerClusterRoleName: lets anonymous clients read cluster-info (kubeadm join discovery). */
export const CLUSTER_INFO_READER = "kubeadm:bootstrap-signer-clusterinfo";
export const CLUSTER_INFO = { name: "cluster-info", namespace: "kube-public", source: `${CLUSTERINFO_GO} (CreateBootstrapConfigMapIfNotExists)` } as const;

const group = (name: string): Subject => ({ apiGroup: RBAC, kind: "Group", name });
const user = (name: string): Subject => ({ apiGroup: RBAC, kind: "User", name });
const clusterRole = (name: string): RoleRef => ({ apiGroup: RBAC, kind: "ClusterRole", name });

export const CLUSTER_INFO_ROLE: RoleObject = {
    kind: "Role", name: CLUSTER_INFO_READER, namespace: "kube-public",
    rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cluster-info"], verbs: ["get"] }],
    source: `${CLUSTERINFO_GO} (CreateClusterInfoRBACRules)`,
};

/** The bindings for a cluster at `version`, in the order they are declared. */
export function bindingObjects(version: string): BindingObject[] {
    const out: BindingObject[] = [
        {
            kind: "RoleBinding", name: CLUSTER_INFO_READER, namespace: "kube-public",
            roleRef: { apiGroup: RBAC, kind: "Role", name: CLUSTER_INFO_READER },
            // kubeadm leaves apiGroup empty; rbac/v1 defaulting fills it in for User and Group.
            subjects: [user("system:anonymous")],
            source: `${CLUSTERINFO_GO} (CreateClusterInfoRBACRules)`,
        },
        {
            // The csrapprover approves a joining node's first CSR made with a bootstrap token.
            kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-bootstrap",
            roleRef: clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient"),
            subjects: [group("system:bootstrappers:kubeadm:default-node-token")],
            source: `${TLSBOOTSTRAP_GO} (AutoApproveNodeBootstrapTokens)`,
        },
        {
            // ... and every kubelet's renewal CSR: without it rotated client certificates expire.
            kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-certificate-rotation",
            roleRef: clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"),
            subjects: [group("system:nodes")],
            source: `${TLSBOOTSTRAP_GO} (AutoApproveNodeCertificateRotation)`,
        },
    ];
    if (hasSuperAdminKubeconfig(version)) {
        // From 1.29 admin.conf is O=kubeadm:cluster-admins, authorised only by this binding; kubeadm
        // creates it with super-admin.conf (system:masters) when admin.conf is refused.
        out.push({
            kind: "ClusterRoleBinding", name: "kubeadm:cluster-admins",
            roleRef: clusterRole("cluster-admin"), subjects: [group("kubeadm:cluster-admins")],
            source: "cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go (EnsureAdminClusterRoleBindingImpl: admin.conf first, super-admin.conf when refused)",
            asSuperAdmin: true,
        });
    }
    if (kubeletClientNeedsRbacBinding(version)) {
        // apiserver-kubelet-client has no O (src/pki/versions.ts): logs/exec/port-forward need this binding.
        out.push({
            kind: "ClusterRoleBinding", name: "kubeadm:apiserver-kubelet-client",
            roleRef: clusterRole("system:kubelet-api-admin"), subjects: [user("kube-apiserver-kubelet-client")],
            source: `${TLSBOOTSTRAP_GO} (AllowAPIServerToAccessKubeletAPI, kubernetes/kubernetes#138957)`,
        });
    }
    return out;
}
