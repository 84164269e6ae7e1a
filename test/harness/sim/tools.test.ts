/** tools.ts: where tests find kubectl (PATH, then known locations; never gcloud's dispatcher). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findKubectl, missingTools } from "./tools";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-tools-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function exe(p: string): string {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, "#!/bin/sh\n", { mode: 0o755 });
    return p;
}

/** A gcloud SDK bin folder: dispatcher `kubectl`, `gcloud`, and kubectl.1.<minor> for each minor. */
function gcloudSdk(name: string, minors: number[]): string {
    const bin = path.join(tmp, name, "google-cloud-sdk", "bin");
    exe(path.join(bin, "gcloud"));
    exe(path.join(bin, "kubectl"));
    for (const m of minors) exe(path.join(bin, `kubectl.1.${m}`));
    return bin;
}

describe("findKubectl", () => {
    it("takes the first kubectl on PATH", () => {
        const a = exe(path.join(tmp, "a", "kubectl"));
        exe(path.join(tmp, "b", "kubectl"));
        expect(findKubectl(`/nonexistent:${path.join(tmp, "a")}:${path.join(tmp, "b")}`, [])).toBe(a);
    });

    it("skips a non-executable file and falls back to the known locations", () => {
        fs.mkdirSync(path.join(tmp, "noexec"), { recursive: true });
        fs.writeFileSync(path.join(tmp, "noexec", "kubectl"), "", { mode: 0o644 });
        const known = exe(path.join(tmp, "known", "kubectl"));
        expect(findKubectl(path.join(tmp, "noexec"), ["/nonexistent/kubectl", known])).toBe(known);
        expect(findKubectl(path.join(tmp, "noexec"), [])).toBeUndefined();
    });

    it("resolves gcloud's dispatcher (also through a symlink on PATH) to its versioned kubectl, 1.30 first, else the newest", () => {
        const sdk = gcloudSdk("sdk1", [27, 30, 33]);
        const usrBin = path.join(tmp, "usr-bin");
        fs.mkdirSync(usrBin, { recursive: true });
        fs.symlinkSync(path.join(sdk, "kubectl"), path.join(usrBin, "kubectl"));
        expect(findKubectl(usrBin, [])).toBe(path.join(sdk, "kubectl.1.30"));
        const sdk2 = gcloudSdk("sdk2", [28, 31]);
        expect(findKubectl("", [path.join(sdk2, "kubectl")])).toBe(path.join(sdk2, "kubectl.1.31"));
        const empty = gcloudSdk("sdk3", []);
        const other = exe(path.join(tmp, "other", "kubectl"));
        expect(findKubectl(empty, [other])).toBe(other);
    });
});

describe("missingTools", () => {
    it("names each missing tool with where it was looked for", () => {
        const here = exe(path.join(tmp, "here", "tool"));
        expect(missingTools({ here })).toBeUndefined();
        expect(missingTools({ here, gone: "/nonexistent/tool", unknown: undefined })).toBe("missing gone at /nonexistent/tool, unknown");
    });
});
