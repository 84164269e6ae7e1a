/**
 * kube-pki:authorities.rotate: every bad input is a ConfigError line naming its key and the fix,
 * all in one error; an adopted new CA and the new service-account key are read from files openssl
 * made (never kube-pki), relative to the project directory; nothing configured leaves the spec as it was.
 */
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigEnv, RawConfig } from "../../src/config";
import { parseClusterSpec } from "../../src/config";
import { issueCert } from "../harness/sim/openssl-issue";
import { minimalConfig, problems, withConfig } from "./helpers";

let project: string;
let env: ConfigEnv;
const file = (name: string) => path.join(project, name);

beforeAll(async () => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "kpki-rotate-config-"));
    env = { readFile: (f) => fs.readFileSync(f, "utf8"), cwd: project, home: path.join(project, "home") };
    const out = (name: string) => ({ cert: file(`${name}.crt`), key: file(`${name}.key`) });
    await Promise.all([
        issueCert({ cn: "etcd-ca", isCa: true, issuedDaysAgo: 0, validDays: 3650, out: out("pki/new-ca") }),
        issueCert({ cn: "front-proxy-ca", isCa: true, issuedDaysAgo: 0, validDays: 3650, keyType: "ecdsa-p256", out: out("home/ec-ca") }),
        issueCert({ cn: "other-ca", isCa: true, issuedDaysAgo: 0, validDays: 3650, out: out("other-ca") }),
        issueCert({ cn: "leaf", issuedDaysAgo: 0, validDays: 365, eku: ["serverAuth"], out: out("leaf") }),
        issueCert({ cn: "old-ca", isCa: true, issuedDaysAgo: 400, validDays: 365, out: out("expired-ca") }),
        issueCert({ cn: "future-ca", isCa: true, issuedDaysAgo: -30, validDays: 3650, out: out("future-ca") }),
    ]);
    const read = (name: string) => fs.readFileSync(file(name), "utf8");
    fs.writeFileSync(file("bundle.crt"), read("pki/new-ca.crt") + read("other-ca.crt"));
    fs.writeFileSync(file("combined.pem"), read("pki/new-ca.crt") + read("pki/new-ca.key"), { mode: 0o600 });
    fs.writeFileSync(file("not-pem.crt"), "just some text\n");
    // A PEM frame around bytes that are no key: crypto's complaint must not be passed on.
    fs.writeFileSync(file("broken.key"), "-----BEGIN PRIVATE KEY-----\nTk9UQUtFWWJ1dHNvbWVieXRlcw==\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    fs.writeFileSync(file("ed25519.key"), generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string, { mode: 0o600 });
    // The passphrase comes from a file, so it is in no argv; openssl encrypts the new CA's key with it.
    fs.writeFileSync(file("pass.txt"), "correct horse\n", { mode: 0o600 });
    const enc = spawnSync("openssl", ["pkey", "-in", file("pki/new-ca.key"), "-aes256", "-passout", `file:${file("pass.txt")}`, "-out", file("encrypted.key")]);
    expect(enc.status, enc.stderr.toString()).toBe(0);
    // New service-account keys, made as the operator would (openssl genpkey writes them 0600).
    const genpkey = (out: string, ...args: string[]) => {
        const r = spawnSync("openssl", ["genpkey", ...args, "-out", file(out)]);
        expect(r.status, r.stderr.toString()).toBe(0);
    };
    fs.mkdirSync(file("sa"));
    genpkey("sa/sa-2027.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048");
    genpkey("home/sa-ec.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256");
    genpkey("sa/rsa-1024.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024");
    genpkey("sa/secp256k1.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1");
    fs.writeFileSync(file("sa/two.key"), read("sa/sa-2027.key") + read("sa/rsa-1024.key"), { mode: 0o600 });
    const saEnc = spawnSync("openssl", ["pkey", "-in", file("sa/sa-2027.key"), "-aes256", "-passout", `file:${file("pass.txt")}`, "-out", file("sa/encrypted.key")]);
    expect(saEnc.status, saEnc.stderr.toString()).toBe(0);
}, 120_000);

afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

const rotate = (r: Record<string, unknown>, authorities: Record<string, unknown> = {}): RawConfig =>
    withConfig({ authorities: { ...authorities, rotate: r } });
const adopt = (certFile: string, keyFile: string) => ({ etcdCa: { id: "2027", source: "adopt", certFile, keyFile } });
const at = (lines: string[], key: string) => lines.filter((l) => l.startsWith(`${key}: `));
const E = "kube-pki:authorities.rotate.etcdCa";

describe("kube-pki:authorities.rotate: valid", () => {
    it("nothing configured, or an empty rotate: the spec has no rotate at all", () => {
        for (const raw of [minimalConfig(), rotate({})]) {
            const spec = parseClusterSpec(raw, env);
            expect(Object.keys(spec.authorities)).not.toContain("rotate");
            expect(Object.keys(spec.authorities)).not.toContain("serviceAccountRotation");
            expect(spec.authorities).toEqual({ ca: "adopt", frontProxyCa: "adopt", etcdCa: "adopt", serviceAccount: "adopt", keyAlgorithm: "RSA-2048", adoptFrom: "master-1" });
        }
    });

    it("generate: defaults source generate and abort false; a numeric id is its text", () => {
        const spec = parseClusterSpec(rotate({ etcdCa: { id: 2027 }, frontProxyCa: { id: "q3-2027", abort: "true" } }), env);
        expect(spec.authorities.rotate).toEqual({
            etcdCa: { id: "2027", source: "generate", abort: false },
            frontProxyCa: { id: "q3-2027", source: "generate", abort: true },
        });
    });

    it("adopt: files relative to the project directory (and ~) are read into the spec; the key only there", () => {
        const spec = parseClusterSpec(rotate({
            etcdCa: { id: "2027", source: "adopt", certFile: "pki/new-ca.crt", keyFile: "pki/new-ca.key" },
            frontProxyCa: { id: "2027", source: "adopt", certFile: "~/ec-ca.crt", keyFile: "~/ec-ca.key" },
        }), env);
        expect(spec.authorities.rotate?.etcdCa).toEqual({
            id: "2027", source: "adopt", abort: false,
            certFile: file("pki/new-ca.crt"), keyFile: file("pki/new-ca.key"),
            certPem: fs.readFileSync(file("pki/new-ca.crt"), "utf8"), keyPem: fs.readFileSync(file("pki/new-ca.key"), "utf8"),
        });
        expect(spec.authorities.rotate?.frontProxyCa?.keyPem).toBe(fs.readFileSync(file("home/ec-ca.key"), "utf8"));
        expect(spec.authorities.rotate?.frontProxyCa?.certFile).toBe(file("home/ec-ca.crt"));
    });
});

describe("kube-pki:authorities.rotate: refused at preview, naming the key and the fix", () => {
    it("the cluster CA needs its controller-manager as a static pod and rollout.restart (it is pointed at a one-certificate signing file)", () => {
        // kubeadm's static pods and restarts: valid, with frontProxyCa and etcdCa following it (same-as-ca).
        for (const raw of [rotate({ ca: { id: "2027" } }), rotate({ ca: { id: "2027", abort: true } }, { frontProxyCa: "same-as-ca", etcdCa: "same-as-ca" })]) {
            expect(parseClusterSpec(raw, env).authorities.rotate?.ca?.id).toBe("2027");
        }
        const C = "kube-pki:authorities.rotate.ca";
        const systemd = problems(withConfig({ authorities: { rotate: { ca: { id: "2027" } } }, layout: { kind: "custom", components: { "kube-controller-manager": { restart: "systemd" } } } }), env);
        expect(systemd).toHaveLength(1);
        expect(systemd[0]).toMatch(new RegExp(`^${C.replace(/\./g, "\\.")}: kube-controller-manager restarts by "systemd" here, not as a static pod: `));
        expect(systemd[0]).toMatch(/; remove this rotation and follow Kubernetes' "Manual Rotation of CA Certificates" .*, or run it as a static pod\.$/);
        const crictl = problems(withConfig({ authorities: { rotate: { ca: { id: "2027" } } }, layout: { kind: "custom", restart: "crictl" } }), env);
        expect(crictl).toHaveLength(1);
        expect(crictl[0]).toMatch(/restarts by "crictl" here, not as a static pod/);
        const noRestart = problems(withConfig({ authorities: { rotate: { ca: { id: "2027" } } }, rollout: { restart: false } }), env);
        expect(noRestart).toEqual([
            `${C}: kube-pki:rollout.restart is false: the rotation must restart kube-controller-manager on a one-certificate signing file before ca.crt holds both CAs; set kube-pki:rollout.restart true for the rotation, or remove it.`,
        ]);
    });

    it("unknown CAs and fields are unknown keys", () => {
        const lines = problems(rotate({ etcd: { id: "2027" }, frontProxyCa: { id: "2027", sourse: "adopt" } }), env);
        expect(at(lines, "kube-pki:authorities.rotate.etcd")[0]).toMatch(/unknown key; valid keys here are ca, frontProxyCa, etcdCa, serviceAccount\./);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.sourse")[0]).toMatch(/unknown key; valid keys here are id, source, certFile, keyFile, abort\./);
        expect(lines).toHaveLength(2);
    });

    it("id: required, a short DNS label", () => {
        const lines = problems(rotate({
            frontProxyCa: { source: "generate" },
            etcdCa: { id: "Prod_2027" },
        }), env);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.id")[0]).toMatch(/is required; name the new CA with up to 20 lowercase letters/);
        expect(at(lines, `${E}.id`)[0]).toMatch(/"Prod_2027" is not a valid rotation id; .*goes into resource names/);
        expect(lines).toHaveLength(2);
        const tooLong = problems(rotate({ etcdCa: { id: "a".repeat(21) } }), env);
        expect(tooLong).toHaveLength(1);
        expect(at(tooLong, `${E}.id`)[0]).toMatch(/is not a valid rotation id/);
        // 20 characters, and "-" inside, are fine.
        expect(() => parseClusterSpec(rotate({ etcdCa: { id: `a-${"b".repeat(18)}` } }), env)).not.toThrow();
        expect(problems(rotate({ etcdCa: { id: "-2027" } }), env)).toHaveLength(1);
    });

    it("source, abort and the shape of an entry", () => {
        const lines = problems(rotate({ frontProxyCa: { id: "2027", source: "import", abort: "yes" }, etcdCa: "2027" }), env);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.source")[0]).toMatch(/"import" is not allowed; use "generate" .* or "adopt"/);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.abort")[0]).toMatch(/must be true or false, got "yes"/);
        expect(at(lines, E)[0]).toMatch(/must be an object .*got "2027"; set at least the new CA's id/);
        expect(lines).toHaveLength(3);
    });

    it("generate with files, adopt without them", () => {
        const lines = problems(rotate({
            frontProxyCa: { id: "2027", certFile: "pki/new-ca.crt", keyFile: "pki/new-ca.key" },
            etcdCa: { id: "2027", source: "adopt" },
        }), env);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.certFile")[0]).toMatch(/is only used with source "adopt".*; remove it, or set source: adopt\./);
        expect(at(lines, "kube-pki:authorities.rotate.frontProxyCa.keyFile")[0]).toMatch(/is only used with source "adopt"/);
        expect(at(lines, `${E}.certFile`)[0]).toMatch(/is required with source "adopt"; set the path of the new CA's PEM certificate/);
        expect(at(lines, `${E}.keyFile`)[0]).toMatch(/is required with source "adopt"; set the path of the new CA's unencrypted PEM private key/);
        expect(lines).toHaveLength(4);
    });

    it("a CA that is the cluster CA (same-as-ca) is rotated through ca", () => {
        const lines = problems(rotate({ frontProxyCa: { id: "2027" }, etcdCa: { id: "2027" } }, { frontProxyCa: "same-as-ca", etcdCa: "same-as-ca" }), env);
        expect(lines).toEqual([
            "kube-pki:authorities.rotate.frontProxyCa: frontProxyCa is the cluster CA (same-as-ca); remove this rotation and rotate the cluster CA with kube-pki:authorities.rotate.ca.",
            `${E}: etcdCa is the cluster CA (same-as-ca); remove this rotation and rotate the cluster CA with kube-pki:authorities.rotate.ca.`,
        ]);
    });

    it("an omitted CA (kube-pki:layout.omit) or external etcd has no files to rotate", () => {
        const omitted = problems(withConfig({
            layout: { kind: "custom", omit: ["front-proxy-ca", "front-proxy-client"] },
            authorities: { rotate: { frontProxyCa: { id: "2027" } } },
        }), env);
        expect(omitted).toEqual([
            'kube-pki:authorities.rotate.frontProxyCa: front-proxy-ca is omitted (kube-pki:layout.omit[0]): kube-pki manages no front-proxy-ca files to rotate; remove this rotation, or stop omitting the CA.',
        ]);
        const external = problems(withConfig({
            cluster: { name: "lab", kubernetesVersion: "1.30.4", etcd: { mode: "external" } },
            authorities: { rotate: { etcdCa: { id: "2027" } } },
        }), env);
        expect(external).toHaveLength(1);
        expect(external[0]).toMatch(/^kube-pki:authorities.rotate.etcdCa: etcd is external \(kube-pki:cluster.etcd.mode\): kube-pki manages no etcd CA; remove this rotation/);
    });

    it("adopt: unreadable files name the resolved path", () => {
        const lines = problems(rotate(adopt("pki/missing.crt", "/nonexistent/ca.key")), env);
        expect(lines).toEqual([
            `${E}.certFile: cannot read ${JSON.stringify(file("pki/missing.crt"))} (ENOENT); set the path of the new CA's PEM certificate on the machine running Pulumi (relative to the project directory).`,
            `${E}.keyFile: cannot read "/nonexistent/ca.key" (ENOENT); set the path of the new CA's unencrypted PEM private key on the machine running Pulumi (relative to the project directory).`,
        ]);
    });

    it("adopt: the certificate must be one CA certificate, in date, with no key beside it", () => {
        const cases: Array<[string, RegExp]> = [
            ["not-pem.crt", /"[^"]*not-pem.crt" is not a PEM certificate; set the path/],
            ["leaf.crt", /"[^"]*leaf.crt" is not a CA certificate \(basicConstraints CA:TRUE is missing\); point it at the new CA's certificate, not a leaf\./],
            ["expired-ca.crt", /"[^"]*expired-ca.crt" expired on \d{4}-\d\d-\d\dT[^;]*; issue a new CA, or set source: generate\./],
            ["future-ca.crt", /"[^"]*future-ca.crt" is not valid before \d{4}-/],
            ["bundle.crt", /"[^"]*bundle.crt" holds 2 certificates; keep only the new CA's own certificate in certFile\./],
            ["combined.pem", /"[^"]*combined.pem" holds a private key; keep only the CA certificate in certFile and the key in keyFile\./],
        ];
        for (const [certFile, message] of cases) {
            const lines = problems(rotate(adopt(certFile, "pki/new-ca.key")), env);
            expect(lines, certFile).toHaveLength(1);
            expect(lines[0].startsWith(`${E}.certFile: `), certFile).toBe(true);
            expect(lines[0], certFile).toMatch(message);
        }
    });

    it("adopt: the key must be one unencrypted RSA/ECDSA key matching the certificate", () => {
        const cases: Array<[string, RegExp]> = [
            ["other-ca.key", /"[^"]*other-ca.key" is not the key of "[^"]*new-ca.crt"; point certFile and keyFile at the same CA's certificate and key\./],
            ["encrypted.key", /"[^"]*encrypted.key" is encrypted; decrypt it/],
            ["broken.key", /"[^"]*broken.key" is not a readable PEM private key; set the path/],
            ["ed25519.key", /"[^"]*ed25519.key" is an ed25519 key; use an RSA or ECDSA CA key/],
            ["pki/new-ca.crt", /"[^"]*new-ca.crt" is not one PEM private key/],
        ];
        for (const [keyFile, message] of cases) {
            const lines = problems(rotate(adopt("pki/new-ca.crt", keyFile)), env);
            expect(lines, keyFile).toHaveLength(1);
            expect(lines[0].startsWith(`${E}.keyFile: `), keyFile).toBe(true);
            expect(lines[0], keyFile).toMatch(message);
        }
    });

    it("every problem of every key in one error, and no key material in any of them", () => {
        const raw = withConfig({
            cluster: { name: "Lab", kubernetesVersion: "1.30.4" },
            authorities: {
                frontProxyCa: "same-as-ca",
                rotate: {
                    ca: { id: "2027", source: "adopt", certFile: "combined.pem", keyFile: "other-ca.key" },
                    frontProxyCa: { id: "BAD" },
                    etcdCa: { id: "2027", source: "adopt", certFile: "leaf.crt", keyFile: "broken.key" },
                    serviceAccount: { id: "2027", keyFile: "sa/rsa-1024.key" },
                },
            },
        });
        const lines = problems(raw, env);
        expect(lines.map((l) => l.slice(0, l.indexOf(": ")))).toEqual([
            "kube-pki:cluster.name",
            "kube-pki:authorities.rotate.frontProxyCa.id",
            "kube-pki:authorities.rotate.ca.certFile",
            "kube-pki:authorities.rotate.frontProxyCa",
            `${E}.certFile`,
            `${E}.keyFile`,
            "kube-pki:authorities.rotate.serviceAccount.keyFile",
        ]);
        // No line carries a line of any key file's body (the PEM base64), nor of the broken key's.
        const text = lines.join("\n");
        for (const name of ["pki/new-ca.key", "other-ca.key", "broken.key", "sa/rsa-1024.key"]) {
            const body = fs.readFileSync(file(name), "utf8").split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"));
            for (const l of body) expect(text).not.toContain(l);
        }
    });
});

const S = "kube-pki:authorities.rotate.serviceAccount";
const saRotate = (r: Record<string, unknown>) => rotate({ serviceAccount: r });
const MAKE_KEY = /make one, e\.g\. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa-2027\.key` \(readable only by you\), and set keyFile to it\.$/;
const KEY_FILE_FIX = /set the path of the new service-account key, an unencrypted RSA or ECDSA PEM private key, on the machine running Pulumi \(relative to the project directory\)\.$/;
/** The key's public half as openssl prints it (SubjectPublicKeyInfo PEM). */
const opensslPublicKey = (keyFile: string): string => {
    const r = spawnSync("openssl", ["pkey", "-in", keyFile, "-pubout"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    return r.stdout.toString();
};

/** The spec a rotation to id 2027 with this project file as keyFile must give: the file's text and openssl's public half. */
const saSpecOf = (rel: string, abort: boolean) => ({
    id: "2027", keyFile: file(rel), keyPem: fs.readFileSync(file(rel), "utf8"), publicKeyPem: opensslPublicKey(file(rel)), abort,
});

describe("kube-pki:authorities.rotate.serviceAccount", () => {
    it("adopt: keyFile relative to the project directory is read into the spec with its public half; abort false, source adopt by default", () => {
        const spec = parseClusterSpec(saRotate({ id: "2027", keyFile: "sa/sa-2027.key" }), env);
        expect(spec.authorities.serviceAccountRotation).toEqual(saSpecOf("sa/sa-2027.key", false));
        // A sa rotation alone adds no CA rotations.
        expect(Object.keys(spec.authorities)).not.toContain("rotate");
    });

    it("adopt: a ~ path and a numeric id; abort true; source adopt spelled out; beside a CA rotation", () => {
        const spec = parseClusterSpec(rotate({
            etcdCa: { id: "2027" },
            serviceAccount: { id: 2027, source: "adopt", keyFile: "~/sa-ec.key", abort: "true" },
        }), env);
        expect(spec.authorities.serviceAccountRotation).toEqual(saSpecOf("home/sa-ec.key", true));
        expect(spec.authorities.rotate).toEqual({ etcdCa: { id: "2027", source: "generate", abort: false } });
        // A CA rotation alone adds no sa rotation.
        expect(Object.keys(parseClusterSpec(rotate({ etcdCa: { id: "2027" } }), env).authorities)).not.toContain("serviceAccountRotation");
    });

    it("an EC P-256 key is accepted, and so is a certificate beside the one private key", () => {
        const ec = parseClusterSpec(saRotate({ id: "2027", keyFile: "home/sa-ec.key" }), env).authorities.serviceAccountRotation;
        expect(ec?.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
        const combined = parseClusterSpec(saRotate({ id: "2027", keyFile: "combined.pem" }), env).authorities.serviceAccountRotation;
        expect(combined?.publicKeyPem).toBe(opensslPublicKey(file("pki/new-ca.key")));
    });

    it("source generate is refused: kube-pki cannot make the new key", () => {
        const lines = problems(saRotate({ id: "2027", source: "generate", keyFile: "sa/sa-2027.key" }), env);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^${S}\\.source: kube-pki cannot generate the new service-account key: a new public key carries no marker, so a generated key could not be told from the old on the nodes; `));
        expect(lines[0]).toMatch(MAKE_KEY);
        const other = problems(saRotate({ id: "2027", source: "import", keyFile: "sa/sa-2027.key" }), env);
        expect(other).toEqual([`${S}.source: "import" is not allowed; use "adopt" (the default: the new key is the one in keyFile), or leave source out.`]);
    });

    it("keyFile and id are required", () => {
        const lines = problems(saRotate({ abort: false }), env);
        expect(at(lines, `${S}.id`)[0]).toMatch(/: is required; name the rotation with up to 20 lowercase letters, digits and "-", .*\(e\.g\. "2027"\)/);
        expect(at(lines, `${S}.keyFile`)[0]).toMatch(/: is required; set the path of the new service-account key/);
        expect(at(lines, `${S}.keyFile`)[0]).toMatch(KEY_FILE_FIX);
        expect(lines).toHaveLength(2);
        expect(problems(saRotate({ id: "Prod_2027", keyFile: "sa/sa-2027.key" }), env)).toEqual([
            expect.stringMatching(new RegExp(`^${S}\\.id: "Prod_2027" is not a valid rotation id; name the rotation `)),
        ]);
        expect(problems(saRotate({ id: "2027", keyFile: 7 }), env)).toEqual([expect.stringMatching(new RegExp(`^${S}\\.keyFile: must be a string, got 7; set the path`))]);
        expect(problems(rotate({ serviceAccount: "2027" }), env)).toEqual([
            `${S}: must be an object (a map of keys), got "2027"; set the rotation's id and the new key's file, e.g. { id: "2027", keyFile: "sa-2027.key" }.`,
        ]);
    });

    it("an unreadable keyFile names the resolved path", () => {
        expect(problems(saRotate({ id: "2027", keyFile: "sa/missing.key" }), env)).toEqual([
            `${S}.keyFile: cannot read ${JSON.stringify(file("sa/missing.key"))} (ENOENT); set the path of the new service-account key, an unencrypted RSA or ECDSA PEM private key, on the machine running Pulumi (relative to the project directory).`,
        ]);
    });

    it("the key must be one unencrypted RSA (2048 bits or more) or ECDSA P-256/384/521 PEM private key", () => {
        const cases: Array<[string, RegExp, RegExp]> = [
            ["sa/encrypted.key", /"[^"]*sa\/encrypted.key" is encrypted; /, /decrypt it into a file only you can read \(`openssl pkey -in [^`]*sa\/encrypted.key -out sa-new.key`\)\.$/],
            ["ed25519.key", /"[^"]*ed25519.key" is an ed25519 key; /, /use an RSA or ECDSA key \(what kube-apiserver's --service-account-signing-key-file accepts\); make one, e\.g\. `openssl genpkey/],
            ["sa/rsa-1024.key", /"[^"]*rsa-1024.key" is a 1024-bit RSA key, too small to sign service-account tokens; /, /use at least 2048 bits; make one, e\.g\. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048/],
            ["sa/secp256k1.key", /"[^"]*secp256k1.key" is an ECDSA key on secp256k1, which kube-apiserver cannot sign tokens with; /, /use P-256, P-384 or P-521, or an RSA key; make one/],
            ["not-pem.crt", /"[^"]*not-pem.crt" is not one PEM private key; /, KEY_FILE_FIX],
            ["pki/new-ca.crt", /"[^"]*new-ca.crt" is not one PEM private key; /, KEY_FILE_FIX],
            ["broken.key", /"[^"]*broken.key" is not a readable PEM private key; /, KEY_FILE_FIX],
            ["sa/two.key", /"[^"]*sa\/two.key" holds 2 private keys; /, /keep only the new service-account key in keyFile\.$/],
        ];
        for (const [keyFile, problem, fix] of cases) {
            const lines = problems(saRotate({ id: "2027", keyFile }), env);
            expect(lines, keyFile).toHaveLength(1);
            expect(lines[0].startsWith(`${S}.keyFile: `), keyFile).toBe(true);
            expect(lines[0], keyFile).toMatch(problem);
            expect(lines[0], keyFile).toMatch(fix);
        }
    });

    it("certFile gets its own message; other keys are unknown", () => {
        const lines = problems(saRotate({ id: "2027", keyFile: "sa/sa-2027.key", certFile: "pki/new-ca.crt", signingKey: "x" }), env);
        expect(lines).toEqual([
            `${S}.certFile: unknown key: the service-account pair has no certificate; give keyFile only.`,
            `${S}.signingKey: unknown key; valid keys here are id, source, keyFile, abort.`,
        ]);
    });

    it("an omitted sa pair (kube-pki:layout.omit) has no files to rotate", () => {
        const lines = problems(withConfig({
            layout: { kind: "custom", omit: ["front-proxy-ca", "front-proxy-client", "sa"] },
            authorities: { rotate: { serviceAccount: { id: "2027", keyFile: "sa/sa-2027.key" } } },
        }), env);
        expect(lines).toEqual([
            `${S}: sa is omitted (kube-pki:layout.omit[2]): kube-pki manages no service-account key files to rotate; remove this rotation, or stop omitting sa.`,
        ]);
    });

    it("without restarts (kube-pki:rollout.restart false): refused, no apiserver would load both keys", () => {
        const lines = problems(withConfig({ rollout: { restart: false }, authorities: { rotate: { serviceAccount: { id: "2027", keyFile: "sa/sa-2027.key" } } } }), env);
        expect(lines).toEqual([
            `${S}: kube-pki:rollout.restart is false: every kube-apiserver must restart onto sa.pub holding both keys before any signs with the new one; set kube-pki:rollout.restart true for the rotation, or remove it.`,
        ]);
    });

    it("every problem in one error; the key's text is in none of them", () => {
        // Almost valid: a real, readable, unencrypted RSA key, only too small; and one file with two keys.
        const lines = problems(withConfig({
            layout: { kind: "custom", omit: ["sa"] },
            authorities: { rotate: { serviceAccount: { id: "2027", source: "generate", keyFile: "sa/rsa-1024.key", certFile: "x.crt" } } },
        }), env);
        expect(lines.map((l) => l.slice(0, l.indexOf(": ")))).toEqual([`${S}.source`, `${S}.certFile`, `${S}`, `${S}.keyFile`]);
        const two = problems(saRotate({ id: "2027", keyFile: "sa/two.key" }), env);
        const text = [...lines, ...two].join("\n");
        for (const name of ["sa/rsa-1024.key", "sa/sa-2027.key"]) {
            const body = fs.readFileSync(file(name), "utf8").split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"));
            expect(body.length).toBeGreaterThan(5);
            for (const l of body) expect(text).not.toContain(l);
        }
    });
});
