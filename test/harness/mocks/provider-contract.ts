/**
 * How the real engine and providers plan and run each resource type kube-pki uses, written once
 * as data (every fact names the source file it was read from) plus the one planning function
 * both the echo and the executing mocks use. provider-contract.test.ts pins one test per fact.
 *
 * Inputs here are plain data (secrets unwrapped) in which an unknown value reads UNKNOWN.
 */
import { UNKNOWN, stableJson } from "./wire-values";

export interface SourceRef { repo: string; version: string; path: string }

const CMD = "pulumi/pulumi-command", CMD_V = "v1.2.1";
const GOP = "pulumi/pulumi-go-provider", GOP_V = "v1.3.0 (pulumi-command v1.2.1 provider/go.mod)";
// pulumi-tls v5 provider/go.mod pins terraform-provider-tls v1.2.1-0.20260130152455-857b38cda3fc (= tag v4.2.1).
const TLS = "hashicorp/terraform-provider-tls", TLS_V = "857b38cda3fc (v4.2.1, as pinned by pulumi-tls v5)";
const ENG = "pulumi/pulumi", ENG_V = "v3.248.0";
// Installed @pulumi/kubernetes is 4.34.2; the provider source read is the pulumi-kubernetes master
// snapshot after v4.32.0 (commit 94977969d), the newest the tool library holds.
const K8S = "pulumi/pulumi-kubernetes", K8S_V = "94977969d (after v4.32.0; SDK 4.34.2 installed)";
const src = (repo: string, version: string, path: string): SourceRef => ({ repo, version, path });

export const TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
    remote: "command:remote:Command",
    local: "command:local:Command",
    copyToRemote: "command:remote:CopyToRemote",
    k8sProvider: "pulumi:providers:kubernetes",
    configMapPatch: "kubernetes:core/v1:ConfigMapPatch",
    rolePatch: "kubernetes:rbac.authorization.k8s.io/v1:RolePatch",
    roleBindingPatch: "kubernetes:rbac.authorization.k8s.io/v1:RoleBindingPatch",
    clusterRoleBindingPatch: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBindingPatch",
} as const;

export const K8S_PATCH_TYPES: readonly string[] = [TYPES.configMapPatch, TYPES.rolePatch, TYPES.roleBindingPatch, TYPES.clusterRoleBindingPatch];

export const CERT_TYPES: readonly string[] = [TYPES.selfSigned, TYPES.locallySigned];
export const COMMAND_TYPES: readonly string[] = [TYPES.remote, TYPES.local];

export interface Fact { says: string; sources: SourceRef[] }

/** The contract. Keys are stable ids the tests and mocks refer to. */
export const FACTS = {
    "tls.privateKey.replaces": {
        says: "PrivateKey: every input (algorithm, rsaBits, ecdsaCurve) requires replacement; defaults rsaBits 2048, ecdsaCurve P224.",
        sources: [src(TLS, TLS_V, "internal/provider/resource_private_key.go")],
    },
    "tls.certRequest.replaces": {
        says: "CertRequest: every input (privateKeyPem, subject, dnsNames, ipAddresses, uris) requires replacement.",
        sources: [src(TLS, TLS_V, "internal/provider/resource_cert_request.go"), src(TLS, TLS_V, "internal/provider/common.go")],
    },
    "tls.cert.replaces": {
        says: "SelfSignedCert/LocallySignedCert: validityPeriodHours, allowedUses, isCaCertificate, maxPathLength, setSubjectKeyId, setAuthorityKeyId, the PEM inputs and subject/SAN inputs require replacement.",
        sources: [src(TLS, TLS_V, "internal/provider/resource_self_signed_cert.go"), src(TLS, TLS_V, "internal/provider/resource_locally_signed_cert.go")],
    },
    "tls.cert.earlyRenewalInPlace": {
        says: "earlyRenewalHours (default 0) has no RequiresReplace: changing it is an in-place update that writes the plan to state (updatedUsingPlan); certPem and validity times keep their state values (UseStateForUnknown), also in preview.",
        sources: [src(TLS, TLS_V, "internal/provider/resource_locally_signed_cert.go"), src(TLS, TLS_V, "internal/provider/common.go")],
    },
    "tls.cert.readyForRenewal": {
        says: "ModifyPlan: when now >= validityEndTime - planned earlyRenewalHours, readyForRenewal becomes unknown and requires replacement, at plan time (preview shows it); ignoreChanges cannot stop it (it is not an input).",
        sources: [src(TLS, TLS_V, "internal/provider/common_cert.go")],
    },
    "tls.cert.timeFormat": {
        says: "validityStartTime/validityEndTime are time.Time.MarshalText of time.Now() (+ validity): RFC 3339 with nanoseconds, trailing zeros dropped, in the provider's local offset ('Z' for UTC). The certificate's own notBefore/notAfter are that instant truncated to the second.",
        sources: [src(TLS, TLS_V, "internal/provider/common_cert.go"), src(TLS, TLS_V, "internal/provider/common.go")],
    },
    "tls.secretInputs": {
        says: "privateKeyPem (SelfSignedCert, CertRequest) and caPrivateKeyPem (LocallySignedCert: each stores its CA key as an input) are Sensitive, i.e. secret.",
        sources: [src(TLS, TLS_V, "internal/provider/resource_locally_signed_cert.go"), src(TLS, TLS_V, "internal/provider/resource_self_signed_cert.go")],
    },
    "command.triggersReplace": {
        says: "Command: a change of triggers replaces (provider:\"replaceOnChanges\"; the doc comment says otherwise); create-before-delete: the new create runs, then the old delete if set.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/common/inputs.go"), src(GOP, GOP_V, "infer/resource.go")],
    },
    "command.updateRuns": {
        says: "Any other input change is an update: runs update if set, else create; with neither, nothing runs and stdout/stderr stay.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/commandController.go"), src(CMD, CMD_V, "provider/pkg/provider/local/commandController.go")],
    },
    "command.outputReplaced": {
        says: "The stdout/stderr of whatever ran replace the stored ones (one trailing newline trimmed); PULUMI_COMMAND_STDOUT/STDERR carry the previous ones unless addPreviousOutputInEnv is false.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/commandOutputs.go"), src(CMD, CMD_V, "provider/pkg/provider/local/commandOutputs.go")],
    },
    "command.previewUnknowns": {
        says: "Preview of a create, update or replacement: stdout/stderr are unknown (no WireDependencies: every output depends on every input); outputs that mirror an input stay known.",
        sources: [src(GOP, GOP_V, "infer/resource.go"), src(CMD, CMD_V, "provider/pkg/provider/local/commandController.go")],
    },
    "command.failedNotStored": {
        says: "A failed create is not stored (the next run creates again); a failed update keeps the old state.",
        sources: [src(GOP, GOP_V, "infer/resource.go"), src(ENG, ENG_V, "pkg/resource/deploy/step.go")],
    },
    "command.noTimeout": {
        says: "No time limit on a command unless the command sets one (only dialing has perDialTimeout/dialErrorLimit).",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/commandOutputs.go"), src(CMD, CMD_V, "provider/pkg/provider/remote/connection.go")],
    },
    "command.errorText": {
        says: "A failed command's error is fmt.Errorf(\"%w: running %q:\\n%s\", err, command, stdout+stderr interleaved), whatever logging says. err is 'Process exited with status N' (ssh) or 'exit status N' (local).",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/commandOutputs.go"), src(CMD, CMD_V, "provider/pkg/provider/local/commandOutputs.go")],
    },
    "command.secretInputs": {
        says: "connection is marked secret by the provider; stdin is not (it is secret only when the program passes a secret).",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/command.go")],
    },
    "copyToRemote.triggersReplace": {
        says: "CopyToRemote: a change of triggers replaces (provider:\"replaceOnChanges\"); connection (secret), source and remotePath update in place.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/copy.go"), src(GOP, GOP_V, "infer/resource.go")],
    },
    "copyToRemote.updateCopiesOnChange": {
        says: "CopyToRemote Update copies again only when the source hash or remotePath changed; otherwise (e.g. only the connection changed) nothing is copied. Preview copies nothing.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/copyController.go")],
    },
    "copyToRemote.noDelete": {
        says: "CopyToRemote has no Delete: deleting or replacing it leaves the copied files on the host.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/copyController.go")],
    },
    "copyToRemote.directoryLanding": {
        says: "A directory source without a trailing slash lands at <remotePath>/<basename> (remotePath created with MkdirAll when missing; an existing non-directory there fails); files are written with sftp Create (truncate, server default mode), existing files overwritten, extra files left.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/copyController.go")],
    },
    "copyToRemote.stateIsInputs": {
        says: "CopyToRemote outputs are its inputs (CopyToRemoteOutputs embeds CopyToRemoteInputs): state keeps the archive's path and hash, not the file contents; connection is secret.",
        sources: [src(CMD, CMD_V, "provider/pkg/provider/remote/copy.go")],
    },
    "engine.ignoreChanges": {
        says: "ignoreChanges paths are reset to the OLD input values before the diff (the new inputs keep the old value); a path absent in the old inputs is removed from the new.",
        sources: [src(ENG, ENG_V, "pkg/resource/deploy/step_generator.go"), src(ENG, ENG_V, "sdk/go/common/resource/properties_path.go")],
    },
    "engine.protect": {
        says: "Replacing a resource protected in state and in the program, or deleting one protected in state, fails the run (preview too) with the engine's message.",
        sources: [src(ENG, ENG_V, "pkg/resource/deploy/step_generator.go"), src(ENG, ENG_V, "pkg/resource/deploy/step.go")],
    },
    "engine.retainOnDelete": {
        says: "Deleting a resource stored with retainOnDelete (the option it was last deployed with) drops it from state without calling the provider's Delete; the same holds for the old half of a replacement.",
        sources: [src(ENG, ENG_V, "pkg/resource/deploy/step.go")],
    },
    "kubernetes.providerClusterIdentifier": {
        says: "Provider DiffConfig: a kubeconfig/context/cluster that is unknown (preview of a reissued kubeconfig) or names another active cluster replaces the provider, and with it every resource on it; when clusterIdentifier is set and unchanged nothing replaces (changes are updates); a changed clusterIdentifier replaces.",
        sources: [src(K8S, K8S_V, "provider/pkg/provider/provider.go")],
    },
    "kubernetes.providerKubeconfigSecret": {
        says: "The provider schema does not mark kubeconfig secret: it is secret in state only when the program passes a secret.",
        sources: [src(K8S, K8S_V, "provider/pkg/gen/schema.go")],
    },
    "kubernetes.patchServerSideApply": {
        says: "Patch resources (ConfigMapPatch, RolePatch, RoleBindingPatch, ClusterRoleBindingPatch, …) are server-side apply upserts of the named object with the Patch's own field manager (an existing object is adopted, not duplicated); a conflict with another manager's different value fails unless the pulumi.com/patchForce annotation is \"true\". Their outputs are the inputs they applied. .metadata.name, .metadata.namespace and, for (Cluster)RoleBindings, .roleRef replace; other changes update.",
        sources: [src(K8S, K8S_V, "provider/pkg/await/await.go"), src(K8S, K8S_V, "provider/pkg/provider/provider.go"), src(K8S, K8S_V, "provider/pkg/provider/diff.go")],
    },
    "kubernetes.patchDeleteRelinquishes": {
        says: "Deleting a Patch resource relinquishes its fields (ssa.Relinquish): fields no other manager holds are removed from the object; a required one fails the delete with advice to set retainOnDelete.",
        sources: [src(K8S, K8S_V, "provider/pkg/await/await.go"), src(K8S, K8S_V, "provider/pkg/provider/provider.go")],
    },
    "engine.applyNotInPreview": {
        says: "Resources created inside an apply of an unknown value never show in preview (the apply does not run).",
        sources: [src("pulumi/pulumi", ENG_V, "sdk/nodejs/output.ts")],
    },
} satisfies Record<string, Fact>;

export type FactId = keyof typeof FACTS;

/** Per type: inputs that update in place (everything else replaces), and provider defaults. */
export const RESOURCE_RULES: Record<string, { inPlace: readonly string[]; replaceOnlyOnChangeOf?: readonly string[]; replaceOnChangeOfPaths?: readonly string[]; defaults: Record<string, unknown>; fact: FactId }> = {
    [TYPES.privateKey]: { inPlace: [], defaults: { rsaBits: 2048, ecdsaCurve: "P224" }, fact: "tls.privateKey.replaces" },
    [TYPES.certRequest]: { inPlace: [], defaults: {}, fact: "tls.certRequest.replaces" },
    [TYPES.selfSigned]: { inPlace: ["earlyRenewalHours"], defaults: { earlyRenewalHours: 0 }, fact: "tls.cert.replaces" },
    [TYPES.locallySigned]: { inPlace: ["earlyRenewalHours"], defaults: { earlyRenewalHours: 0 }, fact: "tls.cert.replaces" },
    // Commands: only `triggers` replaces; every other input updates.
    [TYPES.remote]: { inPlace: [], replaceOnlyOnChangeOf: ["triggers"], defaults: {}, fact: "command.triggersReplace" },
    [TYPES.local]: { inPlace: [], replaceOnlyOnChangeOf: ["triggers"], defaults: {}, fact: "command.triggersReplace" },
    [TYPES.copyToRemote]: { inPlace: [], replaceOnlyOnChangeOf: ["triggers"], defaults: {}, fact: "copyToRemote.triggersReplace" },
    // Patch resources: only the object's identity (and an immutable roleRef) replaces.
    [TYPES.configMapPatch]: { inPlace: [], replaceOnlyOnChangeOf: [], replaceOnChangeOfPaths: ["metadata.name", "metadata.namespace"], defaults: {}, fact: "kubernetes.patchServerSideApply" },
    [TYPES.rolePatch]: { inPlace: [], replaceOnlyOnChangeOf: [], replaceOnChangeOfPaths: ["metadata.name", "metadata.namespace"], defaults: {}, fact: "kubernetes.patchServerSideApply" },
    [TYPES.roleBindingPatch]: { inPlace: [], replaceOnlyOnChangeOf: [], replaceOnChangeOfPaths: ["metadata.name", "metadata.namespace", "roleRef"], defaults: {}, fact: "kubernetes.patchServerSideApply" },
    [TYPES.clusterRoleBindingPatch]: { inPlace: [], replaceOnlyOnChangeOf: [], replaceOnChangeOfPaths: ["metadata.name", "metadata.namespace", "roleRef"], defaults: {}, fact: "kubernetes.patchServerSideApply" },
};

/** The kubernetes provider's DiffConfig (provider.go): what of its own inputs replaces it. */
function k8sProviderReplaces(before: Record<string, any>, after: Record<string, any>, changed: string[]): string[] {
    const id = "clusterIdentifier";
    if (before[id] !== undefined && after[id] !== undefined && after[id] !== UNKNOWN) {
        return stableJson(before[id]) === stableJson(after[id]) ? [] : [id];
    }
    // Without one: unknown cluster settings replace; a known change is taken as another active
    // cluster (the provider compares the active cluster's entry, which kube-pki's kubeconfigs keep
    // only while the CA and endpoint stay: conservative, never a missed replacement).
    return ["kubeconfig", "context", "cluster"].filter((k) => changed.includes(k));
}

function valueAt(o: Record<string, any>, path: string): unknown {
    return path.split(".").reduce<any>((v, k) => (v === undefined || v === null ? undefined : v[k]), o);
}

// ---------------------------------------------------------------- planning

export type PlannedOp = "create" | "same" | "update" | "replace";

export interface PriorResource {
    type: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
    protect?: boolean;
}

export interface PlanRequest {
    urn: string;
    type: string;
    /** Plain inputs; UNKNOWN marks values not known yet. */
    inputs: Record<string, any>;
    ignoreChanges?: string[];
    protect?: boolean;
}

export interface Plan {
    op: PlannedOp;
    /** The inputs the provider gets: ignoreChanges paths reset to the old values. */
    inputs: Record<string, any>;
    /** Top-level inputs that differ from the stored ones (after ignoreChanges). */
    changed: string[];
    /** Why it replaces: input names, or "readyForRenewal". */
    replaceBecause: string[];
    /** Facts that decided the plan. */
    facts: FactId[];
}

/** The engine's error for replacing a protected resource (step_generator.go). */
export function protectedReplaceMessage(urn: string): string {
    return `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, ` +
        "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`";
}

/** The engine's error for deleting a protected resource (step.go deleteProtectedError; URN shell-quoted). */
export function protectedDeleteMessage(urn: string): string {
    return `resource "${urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, ` +
        "either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n" +
        `\`pulumi state unprotect '${urn.replace(/'/g, "'\\''")}'\``;
}

export class ProtectedResourceError extends Error {
    constructor(message: string) { super(message); this.name = "ProtectedResourceError"; }
}

/**
 * How the engine plans one registration against the stored resource at `now`. Throws
 * ProtectedResourceError where the engine refuses a replacement.
 */
export function planResource(prior: PriorResource | undefined, req: PlanRequest, now: Date): Plan {
    const facts: FactId[] = [];
    let inputs = req.inputs;
    if (prior && req.ignoreChanges?.length) {
        inputs = applyIgnoreChanges(prior.inputs, inputs, req.ignoreChanges);
        facts.push("engine.ignoreChanges");
    }
    if (!prior) return { op: "create", inputs, changed: Object.keys(inputs), replaceBecause: [], facts };
    if (prior.type !== req.type) return guard(prior, req, { op: "replace", inputs, changed: [], replaceBecause: ["type"], facts });

    const rules = RESOURCE_RULES[req.type] ?? { inPlace: [], defaults: {}, fact: undefined };
    const withDefaults = (o: Record<string, any>) => ({ ...rules.defaults, ...o });
    const before = withDefaults(prior.inputs), after = withDefaults(inputs);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .filter((k) => after[k] === UNKNOWN || containsUnknownPlain(after[k]) || stableJson(before[k]) !== stableJson(after[k]))
        .sort();

    let replaceBecause: string[];
    if (req.type === TYPES.k8sProvider) replaceBecause = k8sProviderReplaces(before, after, changed);
    else if (rules.replaceOnlyOnChangeOf) replaceBecause = changed.filter((k) => rules.replaceOnlyOnChangeOf!.includes(k));
    else replaceBecause = changed.filter((k) => !rules.inPlace.includes(k));
    for (const path of rules.replaceOnChangeOfPaths ?? []) {
        const a = valueAt(after, path);
        if (a === UNKNOWN || containsUnknownPlain(a) || stableJson(valueAt(before, path)) !== stableJson(a)) replaceBecause.push(path);
    }
    if (changed.length > 0 && rules.fact) facts.push(rules.fact);
    if (changed.length > 0 && req.type === TYPES.k8sProvider) facts.push("kubernetes.providerClusterIdentifier");

    if (CERT_TYPES.includes(req.type) && replaceBecause.length === 0) {
        // Plan-time renewal check on the planned earlyRenewalHours (unknown → no check, as the provider).
        const planned = after.earlyRenewalHours;
        if (planned !== UNKNOWN && isReadyForRenewal(String(prior.state.validityEndTime ?? ""), Number(planned ?? 0), now)) {
            replaceBecause = ["readyForRenewal"];
            facts.push("tls.cert.readyForRenewal");
        }
    }
    if (replaceBecause.length > 0) return guard(prior, req, { op: "replace", inputs, changed, replaceBecause, facts });
    if (changed.length > 0) {
        if (CERT_TYPES.includes(req.type)) facts.push("tls.cert.earlyRenewalInPlace");
        if (COMMAND_TYPES.includes(req.type)) facts.push("command.updateRuns");
        return { op: "update", inputs, changed, replaceBecause, facts };
    }
    return { op: "same", inputs, changed, replaceBecause, facts };
}

function guard(prior: PriorResource, req: PlanRequest, plan: Plan): Plan {
    // The engine checks new.Protect && old.Protect: unprotecting and replacing in one run is allowed.
    if (prior.protect && req.protect) throw new ProtectedResourceError(protectedReplaceMessage(req.urn));
    return plan;
}

function containsUnknownPlain(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknownPlain);
    if (v && typeof v === "object") return Object.values(v).some(containsUnknownPlain);
    return false;
}

/** The provider's rule: due once now >= notAfter - earlyRenewalHours. */
export function isReadyForRenewal(validityEndTime: string, earlyRenewalHours: number | undefined, now: Date): boolean {
    const end = Date.parse(validityEndTime);
    if (Number.isNaN(end)) return false;
    return now.getTime() >= end - (earlyRenewalHours ?? 0) * 3_600_000;
}

/** Engine's PropertyPath.Reset over plain data: "a.b", "a[0]", "a[\"k\"]". */
export function applyIgnoreChanges(old: Record<string, any>, news: Record<string, any>, paths: string[]): Record<string, any> {
    const out = structuredClone(news);
    for (const p of paths) {
        const segs = parsePath(p);
        if (segs.length === 0) continue;
        let o: any = old, n: any = out;
        for (let i = 0; i < segs.length - 1 && o !== undefined && n !== undefined; i++) { o = o?.[segs[i]]; n = n?.[segs[i]]; }
        if (o === undefined || n === undefined || typeof n !== "object") continue;
        const last = segs[segs.length - 1];
        if (typeof last === "number") {
            // Array slots are never created or removed.
            if (Array.isArray(o) && Array.isArray(n) && last < o.length && last < n.length) n[last] = structuredClone(o[last]);
        } else if (o && typeof o === "object" && last in o) {
            n[last] = structuredClone(o[last]);
        } else {
            delete n[last];
        }
    }
    return out;
}

function parsePath(p: string): (string | number)[] {
    const segs: (string | number)[] = [];
    const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(p))) segs.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3].replace(/\\"/g, "\"")));
    return segs;
}

// ---------------------------------------------------------------- outputs

/**
 * What a preview reports for a planned change (keys left out are unknown to the program):
 * creates and replacements: the inputs only; a command update: the stored state with the new
 * inputs but stdout/stderr unknown; a tls in-place update: the stored outputs with the new inputs.
 */
export function previewState(plan: Plan, prior: PriorResource | undefined, rawInputs: Record<string, any>): Record<string, any> {
    if (plan.op === "same") return prior!.state;
    if (plan.op === "create" || plan.op === "replace") return { ...rawInputs };
    if (COMMAND_TYPES.includes(prior!.type)) {
        const { stdout: _o, stderr: _e, ...rest } = prior!.state;
        return { ...rest, ...rawInputs };
    }
    return { ...prior!.state, ...rawInputs };
}

/** Which script an executed command step runs (undefined: none runs). */
export function commandScript(op: "create" | "update" | "replace", inputs: Record<string, any>): { action: "create" | "update"; script?: string } {
    if (op === "update") return inputs.update !== undefined ? { action: "update", script: inputs.update } : { action: "create", script: inputs.create };
    return { action: "create", script: inputs.create };
}

/**
 * Whether a CopyToRemote step copies (copyController.go): create and replace always; an update
 * only when the source hash or remotePath changed.
 */
export function copyToRemoteCopies(op: "create" | "update" | "replace", prior: Record<string, any> | undefined, inputs: Record<string, any>): boolean {
    if (op !== "update") return true;
    return prior?.source?.hash !== inputs.source?.hash || prior?.remotePath !== inputs.remotePath;
}

/**
 * Where each file of a directory source lands (copyController.go sftpCopy): without a trailing
 * slash under <remotePath>/<basename>, with one directly under <remotePath>.
 */
export function copyToRemoteTarget(sourcePath: string, remotePath: string): string {
    if (sourcePath.endsWith("/")) return remotePath;
    const base = sourcePath.replace(/\/+$/, "").split("/").pop()!;
    return `${remotePath.replace(/\/+$/, "")}/${base}`;
}

/** Go's strconv.Quote (the %q verb) for the command text in error messages. */
export function goQuote(s: string): string {
    let out = "\"";
    for (const ch of s) {
        const c = ch.codePointAt(0)!;
        if (ch === "\"" || ch === "\\") out += `\\${ch}`;
        else if (ch === "\x07") out += "\\a";
        else if (ch === "\b") out += "\\b";
        else if (ch === "\f") out += "\\f";
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (ch === "\v") out += "\\v";
        else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
        else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, "0")}`;
        else out += ch;
    }
    return `${out}"`;
}

/** The provider's error text for a failed command: `<err>: running "<command>":\n<stdout+stderr>`. */
export function commandErrorText(cause: string, command: string, combinedOutput: string): string {
    return `${cause}: running ${goQuote(command)}:\n${combinedOutput}`;
}

/** ssh.ExitError text (golang.org/x/crypto/ssh Waitmsg.String); ssh2 reports signals as "SIGKILL", Go as "KILL". */
export function sshExitCause(code: number | undefined, signal: string | undefined, reason?: string): string {
    const sig = signal?.replace(/^SIG/, "");
    if (code === undefined && !sig) return "wait: remote command exited without exit status or exit signal";
    const status = code ?? 128 + (SIGNALS[sig!] ?? 0);
    return `Process exited with status ${status}${sig ? ` from signal ${sig}` : ""}${reason ? `. Reason: ${reason}` : ""}`;
}

/** os/exec ExitError text (os.ProcessState.String). */
export function localExitCause(code: number | null, signal: NodeJS.Signals | null): string {
    if (code !== null) return `exit status ${code}`;
    return `signal: ${GO_SIGNAL_NAMES[signal ?? ""] ?? signal}`;
}

const SIGNALS: Record<string, number> = { ABRT: 6, ALRM: 14, FPE: 8, HUP: 1, ILL: 4, INT: 2, KILL: 9, PIPE: 13, QUIT: 3, SEGV: 11, TERM: 15, USR1: 10, USR2: 12 };
const GO_SIGNAL_NAMES: Record<string, string> = {
    SIGHUP: "hangup", SIGINT: "interrupt", SIGQUIT: "quit", SIGKILL: "killed", SIGTERM: "terminated",
    SIGSEGV: "segmentation fault", SIGPIPE: "broken pipe", SIGABRT: "aborted", SIGUSR1: "user defined signal 1", SIGUSR2: "user defined signal 2",
};

/**
 * Go's time.Time.MarshalText (RFC 3339 with up to 9 fraction digits, trailing zeros dropped) in
 * this process's local offset, as the provider (time.Now()) writes validity times.
 */
export function goTimeText(at: Date, extraNanos = 0): string {
    const offsetMin = -at.getTimezoneOffset();
    const local = new Date(at.getTime() + offsetMin * 60_000);
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    const date = `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}`;
    const time = `${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
    const nanos = local.getUTCMilliseconds() * 1_000_000 + extraNanos;
    const frac = nanos === 0 ? "" : `.${p(nanos, 9).replace(/0+$/, "")}`;
    const zone = offsetMin === 0 ? "Z" : `${offsetMin > 0 ? "+" : "-"}${p(Math.floor(Math.abs(offsetMin) / 60))}:${p(Math.abs(offsetMin) % 60)}`;
    return `${date}T${time}${frac}${zone}`;
}
