/**
 * A MockMonitor that records every registration (with the request fields the stock mock
 * monitor drops: dependencies, property dependencies, ignoreChanges, …) and applies
 * `additionalSecretOutputs` the way the engine does, so tests see the secrecy users get.
 */
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type { Mocks } from "@pulumi/pulumi/runtime/mocks";
import type { RecordedResourceArgs, ResourceRecord } from "./records";
import { secretKeys, toPlain, wrapSecret } from "./wire-values";


import * as resproto from "@pulumi/pulumi/proto/resource_pb";

/** Same scheme as the stock mock monitor (parent type chain joined with "$"). */
export function mockUrn(parent: string, type: string, name: string): string {
    if (parent) {
        const parentType = parent.split("::")[2].split("$").pop();
        type = `${parentType}$${type}`;
    }
    return `urn:pulumi:${settings.getStack()}::${settings.getProject()}::${type}::${name}`;
}

export class RecordingMonitor extends MockMonitor {
    readonly records: ResourceRecord[] = [];
    readonly failures: { urn: string; message: string }[] = [];
    /** Registrations currently inside the mocks. */
    inFlight = 0;
    /** Bumped on every registration start, so the runner can tell "idle" from "between two". */
    activity = 0;

    constructor(mocks: Mocks, private readonly preview: boolean) {
        super(mocks);
    }

    /** The SDK reports a failed invoke with `err.details` (a gRPC field); give it the mock's message. */
    async invoke(req: any, callback: (err: any, innerResponse: any) => void): Promise<void> {
        return super.invoke(req, (err, resp) => {
            if (err && err.details === undefined) err.details = err instanceof Error ? err.message : String(err);
            callback(err, resp);
        });
    }

    async registerResource(req: any, callback: (err: any, innerResponse: any) => void): Promise<void> {
        this.inFlight++;
        this.activity++;
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const custom: boolean = req.getCustom();
        const urn = mockUrn(parent, type, name);
        const wireInputs: Record<string, any> = rpc.deserializeProperties(req.getObject());
        const additionalSecretOutputs: string[] = req.getAdditionalsecretoutputsList();
        const replaceOnChanges: string[] = req.getReplaceonchangesList();
        const base = {
            urn, type, name, parent, custom,
            inputs: toPlain(wireInputs),
            secretInputs: secretKeys(wireInputs),
            dependencies: [...req.getDependenciesList()],
            propertyDependencies: readPropertyDependencies(req),
            additionalSecretOutputs,
            ignoreChanges: [...req.getIgnorechangesList()],
            deleteBeforeReplace: req.getDeletebeforereplace(),
            replaceOnChanges,
            protect: req.getProtect() ?? false,
            retainOnDelete: req.getRetainondelete() ?? false,
            provider: req.getProvider() ?? "",
        };
        try {
            const args: RecordedResourceArgs = {
                type, name, inputs: wireInputs, provider: req.getProvider(), custom,
                id: req.getImportid(), urn, preview: this.preview, replaceOnChanges,
                ignoreChanges: base.ignoreChanges, protect: base.protect, deleteBeforeReplace: base.deleteBeforeReplace,
                retainOnDelete: base.retainOnDelete,
            };
            const result = await this.mocks.newResource(args);
            const state: Record<string, any> = { ...(result.state ?? {}) };
            for (const key of additionalSecretOutputs) {
                if (state[key] !== undefined) state[key] = wrapSecret(state[key]);
            }
            const serialized = await rpc.serializeProperties("", state);
            this.resources.set(urn, { urn, id: result.id ?? null, state: serialized });
            // The SDK fills inputs the monitor did not echo back, except during previews.
            const seen = this.preview ? state : { ...wireInputs, ...state };
            this.records.push({
                ...base, order: this.records.length,
                outputs: toPlain(seen), secretOutputs: secretKeys(seen),
            });
            const response = new resproto.RegisterResourceResponse();
            response.setUrn(urn);
            response.setId(result.id || "");
            response.setObject(structproto.Struct.fromJavaScript(serialized));
            callback(null, response);
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            this.failures.push({ urn, message });
            this.records.push({ ...base, order: this.records.length, outputs: {}, secretOutputs: [], error: message });
            callback(err, undefined);
        } finally {
            this.inFlight--;
        }
    }
}

function readPropertyDependencies(req: any): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const map = req.getPropertydependenciesMap();
    map.forEach((deps: any, key: string) => {
        out[key] = [...deps.getUrnsList()];
    });
    return out;
}
