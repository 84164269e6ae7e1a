/**
 * "user:group" owners of planned files (kube-pki:layout.owners, kube-pki:certificates[].owner):
 * install.sh chowns to them as root. The accepted form is the node bundle's (src/node/bundle-format.ts
 * refuses anything else), checked here so a bad value fails at preview, not on the node.
 */
import { show } from "./errors";
import { sentence } from "./fields";

/** Same characters as the bundle's owner field: names or numeric ids, no blanks. */
const OWNER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export const OWNER_FIX = 'write user:group as the node knows them, e.g. "etcd:etcd" (names or numeric ids; letters, digits, "_", "." and "-")';

export function ownerCheck(value: string): string | undefined {
    if (OWNER.test(value)) return undefined;
    const problem = value.includes(":") ? `${show(value)} is not a user:group pair` : `${show(value)} names no group`;
    return sentence(problem, OWNER_FIX);
}
