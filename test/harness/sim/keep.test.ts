/** KUBE_PKI_SIM_KEEP copies: clusters that reuse node names (several test files) each keep their own folder. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { keepClusterCopy, type KeptNode } from "./keep";

/** A fake stopped node: its host tree has kubelet's absolute current-cert symlink and an event log. */
function fakeNode(base: string, name: string, cert: string): KeptNode {
    const dir = path.join(base, name);
    const hostPath = (p: string) => path.join(dir, "root", p);
    fs.mkdirSync(hostPath("/etc/kubernetes/pki"), { recursive: true });
    fs.writeFileSync(hostPath("/etc/kubernetes/pki/ca.crt"), `ca of ${base}\n`);
    fs.mkdirSync(hostPath("/var/lib/kubelet/pki"), { recursive: true });
    fs.writeFileSync(hostPath(`/var/lib/kubelet/pki/${cert}`), `${cert} of ${base}\n`);
    fs.symlinkSync(`/var/lib/kubelet/pki/${cert}`, hostPath("/var/lib/kubelet/pki/kubelet-client-current.pem"));
    fs.writeFileSync(path.join(dir, "events.jsonl"), `{"run":"${base}"}\n`);
    return { name, dir, hostPath };
}

describe("KUBE_PKI_SIM_KEEP", () => {
    it("keeps each cluster in its own folder, absolute symlinks verbatim, even when node names repeat", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-keep-"));
        const keep = path.join(tmp, "keep");
        const first = fakeNode(path.join(tmp, "3-aaa"), "master-1", "kubelet-client-2024.pem");
        const second = fakeNode(path.join(tmp, "3-bbb"), "master-1", "kubelet-client-2025.pem");

        const a = keepClusterCopy(keep, "3-aaa", [first]);
        const b = keepClusterCopy(keep, "3-bbb", [second]);
        const again = keepClusterCopy(keep, "3-bbb", [second]); // same run id twice: a fresh folder, no overwrite

        expect([a, b, again]).toEqual([path.join(keep, "3-aaa"), path.join(keep, "3-bbb"), path.join(keep, "3-bbb-2")]);
        const link = (d: string) => fs.readlinkSync(path.join(d, "master-1/var/lib/kubelet/pki/kubelet-client-current.pem"));
        expect(link(a)).toBe("/var/lib/kubelet/pki/kubelet-client-2024.pem");
        expect(link(b)).toBe("/var/lib/kubelet/pki/kubelet-client-2025.pem");
        expect(fs.readFileSync(path.join(a, "master-1/etc/kubernetes/pki/ca.crt"), "utf8")).toContain("3-aaa");
        expect(fs.readFileSync(path.join(b, "master-1/events.jsonl"), "utf8")).toContain("3-bbb");
        fs.rmSync(tmp, { recursive: true, force: true });
    });
});
