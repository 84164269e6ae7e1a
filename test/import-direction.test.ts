/**
 * Imports flow config → pki → node → rollout → program (drift and cli beside them): a layer
 * never imports a layer after it. Scans the sources' import specifiers (static, `export … from`,
 * dynamic `import()`), resolved against the importing file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(__dirname, "../src");

/** Relative import specifiers of one source text. */
function importSpecifiers(text: string): string[] {
    const out: string[] = [];
    const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.[^"']*)["']/gm;
    for (const m of text.matchAll(re)) out.push(m[1]);
    return out;
}

/** The top-level part of src/ a specifier lands in ("node", "rollout", "program", "pki", …). */
function layerOf(fromFile: string, specifier: string): string {
    const rel = path.relative(SRC, path.resolve(path.dirname(fromFile), specifier));
    return rel.split(path.sep)[0].replace(/\.ts$/, "");
}

function sources(dir: string): string[] {
    return fs.readdirSync(path.join(SRC, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(SRC, dir, e.name)] : []);
}

/** Imports of `dir` that land in one of `later`, as "file → specifier". */
function violations(dir: string, later: readonly string[]): string[] {
    return sources(dir).flatMap((file) => importSpecifiers(fs.readFileSync(file, "utf8"))
        .filter((s) => later.includes(layerOf(file, s)))
        .map((s) => `${path.relative(SRC, file)} → ${s}`));
}

describe("import direction", () => {
    it("finds static, re-export and dynamic imports (the scan is not blind)", () => {
        const text = `import { a } from "../node/kit";\nimport type { B } from './plan';\nexport { c } from "../rollout/rollout";\n` +
            `const d = await import("../program");\nimport "./side-effect";\nimport * as x from "node:fs";\n`;
        expect(importSpecifiers(text)).toEqual(["../node/kit", "./plan", "../rollout/rollout", "../program", "./side-effect"]);
        const file = path.join(SRC, "pki", "x.ts");
        expect(importSpecifiers(text).map((s) => layerOf(file, s))).toEqual(["node", "pki", "rollout", "program", "pki"]);
        expect(violations("pki", ["pki"]).length).toBeGreaterThan(0);
    });

    it("src/pki imports nothing from node, rollout, program or cli", () => {
        expect(violations("pki", ["node", "rollout", "program", "cli"])).toEqual([]);
    });

    it("src/node imports nothing from rollout, program or cli", () => {
        expect(violations("node", ["rollout", "program", "cli"])).toEqual([]);
    });

    it("src/rollout imports nothing from program or cli", () => {
        expect(violations("rollout", ["program", "cli"])).toEqual([]);
    });
});
