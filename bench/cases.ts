/** `--case <key>` of a bench with several cases: the keys to run (default: all, in order). */
export function chosenCases(argv: readonly string[], cases: Readonly<Record<string, unknown>>): string[] {
    const at = argv.indexOf("--case");
    if (at < 0) return Object.keys(cases);
    const value = argv[at + 1];
    if (!value || !(value in cases)) throw new Error(`--case: expected one of ${Object.keys(cases).join(", ")}, got ${value ?? "nothing"}; omit it to run both`);
    return [value];
}
