/**
 * "user:group" owners of planned files (kube-pki:layout.owners, kube-pki:certificates[].owner):
 * install.sh chowns to them as root. The accepted form is the node bundle's (src/node/bundle-format.ts
 * refuses anything else), checked here so a bad value fails at preview, not on the node.
 */
import { show } from "./errors";
import { sentence } from "./fields";

/**
 * The bundle's owner characters, names only: install.sh compares the file's `stat %U:%G` with
 * the owner, so a numeric id would look changed on every run.
 */
const OWNER = /^[A-Za-z_][A-Za-z0-9_.-]*:[A-Za-z_][A-Za-z0-9_.-]*$/;

export const OWNER_FIX = 'write user:group as named on the node, e.g. "etcd:etcd" (names, not numeric ids; letters, digits, "_", "." and "-")';

export function ownerCheck(value: string): string | undefined {
    if (OWNER.test(value)) return undefined;
    const problem = !value.includes(":") ? `${show(value)} names no group`
        : /^\d+:|:\d+$/.test(value) ? `${show(value)} uses a numeric id` : `${show(value)} is not a user:group pair`;
    return sentence(problem, OWNER_FIX);
}
