/** wantedFromSpec over the shipped prod stack, checked against the DESIGN §3 table. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, it } from "vitest";
import { targetsFromStack } from "../../src/cli/targets";
import { describeNeeding, missingTools, SSH_KEYGEN } from "../harness/sim/tools";

const missing = missingTools({ "ssh-keygen": SSH_KEYGEN });

function prodWanted() {
    const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kp-wanted-")), "id");
    // The stack names a key file that must parse; nothing connects in this test.
    execFileSync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    return targetsFromStack({ stack: "prod", stacksDir: path.join(__dirname, "..", "..", "stacks"), sshKeyPath: key, cwd: process.cwd() }).wanted;
}
const wanted = missing ? undefined : prodWanted();

describeNeeding(missing, "wantedFromSpec (prod stack)", () => {
    it("gives workers ca.crt and kubelet.conf only, masters the whole kubeadm tree", () => {
        expect(wanted!["prod-worker-1"].map((w) => w.key)).toEqual(["ca.crt", "kubelet.conf"]);
        const master = wanted!["prod-master-2"].map((w) => w.key);
        expect(master).toEqual(expect.arrayContaining(["ca.key", "etcd/ca.crt", "apiserver.crt", "etcd/peer.key", "sa.key", "sa.pub",
            "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"]));
        expect(new Set(master).size).toBe(master.length);
    });

    it("expects kubeadm's subjects, SANs and signing CA per node", () => {
        const byKey = Object.fromEntries(wanted!["prod-master-2"].map((w) => [w.key, w]));
        const api = byKey["apiserver.crt"].expected!;
        expect(api.subject.commonName).toBe("kube-apiserver");
        expect(api.subject.dnsNames).toEqual(expect.arrayContaining(["prod-master-2", "kubernetes.default.svc.cluster.local",
            "k8s-api.prod.example.com", "k8s-api.prod.internal.example.com"]));
        expect(api.subject.ipAddresses).toEqual(expect.arrayContaining(["10.30.0.12", "10.30.0.100"]));
        expect(api).toMatchObject({ issuerCommonName: "kubernetes", caPath: "/etc/kubernetes/pki/ca.crt" });
        expect(byKey["etcd/server.crt"].expected).toMatchObject({ subject: { commonName: "prod-master-2" }, issuerCommonName: "etcd-ca",
            caPath: "/etc/kubernetes/pki/etcd/ca.crt" });
        // The prod stack keeps the default kubelet.clientCertificate: rotate: kubelet.conf names the kubelet's own
        // kubelet-client-current.pem (judged on its own row), so it carries no client certificate to expect.
        expect(byKey["kubelet.conf"].expected).toBeUndefined();
        expect(byKey["admin.conf"].expected!.subject.organizations).toEqual(["kubeadm:cluster-admins"]);
        expect(byKey["ca.key"].expected).toBeUndefined();
    });
});
