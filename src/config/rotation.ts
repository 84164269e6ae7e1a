/**
 * kube-pki:authorities.rotate: the CA rotations a stack asks for. The schema checks each field's
 * type and form; rotationIssues checks what spans fields and keys (source vs files, same-as-ca,
 * omitted or external CAs) on the raw config, so every problem shows up in one preview even when
 * a neighbouring field is broken, and reads an adopted new CA's files. The key text read here goes
 * only into the spec (the program wraps it in pulumi.secret); messages name files, never content.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import type { CaRotationSpec, RotatableAuthority } from "../spec";
import type { ConfigIssue, ConfigPath } from "./errors";
import { configKey, show } from "./errors";
import { flagWithDefault, optionalString, sentence } from "./fields";
import { resolveUserPath } from "./names";
import type { KeyFileReader } from "./ssh-key";

export const ROTATABLE: readonly RotatableAuthority[] = ["ca", "frontProxyCa", "etcdCa"];
const CA_IDS: Record<RotatableAuthority, string> = { ca: "ca", frontProxyCa: "front-proxy-ca", etcdCa: "etcd-ca" };

/** The id goes into resource names (`<cluster>-etcd-ca-<id>`), so it is a short DNS label. */
const ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const ID_FIX = 'name the new CA with up to 20 lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "2027"); it goes into resource names';
const CERT_FILE_FIX = "set the path of the new CA's PEM certificate on the machine running Pulumi (relative to the project directory)";
const KEY_FILE_FIX = "set the path of the new CA's unencrypted PEM private key on the machine running Pulumi (relative to the project directory)";

// YAML `id: 2027` and `pulumi config set --path …id 2027` store a number: take it as the text it spells.
const idSchema = z.preprocess(
    (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? String(v) : v),
    z
        .string({ error: (iss) => (iss.input === undefined ? sentence("is required", ID_FIX) : sentence(`must be a string, got ${show(iss.input)}`, ID_FIX)) })
        .superRefine((v, ctx) => {
            if (!ID_PATTERN.test(v)) ctx.addIssue({ code: "custom", message: sentence(`${show(v)} is not a valid rotation id`, ID_FIX) });
        }),
);

const SOURCES = ["generate", "adopt"] as const;
const rotationSchema = z.strictObject(
    {
        id: idSchema,
        source: z.enum(SOURCES, { error: (iss) => sentence(`${show(iss.input)} is not allowed`, 'use "generate" (default: kube-pki generates the new CA) or "adopt" (with certFile and keyFile)') }).default("generate"),
        certFile: optionalString(CERT_FILE_FIX),
        keyFile: optionalString(KEY_FILE_FIX),
        abort: flagWithDefault(false, "set true to walk the rotation back to the old CA (default false)"),
    },
    {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? sentence("unknown key", "valid keys here are id, source, certFile, keyFile, abort")
                : sentence(`must be an object (a map of keys), got ${show(iss.input)}`, 'set at least the new CA\'s id, e.g. { id: "2027" }'),
    },
);

const SA_NOT_ROTATABLE = sentence(
    "not rotatable yet: kube-pki rotates the CAs (ca, frontProxyCa, etcdCa) but not the service-account key pair",
    "remove it; replace sa.key/sa.pub by hand (kube-apiserver's --service-account-key-file accepts several keys)",
);

export const rotateSchema = z
    .strictObject(
        {
            ca: rotationSchema.optional(),
            frontProxyCa: rotationSchema.optional(),
            etcdCa: rotationSchema.optional(),
            // Listed so it gets its own message instead of "unknown key".
            serviceAccount: z.custom<never>(() => false, { error: SA_NOT_ROTATABLE }).optional(),
        },
        {
            error: (iss) =>
                iss.code === "unrecognized_keys"
                    ? sentence("unknown key", "valid keys here are ca, frontProxyCa, etcdCa")
                    : sentence(`must be an object (a map of keys), got ${show(iss.input)}`, 'map the CA to rotate to its new id, e.g. { etcdCa: { id: "2027" } }'),
        },
    )
    .optional();

/** An adopted new CA's files (absolute paths) and their text. keyPem is secret. */
export interface AdoptedCaFiles {
    certFile: string;
    keyFile: string;
    certPem: string;
    keyPem: string;
}

type Raw = Record<string, unknown>;
const asObject = (v: unknown): Raw | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : undefined);

/**
 * Checks the rotations against each other's fields and the rest of the raw config, and reads the
 * files of adopted new CAs. Problems go to `issues`; the files of each sound adopt rotation are returned.
 */
export function rotationIssues(input: Raw, env: KeyFileReader, issues: ConfigIssue[], now: Date = new Date()): Map<RotatableAuthority, AdoptedCaFiles> {
    const files = new Map<RotatableAuthority, AdoptedCaFiles>();
    const authorities = asObject(input.authorities);
    const rotate = asObject(authorities?.rotate);
    if (!authorities || !rotate) return files;
    const layout = asObject(input.layout);
    const omit = Array.isArray(layout?.omit) ? (layout.omit as unknown[]) : [];
    const externalEtcd = asObject(asObject(input.cluster)?.etcd)?.mode === "external";
    for (const key of ROTATABLE) {
        const r = asObject(rotate[key]);
        if (!r) continue;
        const at = (...rest: PropertyKey[]): string => configKey(["authorities", "rotate", key, ...rest]);
        const caId = CA_IDS[key];
        if (key === "ca") clusterCaIssues(input, at(), issues);
        if (key !== "ca" && authorities[key] === "same-as-ca") {
            issues.push({ key: at(), message: sentence(`${key} is the cluster CA (same-as-ca)`, "remove this rotation and rotate the cluster CA with kube-pki:authorities.rotate.ca") });
        }
        const omitIndex = omit.indexOf(caId);
        if (omitIndex >= 0) {
            issues.push({ key: at(), message: sentence(`${caId} is omitted (${configKey(["layout", "omit", omitIndex])}): kube-pki manages no ${caId} files to rotate`, "remove this rotation, or stop omitting the CA") });
        }
        if (key === "etcdCa" && externalEtcd) {
            issues.push({ key: at(), message: sentence(`etcd is external (${configKey(["cluster", "etcd", "mode"])}): kube-pki manages no etcd CA`, "remove this rotation; rotate the external etcd's CA where it is managed") });
        }
        const source = r.source ?? "generate";
        if (source === "generate") {
            for (const field of ["certFile", "keyFile"] as const) {
                if (r[field] === undefined) continue;
                issues.push({ key: at(field), message: sentence('is only used with source "adopt" (kube-pki generates the new CA)', 'remove it, or set source: adopt') });
            }
        } else if (source === "adopt") {
            const missing = (["certFile", "keyFile"] as const).filter((f) => r[f] === undefined);
            for (const field of missing) {
                issues.push({ key: at(field), message: sentence('is required with source "adopt"', field === "certFile" ? CERT_FILE_FIX : KEY_FILE_FIX) });
            }
            if (missing.length === 0 && typeof r.certFile === "string" && typeof r.keyFile === "string") {
                const read = readAdoptedCa(r.certFile, r.keyFile, ["authorities", "rotate", key], env, issues, now);
                if (read) files.set(key, read);
            }
        }
    }
    return files;
}

/**
 * The cluster CA rotates only where kube-pki can point kube-controller-manager at a one-certificate
 * signing file (src/scripts/signing-file.sh edits its static pod manifest and restarts it): it
 * refuses a --cluster-signing-cert-file holding two certificates ("expected 1 certificate, found 2":
 * pkg/controller/certificates/signer/ca_provider.go), and ca.crt holds two while the rotation runs.
 */
function clusterCaIssues(input: Raw, at: string, issues: ConfigIssue[]): void {
    const layout = asObject(input.layout);
    const own = asObject(asObject(layout?.components)?.["kube-controller-manager"]);
    const method = own?.restart ?? layout?.restart ?? "static-pod";
    if (method !== "static-pod") {
        issues.push({ key: at, message: sentence(
            `kube-controller-manager restarts by ${show(method)} here, not as a static pod: kube-pki cannot point its --cluster-signing-cert-file at a one-certificate file, and it refuses ca.crt while that holds both CAs`,
            "remove this rotation and follow Kubernetes' \"Manual Rotation of CA Certificates\" (give the controller-manager a signing file with only the signing CA), or run it as a static pod") });
    }
    if (asObject(input.rollout)?.restart === false) {
        issues.push({ key: at, message: sentence(
            `${configKey(["rollout", "restart"])} is false: the rotation must restart kube-controller-manager on a one-certificate signing file before ca.crt holds both CAs`,
            "set kube-pki:rollout.restart true for the rotation, or remove it") });
    }
}

/** Reads and checks an adopted new CA: a CA certificate, in date, and its matching RSA/ECDSA key. */
function readAdoptedCa(certFile: string, keyFile: string, at: ConfigPath, env: KeyFileReader, issues: ConfigIssue[], now: Date): AdoptedCaFiles | undefined {
    const certAt = configKey([...at, "certFile"]);
    const keyAt = configKey([...at, "keyFile"]);
    const certPath = resolveUserPath(certFile, env);
    const keyPath = resolveUserPath(keyFile, env);
    const certPem = readText(certPath, certAt, CERT_FILE_FIX, env, issues);
    const keyPem = readText(keyPath, keyAt, KEY_FILE_FIX, env, issues);
    const cert = certPem === undefined ? undefined : checkCaCertificate(certPem, certPath, certAt, issues, now);
    const key = keyPem === undefined ? undefined : checkCaKey(keyPem, keyPath, keyAt, issues);
    if (!cert || !key) return undefined;
    if (!cert.checkPrivateKey(key)) {
        issues.push({ key: keyAt, message: sentence(`${show(keyPath)} is not the key of ${show(certPath)}`, "point certFile and keyFile at the same CA's certificate and key") });
        return undefined;
    }
    return { certFile: certPath, keyFile: keyPath, certPem: certPem!, keyPem: keyPem! };
}

function readText(file: string, key: string, fix: string, env: KeyFileReader, issues: ConfigIssue[]): string | undefined {
    try {
        return env.readFile(file);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
        issues.push({ key, message: sentence(`cannot read ${show(file)} (${code})`, fix) });
        return undefined;
    }
}

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

function checkCaCertificate(pem: string, file: string, key: string, issues: ConfigIssue[], now: Date): X509Certificate | undefined {
    const problem = (p: string, fix: string) => {
        issues.push({ key, message: sentence(`${show(file)} ${p}`, fix) });
        return undefined;
    };
    // The certificate goes to state in plain text: a key in the same file must not ride along.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return problem("holds a private key", "keep only the CA certificate in certFile and the key in keyFile");
    const blocks = count(pem, /-----BEGIN CERTIFICATE-----/g);
    if (blocks === 0) return problem("is not a PEM certificate", CERT_FILE_FIX);
    if (blocks > 1) return problem(`holds ${blocks} certificates`, "keep only the new CA's own certificate in certFile");
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(pem);
    } catch {
        return problem("is not a readable X.509 certificate", CERT_FILE_FIX);
    }
    if (!cert.ca) return problem("is not a CA certificate (basicConstraints CA:TRUE is missing)", "point it at the new CA's certificate, not a leaf");
    const notAfter = new Date(cert.validTo);
    const notBefore = new Date(cert.validFrom);
    if (notAfter.getTime() <= now.getTime()) return problem(`expired on ${notAfter.toISOString()}`, "issue a new CA, or set source: generate");
    if (notBefore.getTime() > now.getTime()) return problem(`is not valid before ${notBefore.toISOString()}`, "check the clock of the machine that made it, or issue it again");
    return cert;
}

function checkCaKey(pem: string, file: string, key: string, issues: ConfigIssue[]): KeyObject | undefined {
    const problem = (p: string, fix: string) => {
        issues.push({ key, message: sentence(`${show(file)} ${p}`, fix) });
        return undefined;
    };
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
        return problem("is encrypted", `decrypt it into a file only you can read (\`openssl pkey -in ${file} -out ca-new.key\`)`);
    }
    if (count(pem, /-----BEGIN (RSA |EC )?PRIVATE KEY-----/g) !== 1) return problem("is not one PEM private key", KEY_FILE_FIX);
    let object: KeyObject;
    try {
        // Crypto's error text is not passed on: it is never needed and must not carry key material.
        object = createPrivateKey(pem);
    } catch {
        return problem("is not a readable PEM private key", KEY_FILE_FIX);
    }
    if (object.asymmetricKeyType !== "rsa" && object.asymmetricKeyType !== "ec") {
        return problem(`is a ${object.asymmetricKeyType ?? "unknown"} key`, "use an RSA or ECDSA CA key (what kubeadm and the controller-manager's signer accept)");
    }
    return object;
}

/** The spec of each rotation asked for; undefined when none is, so specs without rotation stay as they were. */
export function rotationSpecs(
    rotate: z.output<typeof rotateSchema>,
    files: ReadonlyMap<RotatableAuthority, AdoptedCaFiles>,
): Partial<Record<RotatableAuthority, CaRotationSpec>> | undefined {
    if (!rotate) return undefined;
    const out: Partial<Record<RotatableAuthority, CaRotationSpec>> = {};
    for (const key of ROTATABLE) {
        const r = rotate[key];
        if (!r) continue;
        const spec: CaRotationSpec = { id: r.id, source: r.source, abort: r.abort };
        if (r.source === "adopt") {
            const { certFile, keyFile, certPem, keyPem } = files.get(key)!;
            Object.assign(spec, { certFile, keyFile, certPem, keyPem });
        }
        out[key] = spec;
    }
    return Object.keys(out).length > 0 ? out : undefined;
}
