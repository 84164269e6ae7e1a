/** kube-pki:clusterObjects: default, accepted values, and every bad value named with its fix. */
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../src/config";
import { fakeEnv, problems, withConfig } from "./helpers";

describe("kube-pki:clusterObjects", () => {
    it("defaults to enabled", () => {
        expect(parseClusterSpec(withConfig({}), fakeEnv()).clusterObjects).toEqual({ enabled: true });
    });

    it("accepts false and the strings Pulumi config gives", () => {
        expect(parseClusterSpec(withConfig({ clusterObjects: { enabled: false } }), fakeEnv()).clusterObjects.enabled).toBe(false);
        expect(parseClusterSpec(withConfig({ clusterObjects: { enabled: "false" } }), fakeEnv()).clusterObjects.enabled).toBe(false);
    });

    it("rejects bad values, naming the key and the fix", () => {
        expect(problems(withConfig({ clusterObjects: { enabled: "sometimes" } }))).toEqual([
            "kube-pki:clusterObjects.enabled: must be true or false, got \"sometimes\"; set true to keep cluster-info and kubeadm's RBAC bindings in the cluster (default true), false to leave the cluster's objects alone.",
        ]);
        expect(problems(withConfig({ clusterObjects: { enable: false } }))).toEqual([
            "kube-pki:clusterObjects.enable: unknown key; valid keys here are enabled.",
        ]);
        expect(problems(withConfig({ clusterObjects: true }))).toEqual([
            "kube-pki:clusterObjects: must be an object (a map of keys), got true; set enabled to true or false.",
        ]);
    });
});
