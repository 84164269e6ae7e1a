/**
 * The bytes of state the engine would store after one `pulumi up` of a program run under the
 * mock runtime, for bench/program-scale.ts. Three parts:
 *
 * - `realSizeMocks()`: the echo mocks' planning, but every tls output is real: one real key per
 *   (algorithm, size) reused for every PrivateKey, and real CSRs and certificates issued with
 *   the harness's tls code (their SANs, subjects and extensions as the program asks). Everything
 *   the program derives from them (kubeconfigs, node bundles) therefore has its real size.
 *   Commands print nothing (stdout/stderr ""), as under the echo mocks.
 * - `captureRegistrations()`: records each RegisterResource request and response on the wire
 *   (secrets still wrapped, nested exactly where they are), plus component outputs.
 * - `checkpointJson()`: serializes that as a v3 checkpoint the way the engine does
 *   (pulumi/pulumi pkg/resource/stack/deployment.go SerializeResource/SerializePropertyValue,
 *   sdk/go/common/apitype/core.go ResourceV3): a secret becomes
 *   `{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":…}` where
 *   the ciphertext is the passphrase provider's `v1:<base64 nonce(12)>:<base64 AES-256-GCM
 *   ciphertext+tag(16)>` of the value's json.Marshal text (Go escapes <, > and & there: 6 bytes
 *   each); a secret nested inside a secret is stored with its plaintext (NopEncrypter). Output is
 *   compact JSON without HTML escaping, as the self-managed backend writes `<stack>.json` since
 *   pulumi v3.238 (pkg/backend/diy/state.go compactJSONMarshaler).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { RecordingMonitor } from "../test/harness/mocks/recording-monitor";
import { createPlannedMocks, type ExecuteContext, type PlannedMocks } from "../test/harness/mocks/planned-mocks";
import { TYPES } from "../test/harness/mocks/provider-contract";
import { describePrivateKey } from "../test/harness/mocks/tls-keys";
import { createCertRequest, createLocallySignedCert, createSelfSignedCert } from "../test/harness/mocks/tls-certs";

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

// ---------------------------------------------------------------------------------------------
// Mocks with real-size key material

const CURVES: Record<string, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

export function realSizeMocks(): PlannedMocks {
    const keys = new Map<string, crypto.KeyObject>();
    function keyFor(inputs: Record<string, any>): crypto.KeyObject {
        const alg = String(inputs.algorithm);
        const id = alg === "RSA" ? `RSA-${inputs.rsaBits ?? 2048}` : alg === "ECDSA" ? `ECDSA-${inputs.ecdsaCurve ?? "P224"}` : alg;
        let key = keys.get(id);
        if (!key) {
            if (alg === "RSA") key = crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 }).privateKey;
            else if (alg === "ECDSA") key = crypto.generateKeyPairSync("ec", { namedCurve: CURVES[inputs.ecdsaCurve ?? "P224"] }).privateKey;
            else if (alg === "ED25519") key = crypto.generateKeyPairSync("ed25519").privateKey;
            else throw new Error(`state-size: unknown key algorithm ${alg}`);
            keys.set(id, key);
        }
        return key;
    }
    async function execute(ctx: ExecuteContext): Promise<Record<string, any>> {
        const { inputs, op } = ctx;
        switch (ctx.type) {
            case TYPES.privateKey: {
                const { algorithm: _a, ...out } = describePrivateKey(keyFor(inputs));
                // The provider's id is a SHA-1 hex of the public key.
                return { ...out, id: crypto.createHash("sha1").update(out.publicKeyPem).digest("hex") };
            }
            case TYPES.selfSigned:
            case TYPES.locallySigned:
                if (op === "update") return {};
                return ctx.type === TYPES.selfSigned ? createSelfSignedCert(inputs, ctx.now) : createLocallySignedCert(inputs, ctx.now);
            case TYPES.certRequest:
                return createCertRequest(inputs);
            case TYPES.remote:
            case TYPES.local:
                return { stdout: "", stderr: "" };
            default:
                return {};
        }
    }
    return createPlannedMocks({ now: () => new Date(), executor: { execute } });
}

// ---------------------------------------------------------------------------------------------
// What the engine receives

export interface Registration {
    urn: string;
    type: string;
    custom: boolean;
    parent: string;
    provider: string;
    id: string;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    additionalSecretOutputs: string[];
    protect: boolean;
    retainOnDelete: boolean;
    deletedWith: string;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    sourcePosition?: { uri: string; line: number; column: number };
    stackTrace: ({ uri: string; line: number; column: number } | undefined)[];
}

function position(p: any): { uri: string; line: number; column: number } | undefined {
    return p ? { uri: p.getUri(), line: p.getLine(), column: p.getColumn() } : undefined;
}

/**
 * An asset or archive as the checkpoint stores it (pkg/resource/asset.go, archive.go): the
 * signature, a SHA-256 hash of the contents and where it came from (path, text or uri; an
 * AssetArchive's assets by name). The engine hashes the archive's tar stream; here the hash is
 * over the same files' names and bytes: another value, the same 64 hex characters.
 */
class EngineAsset {
    constructor(readonly stored: Record<string, unknown>) {}
}

function contentHash(file: string): string {
    const hash = crypto.createHash("sha256");
    const walk = (p: string, rel: string) => {
        const st = fs.statSync(p, { throwIfNoEntry: false });
        if (!st) return;
        if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e), `${rel}/${e}`);
        else hash.update(rel).update(fs.readFileSync(p));
    };
    walk(file, "");
    return hash.digest("hex");
}

/** The SDK deserializes assets and archives into objects whose fields are promises: resolved here, once. */
async function resolveAssets(v: unknown): Promise<unknown> {
    if (pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)) {
        const sig = pulumi.asset.Asset.isInstance(v) ? rpc.specialAssetSig : rpc.specialArchiveSig;
        const a = v as any;
        const [filePath, text, uri, assets] = await Promise.all([a.path, a.text, a.uri, a.assets]);
        const stored: Record<string, unknown> = { [SIG_KEY]: sig };
        if (assets) {
            const named: Record<string, unknown> = {};
            for (const [k, e] of Object.entries(assets)) named[k] = ((await resolveAssets(e)) as EngineAsset).stored;
            stored.hash = crypto.createHash("sha256").update(JSON.stringify(named)).digest("hex");
            stored.assets = named;
        } else {
            stored.hash = filePath ? contentHash(filePath) : crypto.createHash("sha256").update(text ?? uri ?? "").digest("hex");
            Object.assign(stored, filePath ? { path: filePath } : text !== undefined ? { text } : { uri });
        }
        return new EngineAsset(stored);
    }
    if (rpc.isRpcSecret(v)) return { ...(v as any), value: await resolveAssets((v as any).value) };
    if (Array.isArray(v)) return Promise.all((v as unknown[]).map(resolveAssets));
    if (isPlainObject(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) out[k] = await resolveAssets(e);
        return out;
    }
    return v;
}

/** Wraps the recording monitor (for every run until `restore`) to keep what the engine would store. */
export function captureRegistrations(): { registrations: Map<string, Registration>; settled(): Promise<void>; restore(): void } {
    const registrations = new Map<string, Registration>();
    const pending: Promise<unknown>[] = [];
    const withAssets = (props: Record<string, unknown>, set: (resolved: Record<string, unknown>) => void) => {
        pending.push(resolveAssets(props).then((r) => set(r as Record<string, unknown>)));
        return props;
    };
    const proto = RecordingMonitor.prototype as any;
    const register = proto.registerResource;
    const registerOutputs = proto.registerResourceOutputs;
    proto.registerResource = function (req: any, callback: (err: any, resp: any) => void) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => { propertyDependencies[key] = [...deps.getUrnsList()]; });
        const entry: Omit<Registration, "urn" | "id" | "outputs"> = {
            type: req.getType(),
            custom: req.getCustom(),
            parent: req.getParent(),
            provider: req.getProvider(),
            inputs: rpc.deserializeProperties(req.getObject()),
            dependencies: [...req.getDependenciesList()],
            propertyDependencies,
            additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()],
            protect: req.getProtect() ?? false,
            retainOnDelete: req.getRetainondelete() ?? false,
            deletedWith: req.getDeletedwith() ?? "",
            ignoreChanges: [...req.getIgnorechangesList()],
            replaceOnChanges: [...req.getReplaceonchangesList()],
            sourcePosition: position(req.getSourceposition()),
            stackTrace: (req.getStacktrace()?.getFramesList() ?? []).map((f: any) => position(f.getPc())),
        };
        return register.call(this, req, (err: any, resp: any) => {
            if (!err && resp) {
                const urn: string = resp.getUrn();
                const reg: Registration = { ...entry, urn, id: resp.getId(), outputs: rpc.deserializeProperties(resp.getObject()) };
                withAssets(reg.inputs, (r) => { reg.inputs = r; });
                withAssets(reg.outputs, (r) => { reg.outputs = r; });
                registrations.set(urn, reg);
            }
            callback(err, resp);
        });
    };
    proto.registerResourceOutputs = function (req: any, callback: (err: any, resp: any) => void) {
        const reg = registrations.get(req.getUrn());
        if (reg && req.getOutputs()) reg.outputs = withAssets(rpc.deserializeProperties(req.getOutputs()), (r) => { reg.outputs = r; });
        return registerOutputs.call(this, req, callback);
    };
    return {
        registrations,
        /** Waits until every asset and archive captured so far is resolved (call before checkpointJson). */
        async settled() {
            while (pending.length) await Promise.all(pending.splice(0));
        },
        restore() {
            proto.registerResource = register;
            proto.registerResourceOutputs = registerOutputs;
        },
    };
}

// ---------------------------------------------------------------------------------------------
// The checkpoint

export interface CheckpointOptions {
    project: string;
    stack: string;
    /** Directory the engine takes as project root (where Pulumi.yaml is): source positions are relative to it. */
    projectRoot: string;
    /** The stack's outputs (the program's returned object), value and secrecy. */
    stackOutputs: Record<string, { value: unknown; secret: boolean }>;
}

/** The passphrase provider's ciphertext of a plaintext (config/crypt.go symmetricCrypter). */
function makeEncrypter(): (plaintext: string) => string {
    const key = crypto.randomBytes(32);
    return (plaintext) => {
        const nonce = crypto.randomBytes(12);
        const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
        const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
        return `v1:${nonce.toString("base64")}:${body.toString("base64")}`;
    };
}

/** Go's json.Marshal (HTML-escaping on), as used for a secret's plaintext. */
function goMarshal(value: unknown): string {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function serializeValue(v: unknown, encrypt: ((p: string) => string) | undefined): unknown {
    if (rpc.isRpcSecret(v)) {
        const plaintext = goMarshal(serializeValue((v as any).value, undefined));
        return { [SIG_KEY]: SECRET_SIG, ciphertext: encrypt ? encrypt(plaintext) : plaintext };
    }
    if (Array.isArray(v)) return v.map((e) => serializeValue(e, encrypt));
    if (isPlainObject(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = serializeValue(e, encrypt);
        return out;
    }
    if (v instanceof EngineAsset) return v.stored;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) return v;
    throw new Error(`state-size: cannot serialize a ${Object.prototype.toString.call(v)} (${String(v).slice(0, 80)})`);
}

function serializeProps(props: Record<string, unknown>, encrypt: (p: string) => string): Record<string, unknown> | undefined {
    const out = serializeValue(props, encrypt) as Record<string, unknown>;
    return Object.keys(out).length ? out : undefined;
}

/** Default provider versions: the SDK packages' own versions, as the engine names `default_<version>`. */
function packageVersion(pkg: string): string {
    const file = require.resolve(`@pulumi/${pkg}/package.json`);
    return JSON.parse(fs.readFileSync(file, "utf8")).version;
}

const GO_TIME = "2026-12-01T10:20:30.123456789Z";

export interface Checkpoint {
    /** The `<stack>.json` text. */
    text: string;
    /** Bytes of each resource's entry (with its separating comma), summed per type token. */
    byType: Record<string, { count: number; bytes: number }>;
}

export function checkpointJson(registrations: Iterable<Registration>, opts: CheckpointOptions): Checkpoint {
    const encrypt = makeEncrypter();
    const prefix = `urn:pulumi:${opts.stack}::${opts.project}::`;
    const stackUrn = `${prefix}pulumi:pulumi:Stack::${opts.project}-${opts.stack}`;
    const root = path.resolve(opts.projectRoot);
    const where = (p: Registration["sourcePosition"]): string | undefined => {
        if (!p) return undefined;
        const file = p.uri.startsWith("file://") ? new URL(p.uri).pathname : p.uri;
        return `project:///${path.relative(root, file).split(path.sep).join("/")}#${p.line}${p.column ? `,${p.column}` : ""}`;
    };
    const providers = new Map<string, string>();
    const providerRef = (type: string): string => {
        const pkg = type.split(":")[0];
        let ref = providers.get(pkg);
        if (!ref) {
            ref = `${prefix}pulumi:providers:${pkg}::default_${packageVersion(pkg).replace(/\./g, "_")}::${crypto.randomUUID()}`;
            providers.set(pkg, ref);
        }
        return ref;
    };
    const resources: Record<string, unknown>[] = [];
    for (const r of registrations) {
        const isProvider = r.type.startsWith("pulumi:providers:");
        resources.push({
            urn: r.urn,
            custom: r.custom,
            id: r.custom ? r.id || undefined : undefined,
            type: r.type,
            inputs: r.custom ? serializeProps(r.inputs, encrypt) : undefined,
            outputs: serializeProps(r.outputs, encrypt),
            parent: r.parent || stackUrn,
            protect: r.protect || undefined,
            dependencies: r.dependencies.length ? r.dependencies : undefined,
            provider: r.custom && !isProvider ? r.provider || providerRef(r.type) : undefined,
            propertyDependencies: Object.keys(r.propertyDependencies).length ? r.propertyDependencies : undefined,
            additionalSecretOutputs: r.additionalSecretOutputs.length ? r.additionalSecretOutputs : undefined,
            retainOnDelete: r.retainOnDelete || undefined,
            deletedWith: r.deletedWith || undefined,
            created: GO_TIME,
            modified: GO_TIME,
            sourcePosition: where(r.sourcePosition),
            stackTrace: r.stackTrace.length ? r.stackTrace.map((f) => (f ? { sourcePosition: where(f) } : {})) : undefined,
            ignoreChanges: r.ignoreChanges.length ? r.ignoreChanges : undefined,
            replaceOnChanges: r.replaceOnChanges.length ? r.replaceOnChanges : undefined,
        });
    }
    for (const [pkg, ref] of providers) {
        const [urn, id] = [ref.slice(0, ref.lastIndexOf("::")), ref.slice(ref.lastIndexOf("::") + 2)];
        const version = { version: packageVersion(pkg) };
        resources.push({ urn, custom: true, id, type: `pulumi:providers:${pkg}`, inputs: version, outputs: version, created: GO_TIME, modified: GO_TIME });
    }
    const stackOutputs: Record<string, unknown> = {};
    for (const [k, o] of Object.entries(opts.stackOutputs)) {
        stackOutputs[k] = o.secret ? { [SIG_KEY]: SECRET_SIG, value: o.value } : o.value;
    }
    resources.unshift({ urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs: serializeProps(stackOutputs, encrypt), created: GO_TIME, modified: GO_TIME });
    const byType: Checkpoint["byType"] = {};
    for (const r of resources) {
        const t = (byType[r.type as string] ??= { count: 0, bytes: 0 });
        t.count++;
        t.bytes += Buffer.byteLength(JSON.stringify(r)) + 1;
    }
    const salt = encrypt("pulumi");
    const text = JSON.stringify({
        version: 3,
        checkpoint: {
            stack: `organization/${opts.project}/${opts.stack}`,
            latest: {
                manifest: { time: GO_TIME, magic: crypto.randomBytes(32).toString("hex"), version: "v3.248.0" },
                secrets_providers: { type: "passphrase", state: { salt } },
                resources,
            },
        },
    });
    return { text, byType };
}
