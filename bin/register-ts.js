// Loads .ts files without a build step: each is transpiled on require with the project's own
// TypeScript (CommonJS, no type check; `npm run typecheck` does that). Used by the CLI and benches.
"use strict";
const fs = require("node:fs");
const ts = require("typescript");

const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    experimentalDecorators: true,
    inlineSourceMap: true,
};

require.extensions[".ts"] = function loadTs(module, filename) {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), { compilerOptions, fileName: filename });
    module._compile(outputText, filename);
};
