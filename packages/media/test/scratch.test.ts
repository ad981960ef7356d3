import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scratchDir, sweepStaleScratchDirs } from "../src/scratch.ts";

describe("scratch folders of killed workers", () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it("are swept at start when their owner is gone, while a live process's folders stay", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "hrpipe-sweep-test-root"));
    made.push(root);
    // A pid that surely no longer runs: a child that has exited.
    const deadPid = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    const stale = path.join(root, `hrpipe-face-${deadPid}-abc123`);
    const live = path.join(root, `hrpipe-frames-${process.pid}-def456`);
    const foreign = path.join(root, "someone-else-99999-x");
    for (const dir of [stale, live, foreign]) await mkdir(path.join(dir, "inner"), { recursive: true });
    expect(await sweepStaleScratchDirs(root)).toEqual([path.basename(stale)]);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
  });

  it("are named after the process that owns them", async () => {
    const dir = await scratchDir("face");
    made.push(dir);
    expect(path.basename(dir)).toMatch(new RegExp(`^hrpipe-face-${process.pid}-`));
  });
});
