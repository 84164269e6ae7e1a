/**
 * Test helpers for the node scripts: a real PKI made with the openssl CLI, kubeconfigs
 * rendered with the `yaml` package (as the program does), a tree snapshot to prove
 * "nothing changed", and a runner for the .sh files under dash.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { stringify } from "yaml";
import { scriptPath, type ScriptName } from "../../src/node/scripts";

export const OPENSSL = "/usr/bin/openssl";
export const DASH = "/usr/bin/dash";

export function tempDir(prefix: string): string {
    return mkdtempSync(join(tmpdir(), `kube-pki-${prefix}-`));
}

function openssl(args: string[], cwd: string): void {
    execFileSync(OPENSSL, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export interface KeyCert {
    key: string;
    cert: string;
}

export interface IssueOptions {
    cn: string;
    eku?: "serverAuth" | "clientAuth" | "serverAuth,clientAuth";
    sans?: string[];
    /** Dated in the future (notBefore = now + 2 days), as a lagging node clock would see it. */
    future?: boolean;
    /** Key algorithm; EC keeps the tests fast, RSA covers kubeadm's default. */
    rsa?: boolean;
}

/** A scratch CA that signs leaves with the openssl CLI. */
export class TestCa {
    readonly dir: string;
    readonly ca: KeyCert;
    private serial = 1;

    constructor(readonly name: string) {
        this.dir = tempDir(`ca-${name}`);
        this.ca = { key: this.genKey("ca.key", false), cert: "" };
        openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", `/CN=${name}`, "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment",
            "-out", "ca.crt"], this.dir);
        this.ca.cert = this.read("ca.crt");
    }

    private read(f: string): string {
        return readFileSync(join(this.dir, f), "utf8");
    }

    private genKey(file: string, rsa: boolean): string {
        const alg = rsa ? ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] : ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
        openssl(["genpkey", ...alg, "-out", file], this.dir);
        return this.read(file);
    }

    issue(o: IssueOptions): KeyCert {
        const id = `leaf${this.serial++}`;
        const key = this.genKey(`${id}.key`, o.rsa ?? false);
        openssl(["req", "-new", "-key", `${id}.key`, "-subj", `/CN=${o.cn}`, "-out", `${id}.csr`], this.dir);
        const ext = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            `extendedKeyUsage=${o.eku ?? "serverAuth"}`,
            ...(o.sans?.length ? [`subjectAltName=${o.sans.join(",")}`] : []),
        ];
        writeFileSync(join(this.dir, `${id}.ext`), ext.join("\n") + "\n");
        if (o.future) {
            // `openssl x509` cannot set notBefore; `openssl ca -startdate` can.
            writeFileSync(join(this.dir, "index.txt"), "");
            writeFileSync(join(this.dir, "serial"), `${(4096 + this.serial).toString(16).padStart(4, "0")}\n`);
            writeFileSync(join(this.dir, "ca.cnf"), [
                "[ca]", "default_ca=d", "[d]", `database=${this.dir}/index.txt`, `new_certs_dir=${this.dir}`,
                `serial=${this.dir}/serial`, "default_md=sha256", "policy=p", "unique_subject=no", "[p]", "commonName=supplied", "",
            ].join("\n"));
            const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
            const now = Date.now();
            openssl(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-notext",
                "-startdate", stamp(new Date(now + 2 * 86400_000)), "-enddate", stamp(new Date(now + 30 * 86400_000)),
                "-extfile", `${id}.ext`, "-in", `${id}.csr`, "-out", `${id}.crt`], this.dir);
        } else {
            openssl(["x509", "-req", "-in", `${id}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", String(this.serial),
                "-days", "30", "-extfile", `${id}.ext`, "-out", `${id}.crt`], this.dir);
        }
        return { key, cert: this.read(`${id}.crt`) };
    }
}

/** A kubeadm-style kubeconfig with embedded data, rendered one value per line (lineWidth 0). */
export function kubeconfig(ca: string, client: KeyCert, user = "kubernetes-admin"): string {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "kubernetes", cluster: { "certificate-authority-data": b64(ca), server: "https://127.0.0.1:6443" } }],
        contexts: [{ name: `${user}@kubernetes`, context: { cluster: "kubernetes", user } }],
        "current-context": `${user}@kubernetes`,
        preferences: {},
        users: [{ name: user, user: { "client-certificate-data": b64(client.cert), "client-key-data": b64(client.key) } }],
    }, { lineWidth: 0 });
}

/** Every entry under `root` → type, mode and content hash (or link target): equal snapshots = identical trees. */
export function snapshotTree(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string, rel: string) => {
        for (const name of readdirSync(dir).sort()) {
            const full = join(dir, name);
            const r = `${rel}/${name}`;
            const st = lstatSync(full);
            const mode = (st.mode & 0o7777).toString(8);
            if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(full)}`;
            else if (st.isDirectory()) {
                out[r] = `dir ${mode}`;
                walk(full, r);
            } else out[r] = `file ${mode} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
        }
    };
    walk(root, "");
    return out;
}

export interface RunResult {
    status: number;
    stdout: string;
    stderr: string;
    ms: number;
}

export const BASH_POSIX = ["/bin/bash", "--posix"];

/** Runs src/scripts/<name>.sh under dash (the strictest POSIX sh here), or `shell`, with `stdin`. */
export function runScript(name: ScriptName, args: string[], stdin = "", timeoutMs = 60_000, shell: string[] = [DASH]): RunResult {
    const started = Date.now();
    const r = spawnSync(shell[0], [...shell.slice(1), scriptPath(name), ...args], { input: stdin, encoding: "utf8", timeout: timeoutMs });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

export function modeOf(path: string): string {
    return (lstatSync(path).mode & 0o777).toString(8).padStart(4, "0");
}

/** The base64 body of a PEM (what would leak if key text were printed). */
export function pemBody(pem: string): string[] {
    return pem.split("\n").filter((l) => l && !l.startsWith("-----"));
}
