// Loads bench/drift.ts with the same transpile-on-load hook as bin/kube-pki.js.
"use strict";
const fs = require("node:fs");
const ts = require("typescript");
require.extensions[".ts"] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"),
        { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
    module._compile(outputText, filename);
};
require("./drift.ts");
