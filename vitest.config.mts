import { defineConfig } from "vitest/config";

// Two projects: `unit` (mock runtime, pure logic; runs anywhere) and `live` (the simulated
// cluster under test/harness; needs root + Debian packages, skips with a reason otherwise,
// fails instead of skipping under KUBE_PKI_REQUIRE_SIM=1). One `vitest run` runs the projects one
// after the other; `npm test` (test/run-suite.sh) runs them side by side, one vitest run each.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.live.test.ts", "node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "live",
          include: ["test/**/*.live.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Simulated nodes share one bridge and fixed ports; run live files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
