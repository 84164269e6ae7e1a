import { describe, expect, it } from "vitest";
import {
    SUPPORTED_MINORS,
    clusterAdminsOrg,
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
    it("is 1.25 to 1.37", () => {
        expect(SUPPORTED_MINORS[0]).toBe(25);
        expect(SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]).toBe(37);
        expect(SUPPORTED_MINORS).toHaveLength(13);
        expect(isSupportedKubernetesVersion("1.25.0")).toBe(true);
        expect(isSupportedKubernetesVersion("1.37.9")).toBe(true);
        expect(isSupportedKubernetesVersion("1.24.17")).toBe(false);
        expect(isSupportedKubernetesVersion("1.38.0")).toBe(false);
        expect(isSupportedKubernetesVersion("2.30.0")).toBe(false);
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
