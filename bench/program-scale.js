#!/usr/bin/env node
// Runs bench/program-scale.ts without a build step (same transpile-on-load hook as
// bin/kube-pki.js: CommonJS, no type check; `npm run typecheck` covers bench/ too).
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
require(path.join(__dirname, "program-scale.ts"));
