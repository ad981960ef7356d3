import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.ts";

const video = path.resolve(repoRoot, "../shared/data/ubfc-rppg-dev/subject3/vid.mp4");
/** rPPG-Toolbox's whole-video reference for this video (../shared/fixtures/rppg-toolbox-neural/index.json). */
const referenceHrBpm = 88.8;

interface LiveLine {
  tS: number;
  hrBpm: number | null;
  confidence: number | null;
  lowQuality: boolean;
  method: string;
  latencyS: number;
}

describe.skipIf(!existsSync(video))("hrpipe live", () => {
  it("plays a real face video in real time: an estimate a second after the first window, near the reference, soon after each frame; SIGINT ends it with a summary", async () => {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, "apps/cli/bin/hrpipe.js"), "live", video, "--realtime"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const closed = new Promise<number | null>((resolve) => child.once("close", (exit) => resolve(exit)));
    const started = performance.now();
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const lines: LiveLine[] = [];
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const complete = stdout.split("\n").slice(0, -1);
        lines.splice(0, lines.length, ...complete.map((line) => JSON.parse(line) as LiveLine));
        if (lines.length >= 4) resolve();
      });
      void closed.then(() => resolve());
    });
    const elapsedS = (performance.now() - started) / 1000;
    child.kill("SIGINT");
    const code = await closed;
    expect(code, stderr).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    // Real time: the 4th estimate (13 s of video) cannot come before 13 s have passed.
    expect(elapsedS).toBeGreaterThan(12.5);
    expect(lines.map((l) => l.tS).slice(0, 4)).toEqual([10, 11, 12, 13]);
    for (const line of lines) {
      expect(line.method).toBe("pos");
      expect(line.latencyS).toBeGreaterThanOrEqual(0);
      expect(line.latencyS).toBeLessThan(1.5);
    }
    const rates = lines.flatMap((l) => (l.hrBpm === null ? [] : [l.hrBpm])).sort((a, b) => a - b);
    expect(Math.abs(rates[rates.length >> 1]! - referenceHrBpm)).toBeLessThan(5);
    expect(stderr).toMatch(
      /live: .*vid\.mp4: \d+ estimates over .* median latency .* a face in 100% of \d+ frames \(stopped\)/,
    );
  }, 60_000);

  it("ends with a message naming a source that cannot be read, and exit code 1", async () => {
    const result = await runCli(["live", path.join(repoRoot, "no such camera.mp4")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /no such camera\.mp4: ffmpeg stopped with exit code 1 .*check the device, URL or file/,
    );
    expect(result.stdout).toBe("");
  }, 30_000);
});
