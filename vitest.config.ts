import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "apps/*/test/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "workers/*/test/**/*.test.ts",
      "tests/**/*.test.ts",
    ],
    globalSetup: ["tests/harness/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel two at a time; heavy suites mark themselves sequential.
    maxWorkers: 2,
  },
});
