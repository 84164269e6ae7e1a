/**
 * The `kubeconfig` key of kube-public/cluster-info, byte for byte as kubeadm writes it, so a run
 * of kube-pki and a run of kubeadm agree and the bootstrap signer's JWS signatures stay valid.
 *
 * kubeadm (cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go,
 * CreateBootstrapConfigMapIfNotExists) copies admin.conf's cluster into a Config whose only entry
 * is named "" and serialises it with clientcmd.Write (k8s.io/client-go/tools/clientcmd/loader.go):
 * the v1 Config as JSON, turned into YAML by sigs.k8s.io/yaml, so keys are sorted, the unset lists
 * are `null`, preferences is `{}` and the CA is base64 of the PEM bytes on one line.
 * test/fixtures/cluster-info/ holds a ConfigMap read from a kubeadm v1.32.11 cluster to check this.
 */

// What a plain YAML scalar may hold here without go-yaml quoting it (an https URL of a host or IP and a port).
const PLAIN_SERVER = /^https:\/\/[A-Za-z0-9.\-_[\]:]+$/;

export function renderClusterInfoKubeconfig(caCertPem: string, server: string): string {
    if (!PLAIN_SERVER.test(server)) throw new Error(`cluster-info: server "${server}" is not an https URL of a host and port`);
    const caData = Buffer.from(caCertPem, "utf8").toString("base64");
    return [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        `    certificate-authority-data: ${caData}`,
        `    server: ${server}`,
        '  name: ""',
        "contexts: null",
        'current-context: ""',
        "kind: Config",
        "preferences: {}",
        "users: null",
        "",
    ].join("\n");
}
