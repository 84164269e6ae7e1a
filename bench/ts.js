#!/usr/bin/env node
// Runs a TypeScript bench without a build step: `node bench/ts.js bench/rotation.ts [args]`.
// Same transpile-on-load hook as bin/kube-pki.js (CommonJS, no type check).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");
require.extensions[".ts"] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true },
        fileName: filename,
    });
    module._compile(outputText, filename);
};
const [file, ...args] = process.argv.slice(2);
if (!file) { console.error("usage: node bench/ts.js <bench file.ts> [args]"); process.exit(2); }
process.argv = [process.argv[0], path.resolve(file), ...args];
require(path.resolve(file));
