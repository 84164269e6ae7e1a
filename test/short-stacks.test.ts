/** src/short-stacks.ts: the stack-trace limit is lowered only while declaring, and errors keep their text. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { withShortStacks } from "../src/short-stacks";

describe("withShortStacks", () => {
    afterEach(() => { vi.unstubAllEnvs(); });

    it("declares without stack frames and restores the limit afterwards", () => {
        const before = Error.stackTraceLimit;
        const seen = withShortStacks(() => ({ limit: Error.stackTraceLimit, stack: new Error("x").stack }));
        expect(seen).toEqual({ limit: 0, stack: "Error: x" });
        expect(Error.stackTraceLimit).toBe(before);
    });

    it("restores the limit when declaring throws, and the error keeps its message", () => {
        const before = Error.stackTraceLimit;
        const declare = () => withShortStacks(() => { throw new Error("kube-pki:nodes[2].name: \"Bad\" must be lowercase; rename it"); });
        expect(declare).toThrow("kube-pki:nodes[2].name: \"Bad\" must be lowercase; rename it");
        expect(Error.stackTraceLimit).toBe(before);
    });

    it("keeps full stacks when the SDK's promise-leak debugging is on", () => {
        vi.stubEnv("PULUMI_DEBUG_PROMISE_LEAKS", "1");
        const before = Error.stackTraceLimit;
        expect(withShortStacks(() => Error.stackTraceLimit)).toBe(before);
    });
});
