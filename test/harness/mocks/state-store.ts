/**
 * The executing mocks' "Pulumi state": per URN the inputs a resource was last deployed with and
 * the state it returned. Lives in memory, optionally persisted to a JSON file (mode 0600: it
 * holds private keys, just as a real stack's state holds them encrypted).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type Operation = "create" | "update" | "replace" | "same" | "delete" | "failed";

export interface StoredResource {
    type: string;
    id: string;
    /** Plain inputs (secrets unwrapped) used to decide create/update/replace/same. */
    inputs: Record<string, any>;
    /** State as returned to the runtime, secret wrappers kept. */
    state: Record<string, any>;
    /** The `protect` option it was last deployed with (the engine refuses to replace or delete it). */
    protect?: boolean;
    /** The `retainOnDelete` option it was last deployed with (the engine skips the provider's delete). */
    retainOnDelete?: boolean;
}

export interface ExecutionEvent {
    urn: string;
    /** Which command ran: the resource's create/update/delete script, or tls generation. */
    action: "create" | "update" | "delete" | "generate";
    startedAt: number;
    finishedAt: number;
    ok: boolean;
}

export interface RunReport {
    preview: boolean;
    /** What happened (or, in a preview, would happen) to each resource. */
    operations: Record<string, Operation>;
    created: string[];
    updated: string[];
    replaced: string[];
    unchanged: string[];
    deleted: string[];
    failed: string[];
    /** Every command run / key or cert generated during the run, with timestamps (ms). */
    executions: ExecutionEvent[];
}

export function emptyReport(preview: boolean): RunReport {
    return { preview, operations: {}, created: [], updated: [], replaced: [], unchanged: [], deleted: [], failed: [], executions: [] };
}

export class MockStateStore {
    private resources = new Map<string, StoredResource>();
    /** Report of the latest runProgram call that used this store. */
    lastRun: RunReport = emptyReport(false);

    /** @param file optional JSON file to load from and save to. */
    constructor(readonly file?: string) {
        if (file && fs.existsSync(file)) {
            const data = JSON.parse(fs.readFileSync(file, "utf8")) as { resources: Record<string, StoredResource> };
            this.resources = new Map(Object.entries(data.resources));
        }
    }

    get(urn: string): StoredResource | undefined {
        return this.resources.get(urn);
    }

    put(urn: string, entry: StoredResource): void {
        this.resources.set(urn, entry);
    }

    delete(urn: string): void {
        this.resources.delete(urn);
    }

    urns(): string[] {
        return [...this.resources.keys()];
    }

    /** Writes the file atomically (no-op for an in-memory store). */
    save(): void {
        if (!this.file) return;
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify({ resources: Object.fromEntries(this.resources) }, null, 1), { mode: 0o600 });
        fs.renameSync(tmp, this.file);
    }
}
