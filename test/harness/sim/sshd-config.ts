/** The per-node sshd_config: key-only root login on the node IP, every session through ssh-gate.sh. */
import { SIM_BINARIES } from "./prereq";

/**
 * A second way in, for tests that change a stack's SSH port and user (day 2): sshd also listens
 * on this port, and the node's /etc/passwd (a per-node copy bound over the host's, see
 * node-init.sh) has a second uid-0 login, so commands still run as root.
 */
export const SIM_ALT_SSH_PORT = 2222;
export const SIM_ALT_SSH_USER = "kube-pki-ops";

export interface SshdConfigInputs {
    ip: string;
    hostKeyPath: string;
    authorizedKeysPath: string;
    pidFile: string;
    gateScript: string;
    simDir: string;
    clockOffsetSeconds: number;
}

/** libfaketime settings that shift a process's wall clock by `seconds` (monotonic clock untouched). */
export function clockEnv(seconds: number): Record<string, string> {
    if (!seconds) return {};
    return {
        LD_PRELOAD: SIM_BINARIES.libfaketime,
        FAKETIME: `${seconds > 0 ? "+" : "-"}${Math.abs(Math.round(seconds))}s`,
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
    };
}

export function sshdConfig(i: SshdConfigInputs): string {
    const env = Object.entries(clockEnv(i.clockOffsetSeconds)).map(([k, v]) => `${k}=${v}`);
    return [
        `ListenAddress ${i.ip}:22`,
        `ListenAddress ${i.ip}:${SIM_ALT_SSH_PORT}`,
        `HostKey ${i.hostKeyPath}`,
        `PidFile ${i.pidFile}`,
        `AuthorizedKeysFile ${i.authorizedKeysPath}`,
        "UsePAM no",
        "StrictModes no", // keys live under /tmp
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitUserEnvironment no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "PrintMotd no",
        "UseDNS no",
        "MaxStartups 100:30:200",
        "MaxSessions 64",
        "LogLevel INFO",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        ...(env.length ? [`SetEnv ${env.join(" ")}`] : []),
        // Runs the client's command unchanged unless the cut-ssh fault is armed.
        `ForceCommand /bin/sh ${i.gateScript} ${i.simDir}`,
        "",
    ].join("\n");
}
