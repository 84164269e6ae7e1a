import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { describe, expect, it } from "vitest";
import {
    bundleFingerprints, bundleHash, canonicalSan, parseBundle, serializeBundle, type Bundle,
} from "../../src/node/bundle-format";

const sample: Bundle = {
    files: [
        { path: "/etc/kubernetes/pki/ca.crt", mode: "0644", owner: "root:root", content: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
        { path: "/etc/kubernetes/pki/sa.key", mode: "0600", content: "secret key text\n" },
        { path: "/etc/kubernetes/empty", mode: "0644", content: "" },
    ],
    checks: [
        { cert: "/etc/kubernetes/pki/apiserver.crt", key: "/etc/kubernetes/pki/apiserver.key", ca: "/etc/kubernetes/pki/ca.crt", sans: ["DNS:node-1", "IP:10.0.0.1"], purpose: ["sslserver", "sslclient"] },
        { cert: "/etc/kubernetes/pki/ca.crt" },
        { kubeconfig: "/etc/kubernetes/admin.conf", ca: "/etc/kubernetes/pki/ca.crt" },
        { key: "/etc/kubernetes/pki/sa.key", pub: "/etc/kubernetes/pki/sa.pub" },
    ],
};

describe("bundle format", () => {
    it("round-trips files and checks", () => {
        const text = serializeBundle(sample);
        expect(parseBundle(text)).toEqual(sample);
        expect(text.startsWith("kube-pki-bundle 1\n")).toBe(true);
        expect(text).toMatch(/\nE 3 [0-9a-f]{64}\n$/);
    });

    it("fingerprints are the sha256 of each file, as sha256sum computes it", () => {
        const fps = bundleFingerprints(sample);
        expect(Object.keys(fps)).toEqual([...sample.files.map((f) => f.path)].sort());
        for (const f of sample.files) {
            expect(fps[f.path]).toBe(execFileSync("sha256sum", { input: f.content, encoding: "utf8" }).split(" ")[0]);
        }
        expect(bundleFingerprints(serializeBundle(sample))).toEqual(fps);
        // The trailer hash is what sha256sum sees over every line before the trailer.
        const text = serializeBundle(sample);
        expect(bundleHash(text)).toBe(createHash("sha256").update(text.slice(0, text.lastIndexOf("E "))).digest("hex"));
    });

    it("rejects truncated or altered text", () => {
        const text = serializeBundle(sample);
        expect(() => parseBundle(text.slice(0, text.length - 10))).toThrow(/trailer/);
        expect(text).toContain("c2VjcmV0");
        expect(() => parseBundle(text.replace("c2VjcmV0", "c2VjcmV1"))).toThrow(/hash/);
    });

    it("refuses paths and fields install.sh could not carry", () => {
        const bad = (path: string) => () => serializeBundle({ files: [{ path, mode: "0600", content: "x" }], checks: [] });
        expect(bad("relative/path")).toThrow(/absolute/);
        expect(bad("/etc/with space")).toThrow(/whitespace/);
        expect(bad("/etc/../x")).toThrow(/'\.\.'/);
        expect(bad("/etc/x.kube-pki-new")).toThrow(/staging/);
        expect(() => serializeBundle({ files: [sample.files[0], sample.files[0]], checks: [] })).toThrow(/twice/);
        expect(() => serializeBundle({ files: [{ ...sample.files[0], mode: "644" as never }], checks: [] })).toThrow(/mode/);
        expect(() => serializeBundle({ files: [{ ...sample.files[0], owner: "root root" }], checks: [] })).toThrow(/owner/);
    });

    it("canonical SANs are the text openssl prints", () => {
        const dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
        const sans = ["DNS:node-1", "IP:10.0.0.1", "IP:::1", "IP:fd00::a:1", "IP:2001:db8:0:0:1::ff", "IP:::ffff:10.1.2.3"];
        execFileSync("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", `${dir}/k`, "-out", `${dir}/c`, "-subj", "/CN=x", "-days", "1", "-addext", `subjectAltName=${sans.join(",")}`], { stdio: "ignore" });
        const printed = execFileSync("/usr/bin/openssl", ["x509", "-in", `${dir}/c`, "-noout", "-ext", "subjectAltName"], { encoding: "utf8" })
            .split("\n")[1].trim().split(", ").map((s) => s.replace("IP Address:", "IP:"));
        expect(sans.map(canonicalSan)).toEqual(printed);
        expect(() => canonicalSan("IP:not-an-ip")).toThrow();
        expect(() => canonicalSan("node-1")).toThrow();
    });
});
