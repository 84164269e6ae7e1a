// crictl/systemctl shim: forwards argv to the node's fake kubelet over its unix socket and
// reproduces the answer's stdout, stderr and exit code. Usage: shim-client.js <socket> <cmd> args…
"use strict";
const net = require("node:net");
const [socketPath, cmd, ...args] = process.argv.slice(2);
const sock = net.connect(socketPath);
let buf = "";
const bail = (msg) => {
    process.stderr.write(`${cmd}: ${msg}\n`);
    process.exit(1);
};
const timer = setTimeout(() => bail("timed out talking to the (simulated) runtime"), 30000);
sock.on("connect", () => sock.write(JSON.stringify({ cmd, args }) + "\n"));
sock.on("data", (d) => (buf += d));
sock.on("error", (e) => bail(`cannot connect to the (simulated) runtime: ${e.message}`));
sock.on("end", () => {
    clearTimeout(timer);
    let res;
    try {
        res = JSON.parse(buf);
    } catch {
        return bail("bad answer from the simulated runtime");
    }
    process.stdout.write(res.stdout, () => process.stderr.write(res.stderr, () => process.exit(res.code)));
});
