#!/usr/bin/env node
// Runs bench/program-scale.ts without a build step (same transpile-on-load hook as
// bin/kube-pki.js: CommonJS, no type check; `npm run typecheck` covers bench/ too).
"use strict";
const path = require("node:path");
require("../bin/register-ts");
require(path.join(__dirname, "program-scale.ts"));
