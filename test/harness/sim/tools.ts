/**
 * Where the tests find the outside tools they run as judges or helpers (kubectl, ssh-keygen,
 * libfaketime), and `describeNeeding`: a unit-test `describe` that skips with the printed
 * reason when a tool is missing, or fails under KUBE_PKI_REQUIRE_SIM=1 (CI never goes green
 * by skipping). Every test locates these tools through here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

export const SSH_KEYGEN = "/usr/bin/ssh-keygen";

/** libfaketime's Debian path for this machine's multiarch triplet (x86_64-linux-gnu, aarch64-linux-gnu, …). */
export function findLibfaketime(): string | undefined {
    const triplets = ["x86_64-linux-gnu", "aarch64-linux-gnu", "arm-linux-gnueabihf", "i386-linux-gnu"];
    const candidates = [...triplets.map((t) => `/usr/lib/${t}/faketime/libfaketime.so.1`), "/usr/lib/faketime/libfaketime.so.1"];
    return candidates.find((p) => fs.existsSync(p));
}

/** The kubectl minor the simulated clusters speak; preferred among gcloud's versioned binaries. */
const PREFERRED_MINOR = 30;
/**
 * Known install locations, tried after PATH: gcloud's SDK (DESIGN §7), Debian's
 * kubernetes-client and upstream's install docs (/usr/bin, /usr/local/bin), snap.
 */
export const KNOWN_KUBECTL = ["/usr/lib/google-cloud-sdk/bin/kubectl", "/usr/bin/kubectl", "/usr/local/bin/kubectl", "/snap/bin/kubectl"];

function isExecutable(p: string): boolean {
    try {
        fs.accessSync(p, fs.constants.X_OK);
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}

/** gcloud's real kubectl binaries sit beside its dispatcher as kubectl.1.<minor>: prefer 1.30, else the newest. */
function gcloudVersioned(dir: string): string | undefined {
    const minors = fs.readdirSync(dir)
        .map((n) => /^kubectl\.1\.(\d+)$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null && isExecutable(path.join(dir, m[0])))
        .map((m) => Number(m[1]))
        .sort((a, b) => b - a);
    if (minors.length === 0) return undefined;
    return path.join(dir, `kubectl.1.${minors.includes(PREFERRED_MINOR) ? PREFERRED_MINOR : minors[0]}`);
}

/**
 * A kubectl that talks to the server directly. gcloud's `kubectl` is a dispatcher that first asks
 * the server for /version and caches it under ~/.kube/cache (DESIGN §7): use its versioned sibling.
 */
function realKubectl(candidate: string): string | undefined {
    let resolved: string;
    try {
        resolved = fs.realpathSync(candidate);
    } catch {
        return undefined;
    }
    const dir = path.dirname(resolved);
    if (path.basename(resolved) === "kubectl" && fs.existsSync(path.join(dir, "gcloud"))) return gcloudVersioned(dir);
    return isExecutable(candidate) ? candidate : undefined;
}

/** The kubectl tests run: PATH first, then the known install locations; never gcloud's dispatcher. */
export function findKubectl(pathEnv = process.env.PATH ?? "", known: string[] = KNOWN_KUBECTL): string | undefined {
    const fromPath = pathEnv.split(":").filter((d) => d.startsWith("/")).map((d) => path.join(d, "kubectl"));
    for (const c of [...fromPath, ...known]) {
        const k = realKubectl(c);
        if (k) return k;
    }
    return undefined;
}

/** Missing-tool reason for kubectl, or undefined when one was found. */
export function kubectlMissing(): string | undefined {
    return findKubectl() ? undefined : `kubectl (not on PATH nor at ${KNOWN_KUBECTL.join(", ")}; Debian: apt-get install kubernetes-client)`;
}

/** Reason naming every tool (name → path, undefined when not found) that is missing; undefined when none is. */
export function missingTools(tools: Record<string, string | undefined>): string | undefined {
    const gone = Object.entries(tools)
        .filter(([, p]) => p === undefined || !fs.existsSync(p))
        .map(([name, p]) => (p ? `${name} at ${p}` : name));
    return gone.length ? `missing ${gone.join(", ")}` : undefined;
}

/** Unprivileged user + mount namespaces (`unshare -r -m`), used to stage a private /run/lock. */
export function userNamespacesMissing(): string | undefined {
    const r = spawnSync("/usr/bin/unshare", ["-r", "-m", "/bin/true"], { stdio: "ignore" });
    return r.status === 0 ? undefined : "user namespaces (`unshare -r -m /bin/true` failed)";
}

/** True when a missing prerequisite must fail the run instead of skipping (CI). */
function required(): boolean {
    return process.env.KUBE_PKI_REQUIRE_SIM === "1";
}

/**
 * `describe` for unit tests that need outside tools: `missing` is the reason they cannot run
 * (undefined: they can). Skips with the reason printed, or fails under KUBE_PKI_REQUIRE_SIM=1.
 */
export function describeNeeding(missing: string | undefined, name: string, fn: () => void): void {
    if (missing === undefined) {
        describe(name, fn);
    } else if (required()) {
        describe(name, () => {
            it(`has its tools (KUBE_PKI_REQUIRE_SIM=1): ${missing}`, () => {
                throw new Error(`${name}: ${missing}`);
            });
        });
    } else {
        console.warn(`[skip] ${name}: ${missing}`);
        describe.skip(name, fn);
    }
}

/** Single-test variant of `describeNeeding`. */
export function itNeeding(missing: string | undefined, name: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
    if (missing === undefined) {
        it(name, fn, timeoutMs);
    } else if (required()) {
        it(name, () => {
            throw new Error(`${name}: ${missing} (KUBE_PKI_REQUIRE_SIM=1)`);
        });
    } else {
        console.warn(`[skip] ${name}: ${missing}`);
        it.skip(name, fn);
    }
}
