/**
 * Declares resources with `Error.stackTraceLimit = 0`, then restores it.
 *
 * Why: for every output property of every resource, the Pulumi SDK formats a stack trace
 * (runtime/debuggable.js debuggablePromise: `new Error().stack`) that is only printed by its
 * leaked-promise report. At 3 masters + 500 workers that was about half the program's CPU time,
 * counting the garbage collection of those strings (bench/program-scale). Resources' source
 * positions are unaffected (the SDK lifts the limit itself for those). An error thrown while
 * declaring keeps its message and loses its frames; config is parsed before this.
 * PULUMI_DEBUG_PROMISE_LEAKS=1 (the SDK's switch to print those traces) keeps the full stacks.
 */
export function withShortStacks<T>(declare: () => T): T {
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return declare();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return declare();
    } finally {
        Error.stackTraceLimit = limit;
    }
}
