import { defineConfig } from "vitest/config";

/**
 * Three layers. unit: pure code, no Redis, ffmpeg or network (`pnpm test:unit`, well under a minute).
 * integration: real Redis and S3 servers (started once by the harness), ffmpeg, tfjs; files named
 * *.int.test.ts beside a package's code, and tests/integration and tests/cli. e2e: whole runs with
 * worker processes, the dashboard in Chromium, and the infra runner.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel two at a time; heavy suites mark themselves sequential.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["{apps,packages,workers}/*/test/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: [
            "{apps,packages,workers}/*/test/**/*.int.test.ts",
            "tests/integration/**/*.test.ts",
            "tests/cli/**/*.test.ts",
          ],
          globalSetup: ["tests/harness/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts", "tests/infra/**/*.test.ts"],
          exclude: ["tests/e2e/run-folder.test.ts", "tests/e2e/redis-faults.test.ts", "**/node_modules/**"],
          globalSetup: ["tests/harness/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          // Runs on a private Redis of their own (`hrpipe run` trains a CNN in its own process; the
          // Redis-fault run kills and pauses its server): after every other suite, not beside the
          // e2e runs whose time limits assume the two cores are theirs.
          name: "e2e-local",
          include: ["tests/e2e/run-folder.test.ts", "tests/e2e/redis-faults.test.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
