/**
 * verify-served.sh against a real TLS server (`openssl s_server` on loopback, random port,
 * killed after the test or after 60 s at most).
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import { writeFileSync } from "fs";
import { join } from "path";
import { freePort } from "../harness/free-port";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { OPENSSL, runScript, tempDir, TestCa, type KeyCert } from "./fixtures";

let ca: TestCa;
let served: KeyCert;
let other: KeyCert;
let client: KeyCert;
let dir: string;
const servers: ChildProcess[] = [];

async function serve(pair: KeyCert, requireClient = false): Promise<number> {
    const port = await freePort();
    const tag = `srv${port}`;
    writeFileSync(join(dir, `${tag}.crt`), pair.cert);
    writeFileSync(join(dir, `${tag}.key`), pair.key, { mode: 0o600 });
    const args = ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", join(dir, `${tag}.crt`), "-key", join(dir, `${tag}.key`), "-quiet"];
    if (requireClient) args.push("-Verify", "1", "-CAfile", join(dir, "ca.crt"));
    const p = spawn(OPENSSL, args, { stdio: ["pipe", "ignore", "ignore"] });
    const limit = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.once("exit", () => clearTimeout(limit));
    servers.push(p);
    return port;
}

function fingerprint(pem: string): string {
    return execFileSync(OPENSSL, ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem, encoding: "utf8" })
        .trim().replace(/^.*=/, "").replace(/:/g, "").toLowerCase();
}

beforeAll(() => {
    ca = new TestCa("verify");
    served = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    other = ca.issue({ cn: "kube-apiserver", eku: "serverAuth", sans: ["IP:127.0.0.1"] });
    client = ca.issue({ cn: "healthcheck", eku: "clientAuth" });
    dir = tempDir("verify");
    writeFileSync(join(dir, "ca.crt"), ca.ca.cert);
    writeFileSync(join(dir, "served.crt"), served.cert);
    writeFileSync(join(dir, "other.crt"), other.cert);
    writeFileSync(join(dir, "client.crt"), client.cert);
    writeFileSync(join(dir, "client.key"), client.key, { mode: 0o600 });
});

afterEach(() => {
    for (const p of servers.splice(0)) p.kill("SIGKILL");
});

describe("verify-served.sh", () => {
    it("succeeds when the endpoint serves the certificate on disk", async () => {
        const port = await serve(served);
        const r = runScript("verify-served", ["kube-apiserver", `127.0.0.1:${port}`, join(dir, "served.crt"), "--timeout", "10"]);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toBe(`served kube-apiserver sha256:${fingerprint(served.cert)}\n`);
    });

    it("fails within the timeout naming both fingerprints when another certificate is served", async () => {
        const port = await serve(other);
        const r = runScript("verify-served", ["kube-apiserver", `127.0.0.1:${port}`, join(dir, "served.crt"), "--timeout", "2"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`serves sha256:${fingerprint(other.cert)}, expected sha256:${fingerprint(served.cert)}`);
        expect(r.stderr).toContain(`\n  served: sha256:${fingerprint(other.cert)}; expected: sha256:${fingerprint(served.cert)} (the file ${join(dir, "served.crt")} on disk)\n`);
        expect(r.stderr).toContain("\n  node now: unchanged: this check changes nothing; kube-apiserver runs on what it loaded before\n");
        expect(r.ms).toBeGreaterThanOrEqual(1_000);
        expect(r.ms).toBeLessThan(10_000);
    });

    it("presents the client certificate to a server that requires one", async () => {
        const port = await serve(served, true);
        const r = runScript("verify-served", ["kube-apiserver", `127.0.0.1:${port}`, join(dir, "served.crt"), "--timeout", "10",
            "--client-cert", join(dir, "client.crt"), "--client-key", join(dir, "client.key"), "--cacert", join(dir, "ca.crt")]);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`served kube-apiserver sha256:${fingerprint(served.cert)}`);
        expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
    });

    it("says no TLS handshake happened when nothing listens", async () => {
        const port = await freePort();
        const r = runScript("verify-served", ["kube-scheduler", `127.0.0.1:${port}`, join(dir, "served.crt"), "--timeout", "1"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`kube-scheduler at 127.0.0.1:${port} serves no certificate (no TLS handshake), expected sha256:${fingerprint(served.cert)}`);
    });
});
