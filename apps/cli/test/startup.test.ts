import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const appDir = path.resolve(import.meta.dirname, "..");
const queueMachinery = ["bullmq", "ioredis", "@aws-sdk", "prom-client", "pino", "@opentelemetry"];

/** Which of the queue machinery's packages a fresh process loaded after running `script`. */
function loadedAfter(script: string): string[] {
  const report =
    "const { createRequire } = await import('node:module');" +
    "const files = Object.keys(createRequire(import.meta.url).cache);" +
    `console.log(JSON.stringify(${JSON.stringify(queueMachinery)}.filter((name) => files.some((file) => file.includes('/node_modules/' + name)))));`;
  const printed = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `${script} ${report}`],
    {
      cwd: appDir,
      encoding: "utf8",
    },
  );
  return JSON.parse(printed.trim().split("\n").at(-1)!) as string[];
}

describe("hrpipe rppg on one video", () => {
  it("loads none of the queue machinery (BullMQ, the AWS SDK, pino, prom-client, OpenTelemetry: about 0.7 CPU-s)", () => {
    expect(loadedAfter("await import('./src/commands/rppg.ts');")).toEqual([]);
    // The check itself sees them once something does load them: the pipeline a folder runs.
    expect(loadedAfter("await import('./src/commands/rppg-folder.ts');")).toEqual(
      expect.arrayContaining(["bullmq", "ioredis", "pino"]),
    );
  }, 60_000);
});
