/**
 * A throwaway sshd on 127.0.0.1 (random high port, temp host and client keys) for tests of
 * `command:remote:Command`. Needs root (sshd's privilege separation) and /usr/sbin/sshd.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../free-port";

const SSHD = "/usr/sbin/sshd";
const SSH_KEYGEN = "/usr/bin/ssh-keygen";

export interface LoopbackSshd {
    host: "127.0.0.1";
    port: number;
    user: "root";
    /** Client private key (OpenSSH format) authorised for root. */
    clientKey: string;
    /** Server host key in authorized_keys form, for `connection.hostKey`. */
    hostKey: string;
    /** Scratch directory (keys, config); tests may put files here. */
    dir: string;
    stop(): Promise<void>;
}

/** Why the fixture cannot run here, or undefined when it can. */
export function sshdPrerequisites(): string | undefined {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return "not running as root (sshd needs it)";
    if (!fs.existsSync(SSHD)) return `${SSHD} not installed (Debian: openssh-server)`;
    if (!fs.existsSync(SSH_KEYGEN)) return `${SSH_KEYGEN} not installed`;
    return undefined;
}

function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.once("connect", () => { s.destroy(); resolve(true); });
        s.once("error", () => resolve(false));
    });
}

function keygen(file: string): void {
    execFileSync(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
}

export async function startLoopbackSshd(): Promise<LoopbackSshd> {
    const reason = sshdPrerequisites();
    if (reason) throw new Error(`loopback sshd unavailable: ${reason}`);
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-sshd-"));
    fs.chmodSync(dir, 0o700);
    keygen(path.join(dir, "host"));
    keygen(path.join(dir, "client"));
    fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));

    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        const config = path.join(dir, "sshd_config");
        fs.writeFileSync(config, [
            `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${dir}/host`, `PidFile ${dir}/sshd.pid`,
            `AuthorizedKeysFile ${dir}/authorized_keys`, "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no",
            "AcceptEnv PULUMI_COMMAND_* KUBE_PKI_*", "Subsystem sftp internal-sftp", "",
        ].join("\n"));
        const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr!.on("data", (b: Buffer) => { stderr += b.toString(); });
        let exited = false;
        child.once("exit", () => { exited = true; });
        const deadline = Date.now() + 5000;
        while (!exited && Date.now() < deadline && !(await canConnect(port))) {
            await new Promise((r) => setTimeout(r, 50));
        }
        if (!exited && (await canConnect(port))) {
            return {
                host: "127.0.0.1", port, user: "root", dir,
                clientKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
                hostKey: fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim(),
                stop: async () => {
                    if (!exited) {
                        const gone = new Promise((r) => child.once("exit", r));
                        child.kill("SIGTERM");
                        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
                    }
                    fs.rmSync(dir, { recursive: true, force: true });
                },
            };
        }
        if (!exited) child.kill("SIGKILL");
        lastError = stderr.trim() || "sshd did not start listening within 5 s";
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`loopback sshd failed to start: ${lastError}`);
}
