import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { VideoEncoder } from "@hrpipe/media";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.ts";

describe("hrpipe rppg on a video in which no frame shows a face", () => {
  let dir: string;
  let video: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-cli-"));
    video = path.join(dir, "noface.mp4");
    const encoder = new VideoEncoder(video, { width: 160, height: 120, fps: 25 });
    const frame = new Uint8Array(160 * 120 * 3);
    for (let k = 0; k < 75; k++) {
      for (let p = 0; p < frame.length; p++) frame[p] = (p * 7 + k * 13) % 256;
      await encoder.write(frame);
    }
    await encoder.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("says that no frame had a face instead of printing a mean of 0 bpm, and exits 1", async () => {
    const result = await runCli(["rppg", video, "--out", path.join(dir, "hr.json"), "--window", "2"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no heart rate: no frame of the video showed a face\./);
    expect(result.stdout).not.toMatch(/bpm/);
  }, 60_000);
});
