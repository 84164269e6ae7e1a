/**
 * The program loads the way `pulumi up` loads it: Pulumi's vendored ts-node 7.0.1, this
 * project's TypeScript and tsconfig, type checking on (Pulumi.yaml `typescript: true`, no
 * `noCheck`). Runs in child processes because ts-node hooks `require` process-wide.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const pexec = promisify(execFile);
const REPO = resolve(__dirname, "..");
const CHILD = join(__dirname, "runtime-load", "load-like-pulumi.js");

interface LoadResult {
    ok: boolean;
    exportType?: string;
    name?: string;
    message?: string;
    codes?: number[];
    loadMs: number;
    typeCheck: boolean;
    tsnode: string;
    typescript: { version: string; path: string };
}

const scratch: string[] = [];
function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    scratch.push(dir);
    return dir;
}

async function loadLikePulumi(projectDir: string, entry: string): Promise<LoadResult> {
    // No inherited switches that would turn checking off; a cold ts-node cache so every file is
    // really compiled and checked (a cache hit would skip the check).
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith("TS_NODE_") && !k.startsWith("PULUMI_NODEJS_")) env[k] = v;
    }
    env.TS_NODE_CACHE_DIRECTORY = tempDir("kube-pki-tsnode-cache-");
    // Type-checking the whole program takes ~15 s on a quiet 2-core box and several times that while the
    // live project runs beside the unit one: the timeout only guards against a hang.
    const { stdout } = await pexec(process.execPath, [CHILD, projectDir, entry], { env, timeout: 180_000, maxBuffer: 8 * 2 ** 20 });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as LoadResult;
}

/** The project's sources and config in a temp dir, sharing node_modules; `program.ts` gets a type error. */
function brokenCopy(): string {
    const dir = tempDir("kube-pki-broken-");
    for (const f of ["src", "tsconfig.json", "package.json", "Pulumi.yaml"]) cpSync(join(REPO, f), join(dir, f), { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
    const program = join(dir, "src", "program.ts");
    // Deep in the import graph (main.ts → program.ts), so the check is not limited to the entry.
    writeFileSync(program, `${readFileSync(program, "utf8")}\nexport const deliberateTypeError: number = "not a number";\n`);
    return dir;
}

/**
 * The packages `npm ci --omit=dev` installs, read from package-lock.json as npm ci does (every
 * entry not flagged `dev`; `devOptional` ones stay because optional is not omitted).
 */
function productionPackages(): string[] {
    const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    // An optional package npm could not or would not install here (e.g. a native build) is absent in both installs.
    return Object.entries(lock.packages)
        .filter(([key, p]) => key.startsWith("node_modules/") && !p.dev && !(p.optional && !existsSync(join(REPO, key))))
        .map(([key]) => key);
}

/** Hard-links package dir `src` into `dst`, leaving out its nested node_modules (own lock entries). */
function linkPackage(src: string, dst: string): void {
    mkdirSync(dst, { recursive: true });
    for (const e of readdirSync(src, { withFileTypes: true })) {
        if (e.name === "node_modules") continue;
        const from = join(src, e.name);
        if (e.isDirectory()) linkPackage(from, join(dst, e.name));
        else if (e.isSymbolicLink()) cpSync(from, join(dst, e.name), { verbatimSymlinks: true });
        else linkSync(from, join(dst, e.name));
    }
}

/** The project as a production install would lay it out: sources plus only the production packages. */
function productionCopy(): string {
    const dir = tempDir("kube-pki-prod-");
    for (const f of ["src", "tsconfig.json", "package.json", "package-lock.json", "Pulumi.yaml"]) cpSync(join(REPO, f), join(dir, f), { recursive: true });
    for (const pkg of productionPackages()) linkPackage(join(REPO, pkg), join(dir, pkg));
    return dir;
}

describe("loading src/main.ts through Pulumi's TypeScript runtime", () => {
    const entry = (parse(readFileSync(join(REPO, "Pulumi.yaml"), "utf8")) as { main: string }).main;
    let real: LoadResult;
    let broken: LoadResult;

    beforeAll(async () => {
        [real, broken] = await Promise.all([loadLikePulumi(REPO, entry), loadLikePulumi(brokenCopy(), entry)]);
        console.log(`runtime load: ${entry} in ${real.loadMs} ms (type-checked), broken copy rejected in ${broken.loadMs} ms`);
    }, 200_000);
    afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });

    it("is the entry Pulumi.yaml names, loaded with the vendored ts-node and this project's TypeScript, type-checking", () => {
        expect(entry).toBe("src/main.ts");
        expect(real.tsnode).toBe(join("vendor", "ts-node@7.0.1", "index.js"));
        expect(real.typescript.path).toBe(require.resolve("typescript"));
        expect(real.typescript.version).toBe((require("typescript") as { version: string }).version);
        expect(real.typeCheck).toBe(true);
    });

    it("compiles without type or module errors and exports the program function", () => {
        expect(real.message).toBeUndefined();
        expect(real).toMatchObject({ ok: true, exportType: "function" });
    });

    it("rejects a copy with a deliberate type error deep in the import graph", () => {
        expect(broken.typeCheck).toBe(true);
        expect(broken.ok).toBe(false);
        expect(broken.name).toBe("TSError");
        expect(broken.codes).toContain(2322);
        expect(broken.message).toMatch(/src\/program\.ts.*Type 'string' is not assignable to type 'number'/s);
    });
});

describe("a production install (npm ci --omit=dev) runs the program", () => {
    afterAll(() => { for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true }); });

    it("ships TypeScript and the type packages ts-node's type check needs as dependencies", () => {
        const prod = productionPackages();
        for (const pkg of ["typescript", "@types/node", "@types/ssh2"]) expect(prod).toContain(`node_modules/${pkg}`);
        const deps = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies;
        expect(Object.keys(deps)).toEqual(expect.arrayContaining(["typescript", "@types/node", "@types/ssh2"]));
    });

    it("loads and type-checks src/main.ts with only the production packages", async () => {
        const dir = productionCopy();
        const r = await loadLikePulumi(dir, "src/main.ts");
        expect(r.message).toBeUndefined();
        expect(r).toMatchObject({ ok: true, exportType: "function", typeCheck: true });
        expect(r.typescript.path).toBe(join(dir, "node_modules", "typescript", "lib", "typescript.js"));
    }, 200_000);
});
