/**
 * Can this machine run the simulated cluster? Live tests call `describeLive`, which skips
 * with the printed reason when it cannot, or fails when KUBE_PKI_REQUIRE_SIM=1 (CI must never
 * go green by skipping).
 */
import * as fs from "node:fs";
import { describe, it } from "vitest";
import { findKubectl, findLibfaketime, kubectlMissing, SSH_KEYGEN } from "./tools";

/** Absolute paths of every binary the simulator runs (kubectl and libfaketime as tools.ts finds them). */
export const SIM_BINARIES = {
    ip: "/usr/sbin/ip",
    unshare: "/usr/bin/unshare",
    nsenter: "/usr/bin/nsenter",
    mount: "/usr/bin/mount",
    sshd: "/usr/sbin/sshd",
    sshKeygen: SSH_KEYGEN,
    etcd: "/usr/bin/etcd",
    etcdctl: "/usr/bin/etcdctl",
    openssl: "/usr/bin/openssl",
    libfaketime: findLibfaketime() ?? "/usr/lib/<triplet>/faketime/libfaketime.so.1 (Debian: faketime)",
    kubectl: findKubectl() ?? "kubectl",
} as const;

export interface SimPrerequisites {
    ok: boolean;
    /** What exactly is missing, when ok is false. */
    reason?: string;
}

/** Checks root, namespaces support and every binary the simulator needs. */
export function simPrerequisites(): SimPrerequisites {
    const missing: string[] = [];
    if (process.platform !== "linux") missing.push(`Linux (this is ${process.platform})`);
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        missing.push(`root (uid is ${process.getuid()})`);
    }
    for (const [name, path] of Object.entries(SIM_BINARIES)) {
        if (name !== "kubectl" && !fs.existsSync(path)) missing.push(`${name} at ${path}`);
    }
    const kubectl = kubectlMissing();
    if (kubectl) missing.push(kubectl);
    for (const ns of ["net", "mnt", "uts"]) {
        if (!fs.existsSync(`/proc/self/ns/${ns}`)) missing.push(`${ns} namespaces (/proc/self/ns/${ns})`);
    }
    if (missing.length === 0) return { ok: true };
    return { ok: false, reason: `simulated cluster unavailable, missing: ${missing.join("; ")}` };
}

/** True when a missing prerequisite must fail the run instead of skipping (CI). */
export function simRequired(): boolean {
    return process.env.KUBE_PKI_REQUIRE_SIM === "1";
}

/**
 * `describe` for live tests: runs `fn` when the simulator can run; otherwise prints the
 * reason and skips, or registers one failing test under KUBE_PKI_REQUIRE_SIM=1.
 */
export function describeLive(name: string, fn: () => void): void {
    const pre = simPrerequisites();
    if (pre.ok) {
        describe(name, fn);
        return;
    }
    if (simRequired()) {
        describe(name, () => {
            it("has the simulator prerequisites (KUBE_PKI_REQUIRE_SIM=1)", () => {
                throw new Error(pre.reason);
            });
        });
        return;
    }
    console.warn(`[skip] ${name}: ${pre.reason}`);
    describe.skip(name, fn);
}

/** Single-test variant of `describeLive`. */
export function liveTest(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
    const pre = simPrerequisites();
    if (pre.ok) {
        it(name, fn, timeoutMs);
    } else if (simRequired()) {
        it(name, () => {
            throw new Error(pre.reason);
        });
    } else {
        console.warn(`[skip] ${name}: ${pre.reason}`);
        it.skip(name, fn);
    }
}
