/** What the recorder keeps per registered resource and per program run. */
import type { MockResourceArgs, Mocks } from "@pulumi/pulumi/runtime/mocks";

export interface ResourceRecord {
    urn: string;
    type: string;
    name: string;
    /** Parent URN ("" for none). */
    parent: string;
    /** false for ComponentResources (the mocks treat them as no-ops). */
    custom: boolean;
    /** Registration order, 0-based, in the order registrations finished. */
    order: number;
    /** Inputs as plain data (secrets unwrapped, unknowns as UNKNOWN). */
    inputs: Record<string, any>;
    /** Top-level input keys whose value was, or contained, a secret. */
    secretInputs: string[];
    /** URNs of all direct dependencies (dependsOn, inputs, parent-implied). */
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    additionalSecretOutputs: string[];
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    protect: boolean;
    /** The retainOnDelete option (the engine then skips the provider's delete). */
    retainOnDelete: boolean;
    /** The explicit provider reference ("<provider urn>::<id>"), "" for the default provider. */
    provider: string;
    /** Resource state as the program sees it (plain). */
    outputs: Record<string, any>;
    /** Top-level output keys the program receives as secrets. */
    secretOutputs: string[];
    /** Set when the mocks threw for this resource (the engine fails it). */
    error?: string;
}

export interface ProgramOutput {
    value: any;
    secret: boolean;
    /** false when (part of) the value is unknown, as in previews. */
    known: boolean;
}

export interface RunResult {
    resources: ResourceRecord[];
    byUrn: Map<string, ResourceRecord>;
    /** URNs in registration order. */
    order: string[];
    outputs: Record<string, ProgramOutput>;
    /** Resources whose mock threw (the engine would fail the update). */
    failures: { urn: string; message: string }[];
    /** First resource with this logical name (optionally of this type token); throws when absent. */
    get(name: string, type?: string): ResourceRecord;
    /** All resources of a type token, e.g. "tls:index/privateKey:PrivateKey". */
    ofType(type: string): ResourceRecord[];
}

/** Mock arguments plus what the recording monitor knows about the registration. */
export interface RecordedResourceArgs extends MockResourceArgs {
    urn: string;
    preview: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    protect: boolean;
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
}

/** Mocks that want to know where a program run starts and ends (e.g. to keep state between runs). */
export interface RunAwareMocks extends Mocks {
    beginRun?(ctx: { preview: boolean }): void;
    endRun?(ctx: { preview: boolean; registeredUrns: string[]; failed: boolean }): Promise<void> | void;
}
