/**
 * The messages of the host-key rule: every SSH node pins its ed25519 or ECDSA host key, or the
 * stack opts out loudly with kube-pki:ssh.insecureIgnoreHostKeys.
 */
import { configKey, show } from "./errors";
import { sentence } from "./fields";
import { isPinnableType, parseHostKey } from "./host-key";
import { HOST_KEY_FIX } from "./schema";

export const OPT_OUT_KEY = configKey(["ssh", "insecureIgnoreHostKeys"]);

/** The command that prints the pins of a stack's nodes. */
export function hostKeysCommand(stack: string | undefined): string {
    return `\`npx kube-pki host-keys --stack ${stack ?? "<stack>"}\``;
}

/** The problem with an SSH node that has no pin and no opt-out. */
export function unpinnedIssue(node: string, stack: string | undefined): string {
    return sentence(
        `node ${show(node)} has no pinned SSH host key, so kube-pki would push keys to whatever answers at its address`,
        `run ${hostKeysCommand(stack)} and paste the ssh.hostKey it prints for ${show(node)}, or accept any host key on unpinned nodes with ${OPT_OUT_KEY}: true (insecure; the program then warns at every run)`,
    );
}

/** Why a pin cannot be used, or undefined when it is an ed25519/ECDSA public key. Never echoes the value. */
export function hostKeyIssue(pin: string, node: string, stack: string | undefined): string | undefined {
    const parsed = parseHostKey(pin);
    if ("problem" in parsed) return sentence(`is not an SSH public key (${parsed.problem})`, HOST_KEY_FIX);
    if (isPinnableType(parsed.type)) return undefined;
    const instead = `pin node ${show(node)}'s ed25519 or ECDSA host key instead (its /etc/ssh/ssh_host_ed25519_key.pub; ${hostKeysCommand(stack)} prints it)`;
    if (parsed.type === "ssh-rsa") {
        return sentence(
            "is an RSA host key: pulumi-command pins with HostKeyAlgorithms=[the pin's type], so it would offer only ssh-rsa (SHA-1 signatures), which OpenSSH 8.8 and later refuse, and every command on the node would fail",
            instead,
        );
    }
    return sentence(`is a ${show(parsed.type)} host key, which kube-pki does not pin`, instead);
}
