/**
 * Assets and archives as the engine hands them to a provider: the SDK sends the path (or text) and
 * the engine adds a content hash, which is what a diff compares (pulumi/pulumi
 * sdk/go/common/resource/asset, archive). The mock runtime gives the program's objects back
 * with Promise fields, so they are resolved here into plain `{ path, hash }` / `{ text, hash }`
 * data before planning. The hash here is a SHA-256 over sorted (relative name, bytes) pairs: not
 * the engine's bytes, but it changes exactly when a file name or content changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface PlainArchive { archive: true; path: string; hash: string }
export interface PlainAsset { asset: true; path?: string; text?: string; hash: string }

export function isPlainArchive(v: unknown): v is PlainArchive {
    return typeof v === "object" && v !== null && (v as PlainArchive).archive === true && typeof (v as PlainArchive).path === "string";
}

/** Content hash of a file or a directory tree (names relative to it, sorted). */
export function contentHash(p: string): string {
    const h = createHash("sha256");
    const walk = (dir: string, rel: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const full = path.join(dir, name), r = rel ? `${rel}/${name}` : name;
            if (fs.statSync(full).isDirectory()) walk(full, r);
            else h.update(`${r}\0`).update(fs.readFileSync(full)).update("\0");
        }
    };
    if (fs.statSync(p).isDirectory()) walk(p, "");
    else h.update(fs.readFileSync(p));
    return h.digest("hex");
}

/** Deep copy with every asset/archive object replaced by its plain form. */
export async function resolveAssets(value: unknown): Promise<any> {
    if (pulumi.asset.Archive.isInstance(value)) {
        const p = await (value as pulumi.asset.FileArchive).path;
        if (typeof p !== "string") throw new Error("mocks: only FileArchive archives are supported");
        return { archive: true, path: p, hash: contentHash(p) } satisfies PlainArchive;
    }
    if (pulumi.asset.Asset.isInstance(value)) {
        const a = value as any;
        if (a.path) { const p = await a.path; return { asset: true, path: p, hash: contentHash(p) } satisfies PlainAsset; }
        if (a.text) { const t = await a.text; return { asset: true, text: t, hash: createHash("sha256").update(t).digest("hex") } satisfies PlainAsset; }
        throw new Error("mocks: only FileAsset and StringAsset are supported");
    }
    if (Array.isArray(value)) return Promise.all((value as unknown[]).map(resolveAssets));
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = await resolveAssets(v);
        return out;
    }
    return value;
}
