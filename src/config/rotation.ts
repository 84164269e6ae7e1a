/**
 * kube-pki:authorities.rotate: the rotations a stack asks for, of the CAs (ca, frontProxyCa,
 * etcdCa) and of the service-account key pair (serviceAccount). The schema checks each field's
 * type and form; rotationIssues checks what spans fields and keys (source vs files, same-as-ca,
 * omitted or external CAs, an omitted sa pair) on the raw config, so every problem shows up in one
 * preview even when a neighbouring field is broken, and reads the operator's files: an adopted new
 * CA's certificate and key, the new service-account key. The new sa key is never generated: a
 * public key carries no marker, so only a key known at program time can be told from the old one
 * on the nodes. The key text read here goes only into the spec (the program wraps it in
 * pulumi.secret); messages name files, never content, never crypto's error text.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import type { AuthoritySourcesSpec, CaRotationSpec, RotatableAuthority, SaRotationSpec } from "../spec";
import type { ConfigIssue, ConfigPath } from "./errors";
import { configKey, show } from "./errors";
import { flagWithDefault, optionalString, sentence } from "./fields";
import { resolveUserPath } from "./names";
import type { KeyFileReader } from "./ssh-key";

export const ROTATABLE: readonly RotatableAuthority[] = ["ca", "frontProxyCa", "etcdCa"];
const CA_IDS: Record<RotatableAuthority, string> = { ca: "ca", frontProxyCa: "front-proxy-ca", etcdCa: "etcd-ca" };

/** The id goes into resource names (`<cluster>-etcd-ca-<id>`), so it is a short DNS label. */
const ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const ID_RULE = 'with up to 20 lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "2027")';
const ID_FIX = `name the new CA ${ID_RULE}; it goes into resource names`;
const SA_ID_FIX = `name the rotation ${ID_RULE}; it names the rotation in preview and outputs`;
const CERT_FILE_FIX = "set the path of the new CA's PEM certificate on the machine running Pulumi (relative to the project directory)";
const KEY_FILE_FIX = "set the path of the new CA's unencrypted PEM private key on the machine running Pulumi (relative to the project directory)";
const SA_KEY_FILE_FIX = "set the path of the new service-account key, an unencrypted RSA or ECDSA PEM private key, on the machine running Pulumi (relative to the project directory)";
const SA_MAKE_KEY = "make one, e.g. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa-2027.key` (readable only by you), and set keyFile to it";

// YAML `id: 2027` and `pulumi config set --path …id 2027` store a number: take it as the text it spells.
const idSchema = (fix: string) => z.preprocess(
    (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? String(v) : v),
    z
        .string({ error: (iss) => (iss.input === undefined ? sentence("is required", fix) : sentence(`must be a string, got ${show(iss.input)}`, fix)) })
        .superRefine((v, ctx) => {
            if (!ID_PATTERN.test(v)) ctx.addIssue({ code: "custom", message: sentence(`${show(v)} is not a valid rotation id`, fix) });
        }),
);

const SOURCES = ["generate", "adopt"] as const;
const rotationSchema = z.strictObject(
    {
        id: idSchema(ID_FIX),
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

const saRotationSchema = z.strictObject(
    {
        id: idSchema(SA_ID_FIX),
        source: z
            .literal("adopt", {
                error: (iss) =>
                    iss.input === "generate"
                        ? sentence("kube-pki cannot generate the new service-account key: a new public key carries no marker, so a generated key could not be told from the old on the nodes", SA_MAKE_KEY)
                        : sentence(`${show(iss.input)} is not allowed`, 'use "adopt" (the default: the new key is the one in keyFile), or leave source out'),
            })
            .default("adopt"),
        keyFile: z.string({ error: (iss) => sentence(iss.input === undefined ? "is required" : `must be a string, got ${show(iss.input)}`, SA_KEY_FILE_FIX) }),
        // Listed so it gets its own message instead of the plain "unknown key".
        certFile: z.custom<never>(() => false, { error: sentence("unknown key: the service-account pair has no certificate", "give keyFile only") }).optional(),
        abort: flagWithDefault(false, "set true to walk the rotation back to the old key (default false)"),
    },
    {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? sentence("unknown key", "valid keys here are id, source, keyFile, abort")
                : sentence(`must be an object (a map of keys), got ${show(iss.input)}`, 'set the rotation\'s id and the new key\'s file, e.g. { id: "2027", keyFile: "sa-2027.key" }'),
    },
);

export const rotateSchema = z
    .strictObject(
        {
            ca: rotationSchema.optional(),
            frontProxyCa: rotationSchema.optional(),
            etcdCa: rotationSchema.optional(),
            serviceAccount: saRotationSchema.optional(),
        },
        {
            error: (iss) =>
                iss.code === "unrecognized_keys"
                    ? sentence("unknown key", "valid keys here are ca, frontProxyCa, etcdCa, serviceAccount")
                    : sentence(`must be an object (a map of keys), got ${show(iss.input)}`, 'map what to rotate to its new id, e.g. { etcdCa: { id: "2027" } }'),
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

/** The new service-account key (absolute path), its text (secret) and its public half. */
export interface AdoptedSaKey {
    keyFile: string;
    keyPem: string;
    publicKeyPem: string;
}

/** What rotationIssues read: each sound adopt CA rotation's files, and a sound sa rotation's key. */
export interface RotationFiles {
    cas: Map<RotatableAuthority, AdoptedCaFiles>;
    serviceAccount?: AdoptedSaKey;
}

type Raw = Record<string, unknown>;
const asObject = (v: unknown): Raw | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : undefined);

/**
 * Checks the rotations against each other's fields and the rest of the raw config, and reads the
 * files of adopted new CAs and the new sa key. Problems go to `issues`; the files of each sound
 * rotation are returned.
 */
export function rotationIssues(input: Raw, env: KeyFileReader, issues: ConfigIssue[], now: Date = new Date()): RotationFiles {
    const files = new Map<RotatableAuthority, AdoptedCaFiles>();
    const authorities = asObject(input.authorities);
    const rotate = asObject(authorities?.rotate);
    if (!authorities || !rotate) return { cas: files };
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
    const serviceAccount = serviceAccountIssues(input, rotate, omit, env, issues);
    return serviceAccount ? { cas: files, serviceAccount } : { cas: files };
}

/** The sa rotation's cross-key checks (an omitted sa pair, no restarts) and its key file, read when keyFile is a string. */
function serviceAccountIssues(input: Raw, rotate: Raw, omit: unknown[], env: KeyFileReader, issues: ConfigIssue[]): AdoptedSaKey | undefined {
    const r = asObject(rotate.serviceAccount);
    if (!r) return undefined;
    const at = ["authorities", "rotate", "serviceAccount"];
    // Each phase is safe only once every apiserver has loaded the last one's keys: without restarts
    // the first apiserver restarted later would sign with a key the others do not accept.
    if (asObject(input.rollout)?.restart === false) {
        issues.push({ key: configKey(at), message: sentence(
            `${configKey(["rollout", "restart"])} is false: every kube-apiserver must restart onto sa.pub holding both keys before any signs with the new one`,
            "set kube-pki:rollout.restart true for the rotation, or remove it") });
    }
    const omitIndex = omit.indexOf("sa");
    if (omitIndex >= 0) {
        issues.push({ key: configKey(at), message: sentence(`sa is omitted (${configKey(["layout", "omit", omitIndex])}): kube-pki manages no service-account key files to rotate`, "remove this rotation, or stop omitting sa") });
    }
    if (typeof r.keyFile !== "string") return undefined;
    const keyAt = configKey([...at, "keyFile"]);
    const keyPath = resolveUserPath(r.keyFile, env);
    const keyPem = readText(keyPath, keyAt, SA_KEY_FILE_FIX, env, issues);
    const key = keyPem === undefined ? undefined : checkPrivateKey(keyPem, keyPath, keyAt, issues, SA_KEY_RULES);
    if (!key) return undefined;
    return { keyFile: keyPath, keyPem: keyPem!, publicKeyPem: createPublicKey(key).export({ type: "spki", format: "pem" }) as string };
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
    const key = keyPem === undefined ? undefined : checkPrivateKey(keyPem, keyPath, keyAt, issues, CA_KEY_RULES);
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

/** What a key file must be, beyond one unencrypted RSA/ECDSA PEM private key, and the fixes to name. */
interface KeyRules {
    fix: string;
    /** The file to decrypt an encrypted key into, in the fix. */
    decryptedName: string;
    /** Keep-only-one fix when the file holds several private keys. */
    oneKeyFix: string;
    typeFix: string;
    /** Further checks of the parsed key: [problem, fix], or undefined when it is fine. */
    check?: (key: KeyObject) => [string, string] | undefined;
}

const CA_KEY_RULES: KeyRules = {
    fix: KEY_FILE_FIX,
    decryptedName: "ca-new.key",
    oneKeyFix: "keep only the new CA's key in keyFile",
    typeFix: "use an RSA or ECDSA CA key (what kubeadm and the controller-manager's signer accept)",
};

// kube-apiserver's --service-account-signing-key-file signs with RS256 or ES256/384/512 only.
const SA_CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };
const SA_KEY_RULES: KeyRules = {
    fix: SA_KEY_FILE_FIX,
    decryptedName: "sa-new.key",
    oneKeyFix: "keep only the new service-account key in keyFile",
    typeFix: `use an RSA or ECDSA key (what kube-apiserver's --service-account-signing-key-file accepts); ${SA_MAKE_KEY}`,
    check: (key) => {
        const details = key.asymmetricKeyDetails ?? {};
        if (key.asymmetricKeyType === "rsa" && (details.modulusLength ?? 0) < 2048) {
            return [`is a ${details.modulusLength ?? "unknown"}-bit RSA key, too small to sign service-account tokens`, `use at least 2048 bits; ${SA_MAKE_KEY}`];
        }
        if (key.asymmetricKeyType === "ec" && !SA_CURVES[details.namedCurve ?? ""]) {
            return [`is an ECDSA key on ${details.namedCurve ?? "an unknown curve"}, which kube-apiserver cannot sign tokens with`, `use P-256, P-384 or P-521, or an RSA key; ${SA_MAKE_KEY}`];
        }
        return undefined;
    },
};

const article = (word: string): string => (/^[aeiou]/i.test(word) ? "an" : "a");

/** One unencrypted RSA/ECDSA PEM private key, as `rules` further asks; a certificate beside it is ignored. */
function checkPrivateKey(pem: string, file: string, key: string, issues: ConfigIssue[], rules: KeyRules): KeyObject | undefined {
    const problem = (p: string, fix: string) => {
        issues.push({ key, message: sentence(`${show(file)} ${p}`, fix) });
        return undefined;
    };
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
        return problem("is encrypted", `decrypt it into a file only you can read (\`openssl pkey -in ${file} -out ${rules.decryptedName}\`)`);
    }
    const blocks = count(pem, /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g);
    if (blocks === 0) return problem("is not one PEM private key", rules.fix);
    if (blocks > 1) return problem(`holds ${blocks} private keys`, rules.oneKeyFix);
    let object: KeyObject;
    try {
        // Crypto's error text is not passed on: it is never needed and must not carry key material.
        object = createPrivateKey(pem);
    } catch {
        return problem("is not a readable PEM private key", rules.fix);
    }
    const type = object.asymmetricKeyType ?? "unknown";
    if (type !== "rsa" && type !== "ec") return problem(`is ${article(type)} ${type} key`, rules.typeFix);
    const more = rules.check?.(object);
    return more ? problem(...more) : object;
}

/**
 * The spec of each rotation asked for: `rotate` (the CAs) and `serviceAccountRotation`, each only
 * when asked for, so specs without rotation stay as they were.
 */
export function rotationSpecs(
    rotate: z.output<typeof rotateSchema>,
    files: RotationFiles,
): Pick<AuthoritySourcesSpec, "rotate" | "serviceAccountRotation"> {
    if (!rotate) return {};
    const out: Partial<Record<RotatableAuthority, CaRotationSpec>> = {};
    for (const key of ROTATABLE) {
        const r = rotate[key];
        if (!r) continue;
        const spec: CaRotationSpec = { id: r.id, source: r.source, abort: r.abort };
        if (r.source === "adopt") {
            const { certFile, keyFile, certPem, keyPem } = files.cas.get(key)!;
            Object.assign(spec, { certFile, keyFile, certPem, keyPem });
        }
        out[key] = spec;
    }
    const sa = rotate.serviceAccount;
    const saSpec = (): SaRotationSpec => {
        const { keyFile, keyPem, publicKeyPem } = files.serviceAccount!;
        return { id: sa!.id, keyFile, keyPem, publicKeyPem, abort: sa!.abort };
    };
    return {
        ...(Object.keys(out).length > 0 ? { rotate: out } : {}),
        ...(sa ? { serviceAccountRotation: saSpec() } : {}),
    };
}
