// Child process for test/runtime-load.test.ts: registers TypeScript exactly as Pulumi's
// nodejs runtime does (@pulumi/pulumi/cmd/run/run.js, CommonJS branch), then requires the
// program entry. Prints one JSON line: what was loaded and how, or the load error.
//   node load-like-pulumi.js <projectDir> <entry relative to projectDir>
// Plain JS on purpose: it must not depend on the loader it is testing.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [projectDir, entry] = process.argv.slice(2);
// Pulumi runs the program with the project root as cwd (its --pwd); ts-node reads cwd.
process.chdir(projectDir);
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [projectDir] }));
const tsutils = require(path.join(pulumiDir, "tsutils"));
const semver = require(require.resolve("semver", { paths: [pulumiDir] }));

// From here to `register`, the same steps and options as run.js (3.248).
const defaultTsConfigPath = "tsconfig.json";
const tsConfigPath = process.env.PULUMI_NODEJS_TSCONFIG_PATH ?? defaultTsConfigPath;
const skipProject = !fs.existsSync(tsConfigPath);
const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
let transpileOnly;
const transpileOnlyEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
if (transpileOnlyEnv) transpileOnly = transpileOnlyEnv === "true";
else transpileOnly = compilerOptions.noCheck;
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const ts = require(require.resolve(typescriptRequire, { paths: [pulumiDir] }));
const tsVersion = semver.parse(ts.version);
const useNodeNext = tsVersion && tsVersion.compare(new semver.SemVer("4.7.0")) >= 0;
const options = {
    compiler: typescriptRequire,
    transpileOnly,
    project: tsConfigPath,
    skipProject,
    compilerOptions: {
        target: "ES2020",
        module: useNodeNext ? "nodenext" : "commonjs",
        moduleResolution: useNodeNext ? "nodenext" : "node",
        sourceMap: "true",
        ...compilerOptions,
    },
};
const service = require(tsnodeRequire).register(options);

const t0 = Date.now();
let result;
try {
    const exported = require(path.resolve(entry));
    result = { ok: true, exportType: typeof exported };
} catch (err) {
    result = { ok: false, name: err && err.name, message: String(err && err.message), codes: err && err.diagnosticCodes };
}
const loadMs = Date.now() - t0;
// ts-node answers type queries only when it type-checks; that is how we know it does.
const entryFile = path.resolve(entry);
let typeCheck = true;
try { service.getTypeInfo(fs.readFileSync(entryFile, "utf8"), entryFile, 0); } catch { typeCheck = false; }
process.stdout.write(`${JSON.stringify({
    ...result,
    loadMs,
    typeCheck,
    tsnode: path.relative(pulumiDir, require.resolve(tsnodeRequire)),
    typescript: { version: ts.version, path: require.resolve(typescriptRequire, { paths: [pulumiDir] }) },
})}\n`);
