#!/usr/bin/env node
// Runs a bench (default bench/drift.ts; e.g. `node bench/run.js bench/rotation.ts`) with the same transpile-on-load hook as
// bin/kube-pki.js. The simulator's index re-exports its vitest helpers (describeLive), and
// vitest refuses to load outside its runner, so a bench gets an inert stand-in for it.
//   node bench/run.js [bench.ts] [args]
"use strict";
const path = require("node:path");
const Module = require("node:module");

const STUB = "kube-pki:vitest-stub";
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
    return request === "vitest" ? STUB : resolve.call(this, request, ...rest);
};
const unavailable = () => { throw new Error("vitest is not available in a bench"); };
require.cache[STUB] = { id: STUB, filename: STUB, loaded: true, exports: { describe: unavailable, it: unavailable } };

require("../bin/register-ts");
const args = process.argv.slice(2);
const file = args[0] && args[0].endsWith(".ts") ? path.resolve(args.shift()) : path.join(__dirname, "drift.ts");
process.argv = [process.argv[0], file, ...args];
require(file);
