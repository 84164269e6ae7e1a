import { describe, expect, it } from "vitest";
import {
    CLUSTER_OBJECTS_MIN_VERSION,
    SUPPORTED_MINORS,
    SUPPORTED_RANGE_TEXT,
    apiserverReadsServiceAccountKey,
    clusterAdminsOrg,
    clusterObjectsSupported,
    compareKubernetesVersions,
    etcdClientOrg,
    hasSuperAdminKubeconfig,
    isSupportedKubernetesVersion,
    kubeletClientNeedsRbacBinding,
    kubeletClientOrg,
    parseKubernetesVersion,
    tryParseKubernetesVersion,
    versionAtLeast,
} from "../../src/pki/versions";

describe("parseKubernetesVersion", () => {
    it("reads MAJOR.MINOR.PATCH with or without a leading v", () => {
        expect(parseKubernetesVersion("1.30.4")).toEqual({ major: 1, minor: 30, patch: 4 });
        expect(parseKubernetesVersion("v1.35.12")).toEqual({ major: 1, minor: 35, patch: 12 });
    });

    it("rejects partial, pre-release and padded versions", () => {
        for (const bad of ["1.30", "1", "", "1.30.4-rc.1", "1.030.4", "one.two.three", "1.30.4.1"]) {
            expect(tryParseKubernetesVersion(bad), bad).toBeUndefined();
            expect(() => parseKubernetesVersion(bad)).toThrow(`"${bad}" is not a Kubernetes version`);
        }
    });
});

describe("comparison", () => {
    it("orders numerically, not lexically", () => {
        expect(compareKubernetesVersions("1.9.0", "1.10.0")).toBeLessThan(0);
        expect(compareKubernetesVersions("1.30.10", "1.30.9")).toBeGreaterThan(0);
        expect(compareKubernetesVersions("v1.30.4", "1.30.4")).toBe(0);
        expect(versionAtLeast("1.35.5", "1.35.5")).toBe(true);
        expect(versionAtLeast("1.35.4", "1.35.5")).toBe(false);
    });
});

describe("supported range", () => {
    it("is 1.11 to 1.37", () => {
        expect(SUPPORTED_MINORS[0]).toBe(11);
        expect(SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]).toBe(37);
        expect(SUPPORTED_MINORS).toHaveLength(27);
        expect(SUPPORTED_RANGE_TEXT).toBe("1.11 to 1.37");
        for (const v of ["1.11.0", "1.11.10", "1.17.17", "1.24.17", "1.25.0", "1.37.9"]) expect(isSupportedKubernetesVersion(v), v).toBe(true);
        // 1.10 named the etcd server/peer certificates kube-etcd / kube-etcd-peer, not after the node.
        for (const v of ["1.10.13", "1.9.0", "1.38.0", "2.30.0", "0.11.0"]) expect(isSupportedKubernetesVersion(v), v).toBe(false);
    });
});

describe("differences below 1.25", () => {
    it("1.11 to 1.28 share the ≤ 1.28 subjects", () => {
        for (const v of ["1.11.0", "1.17.3", "1.24.17", "1.28.15"]) {
            expect(clusterAdminsOrg(v), v).toBe("system:masters");
            expect(kubeletClientOrg(v), v).toBe("system:masters");
            expect(etcdClientOrg(v), v).toBe("system:masters");
            expect(hasSuperAdminKubeconfig(v), v).toBe(false);
        }
    });

    it("the apiserver reads sa.key from 1.20.0 (kubeadm's --service-account-signing-key-file)", () => {
        for (const v of ["1.11.0", "1.17.0", "1.19.16"]) expect(apiserverReadsServiceAccountKey(v), v).toBe(false);
        for (const v of ["1.20.0", "1.24.17", "1.37.0"]) expect(apiserverReadsServiceAccountKey(v), v).toBe(true);
    });

    it("cluster objects need 1.16.0 (server-side apply on by default; @pulumi/kubernetes wants 1.13+)", () => {
        expect(CLUSTER_OBJECTS_MIN_VERSION).toBe("1.16.0");
        for (const v of ["1.11.0", "1.13.0", "1.15.12"]) expect(clusterObjectsSupported(v), v).toBe(false);
        for (const v of ["1.16.0", "1.24.17", "1.30.4"]) expect(clusterObjectsSupported(v), v).toBe(true);
    });
});

describe("subject policies (kubeadm certlist.go / kubeconfig.go)", () => {
    it("admin group moves from system:masters to kubeadm:cluster-admins at 1.29", () => {
        expect(clusterAdminsOrg("1.28.15")).toBe("system:masters");
        expect(clusterAdminsOrg("1.29.0")).toBe("kubeadm:cluster-admins");
        expect(hasSuperAdminKubeconfig("1.28.15")).toBe(false);
        expect(hasSuperAdminKubeconfig("1.29.0")).toBe(true);
    });

    it("etcd client certs lose system:masters after 1.28", () => {
        expect(etcdClientOrg("1.28.3")).toBe("system:masters");
        expect(etcdClientOrg("1.29.0")).toBeUndefined();
    });

    it("apiserver-kubelet-client drops its O from 1.33.12, 1.34.8, 1.35.5, 1.36.1 and 1.37", () => {
        const cases: Array<[string, string | undefined]> = [
            ["1.28.9", "system:masters"],
            ["1.29.0", "kubeadm:cluster-admins"],
            ["1.32.99", "kubeadm:cluster-admins"],
            ["1.33.11", "kubeadm:cluster-admins"],
            ["1.33.12", undefined],
            ["1.34.7", "kubeadm:cluster-admins"],
            ["1.34.8", undefined],
            ["1.34.9", undefined],
            ["1.35.4", "kubeadm:cluster-admins"],
            ["1.35.5", undefined],
            ["1.36.0", "kubeadm:cluster-admins"],
            ["1.36.1", undefined],
            ["1.37.0", undefined],
        ];
        for (const [version, org] of cases) {
            expect(kubeletClientOrg(version), version).toBe(org);
            expect(kubeletClientNeedsRbacBinding(version), version).toBe(org === undefined);
        }
    });
});
