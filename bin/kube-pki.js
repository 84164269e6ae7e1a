#!/usr/bin/env node
// Runs the TypeScript CLI without a build step: .ts files are transpiled on load with the
// project's own TypeScript (CommonJS, no type check; `npm run typecheck` does that).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");

const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    experimentalDecorators: true,
    sourceMap: false,
    inlineSourceMap: true,
};

require.extensions[".ts"] = function loadTs(module, filename) {
    const source = fs.readFileSync(filename, "utf8");
    const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
    module._compile(outputText, filename);
};

const { run } = require(path.join(__dirname, "..", "src", "cli", "main.ts"));
run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`kube-pki: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 3; },
);
