#!/usr/bin/env node
// Runs the TypeScript CLI without a build step (see register-ts.js).
"use strict";
const path = require("node:path");
require("./register-ts");

const { run } = require(path.join(__dirname, "..", "src", "cli", "main.ts"));
run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`kube-pki: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 3; },
);
