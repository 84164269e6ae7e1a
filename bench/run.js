#!/usr/bin/env node
// Runs a drift bench (default bench/drift.ts) with the same transpile-on-load hook as
// bin/kube-pki.js. The simulator's index re-exports its vitest helpers (describeLive), and
// vitest refuses to load outside its runner, so a bench gets an inert stand-in for it.
//   node bench/run.js [bench.ts] [args]
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const ts = require("typescript");

const STUB = "kube-pki:vitest-stub";
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
    return request === "vitest" ? STUB : resolve.call(this, request, ...rest);
};
const unavailable = () => { throw new Error("vitest is not available in a bench"); };
require.cache[STUB] = { id: STUB, filename: STUB, loaded: true, exports: { describe: unavailable, it: unavailable } };

require.extensions[".ts"] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"),
        { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
    module._compile(outputText, filename);
};
const args = process.argv.slice(2);
const file = args[0] && args[0].endsWith(".ts") ? path.resolve(args.shift()) : path.join(__dirname, "drift.ts");
process.argv = [process.argv[0], file, ...args];
require(file);
