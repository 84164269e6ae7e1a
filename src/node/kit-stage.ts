/**
 * A directory holding exactly the kit's files, named by the kit id, for `remote.CopyToRemote`
 * (a FileArchive of a directory: the engine stores its hash and path, never the text) and for the
 * local transport's copy. src/scripts itself cannot be shipped: inventory.sh lives there too.
 * Written once per id into a per-user cache folder, atomically; an existing folder is re-checked.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Kit } from "./kit";

/** The per-user cache folder (KUBE_PKI_KIT_CACHE overrides it). */
export function kitCacheDir(): string {
    if (process.env.KUBE_PKI_KIT_CACHE) return path.resolve(process.env.KUBE_PKI_KIT_CACHE);
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(cache, "kube-pki", "kit");
}

function holdsKit(dir: string, kit: Kit): boolean {
    try {
        const names = fs.readdirSync(dir).sort();
        const wanted = [...kit.files.map((f) => f.name), "MANIFEST"].sort();
        if (names.join("\n") !== wanted.join("\n")) return false;
        if (fs.readFileSync(path.join(dir, "MANIFEST"), "utf8") !== kit.manifest) return false;
        return kit.files.every((f) => createHash("sha256").update(fs.readFileSync(path.join(dir, f.name))).digest("hex") === f.sha256);
    } catch {
        return false;
    }
}

/** Path of `<cache>/<kit id>` holding the kit's files and MANIFEST (created when needed). */
export function stageKit(kit: Kit, cacheDir: string = kitCacheDir()): string {
    const dir = path.join(cacheDir, kit.id);
    if (holdsKit(dir, kit)) return dir;
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = fs.mkdtempSync(path.join(cacheDir, `.${kit.id.slice(0, 12)}-`));
    for (const f of kit.files) fs.writeFileSync(path.join(tmp, f.name), f.content, { mode: 0o700 });
    fs.writeFileSync(path.join(tmp, "MANIFEST"), kit.manifest, { mode: 0o600 });
    fs.chmodSync(tmp, 0o700);
    // A folder of the same id with other content (edited by hand): replaced by the checked one.
    fs.rmSync(dir, { recursive: true, force: true });
    try {
        fs.renameSync(tmp, dir);
    } catch (err) {
        // Another process staged the same id at the same moment.
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!holdsKit(dir, kit)) throw err;
    }
    return dir;
}
