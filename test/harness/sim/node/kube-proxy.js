// Stand-in for kube-proxy: loads its --kubeconfig client pair at start (exits like the real
// one when the pair is unusable) and shows it to the apiserver (see presentKubeconfig), then
// serves /healthz on --healthz-bind-address (default 0.0.0.0:10256, plain HTTP like the real one).
"use strict";
const http = require("node:http");
const { parseFlags, kubeconfigIdentity, presentKubeconfig } = require("./standin-common");

const C = "kube-proxy";
const flags = parseFlags(process.argv.slice(2));
if (!flags.kubeconfig) {
    console.error(`${C}: no --kubeconfig (the simulator's kube-proxy needs one)`);
    process.exit(1);
}
let id;
try {
    id = kubeconfigIdentity(flags.kubeconfig);
} catch (e) {
    console.error(`${C}: invalid --kubeconfig ${flags.kubeconfig}: ${e.message}`);
    process.exit(1);
}
presentKubeconfig(C, id);
const [host, port] = (flags["healthz-bind-address"] || "0.0.0.0:10256").split(/:(?=\d+$)/);
const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/healthz" ? 200 : 404, { "Content-Type": "text/plain" });
    res.end(req.url === "/healthz" ? "ok" : "not found");
});
server.on("error", (e) => {
    console.error(`${C}: healthz ${host}:${port}: ${e.message}`);
    process.exit(1);
});
server.listen(Number(port), host, () => console.log(`${C}: healthz on ${host}:${port}`));
