/**
 * The simulated cluster harness (GitHub issue "A simulated cluster to test against").
 *
 *   const cluster = await SimCluster.start({ masters: 3, workers: 1 });
 *   const m1 = cluster.node("master-1");
 *   await m1.ssh("crictl ps");                      // real sshd in the node's namespaces
 *   fs.readFileSync(m1.hostPath("/etc/kubernetes/pki/apiserver.crt"));
 *   m1.setFault("kube-apiserver", { kind: "keep-old-cert" });
 *   m1.events();                                    // start/stop/exit/kubelet-restart log
 *   await cluster.stop();
 */
export { SimCluster } from "./cluster";
export type { SimClusterOptions, SimNodeOptions } from "./cluster";
export { SimNode, NODE_MOUNTS, tcpOpen } from "./node";
export type { ComponentFault, SimComponent, SimEvent, SshFault } from "./node";
export { sshExec } from "./ssh-client";
export { SIM_ALT_SSH_PORT, SIM_ALT_SSH_USER } from "./sshd-config";
export type { SshExecResult, SshTarget } from "./ssh-client";
export { describeLive, liveTest, simPrerequisites, simRequired, SIM_BINARIES } from "./prereq";
export { issueCert, certSha256, generateKeyPair } from "./openssl-issue";
export type { CertPaths, IssueRequest, SeedKeyType } from "./openssl-issue";
export type { SeedAuthorities } from "./kubeadm-seed";
export { adminOrganisations } from "./kubeadm-seed";
export { waitFor } from "./proc";
export { HANDBUILT, HANDBUILT_KUBELET_CLIENT_EXPIRED_DAYS_AGO } from "./handbuilt-seed";
export { RKE } from "./rke-seed";
export type { LayoutSeed, SimLayout } from "./layout-seed-common";
