import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { runCli } from "./run-cli.ts";

interface DoctorReport {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

describe("hrpipe doctor", () => {
  let dir: string;
  let services: TestServices;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-doctor-"));
    services = await createTestServices("doctor");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await services.cleanup();
  });

  it("prints one JSON object with every check and exits 0 against working services", async () => {
    const result = await runCli(["doctor", "--json"], {
      REDIS_URL: services.redisUrl,
      STORAGE_URL: `file://${dir}`,
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      "config",
      "redis",
      "storage",
      "ffmpeg",
      "ffprobe",
      "video-io",
      "onnxruntime",
      "tfjs",
      "face-models",
    ]);
    for (const check of report.checks) {
      expect(check).toEqual({
        name: expect.any(String),
        ok: true,
        required: true,
        detail: expect.any(String),
      });
    }
    expect(report.checks.find((c) => c.name === "redis")!.detail).toMatch(/^Redis \d+\.\d+.* noeviction$/);
  });

  it("probes S3 storage through the same code path", async () => {
    const result = await runCli(["doctor", "--json"], services.env);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.checks.find((c) => c.name === "storage")).toMatchObject({
      ok: true,
      detail: expect.stringContaining(`s3://${services.bucket}/hrpipe`),
    });
  });

  it("exits non-zero and says so when Redis is not reachable", async () => {
    const closedPort = await freePort();
    const result = await runCli(["doctor", "--json"], {
      REDIS_URL: `redis://127.0.0.1:${closedPort}`,
      STORAGE_URL: `file://${dir}`,
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === "redis")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        new RegExp(`Redis at redis://127.0.0.1:${closedPort} did not answer \\(.*ECONNREFUSED`),
      ),
    });
  });

  it("names a malformed setting in one sentence as a table row", async () => {
    const result = await runCli(["doctor"], { REDIS_URL: "localhost", STORAGE_URL: `file://${dir}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /config\s+FAIL\s+REDIS_URL \(not shown: it may hold a credential\) is not valid/,
    );
  });

  it("has --help and --version", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: hrpipe/);
    expect(help.stdout).toMatch(/doctor/);
    const version = await runCli(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
