import { existsSync, readdirSync, readFileSync } from "node:fs";
import { launcher, probeVideo } from "@hrpipe/media";
import { cachedFaceVideo, faceVideoSpec } from "@hrpipe/synth";
import { afterAll, describe, expect, it } from "vitest";
import {
  FaceAnalysisThreads,
  LocalFaceAnalyser,
  type WindowAnalysis,
  type WindowAnalysisOptions,
} from "../src/analyser.ts";

/** The face stage's defaults (FaceOptions). */
const options: WindowAnalysisOptions = {
  skinArea: "landmarks",
  detector: "tiny",
  inputSize: 320,
  detectEvery: 8,
  landmarkEvery: 2,
  cropSize: 128,
};

describe("FaceAnalysisThreads", () => {
  const threads = new FaceAnalysisThreads(2);
  afterAll(() => threads.close());

  it("gives what the analysis on this thread gives, for two windows at once, with progress", async () => {
    const file = await cachedFaceVideo(faceVideoSpec({ durationS: 10 }));
    const info = await probeVideo(file);
    const task = (firstFrame: number): WindowAnalysis => ({
      file,
      window: { firstFrame, frameCount: 40, fps: info.fps, width: info.width, height: info.height },
      options,
    });
    const progress: number[] = [];
    const [first, second] = await Promise.all([
      threads.analyse(task(0), (done) => progress.push(done)),
      threads.analyse(task(100)),
    ]);
    const local = new LocalFaceAnalyser();
    for (const [analysis, firstFrame] of [
      [first!, 0],
      [second!, 100],
    ] as const) {
      const expected = await local.analyse(task(firstFrame));
      expect(analysis.frameIndex.length).toBeGreaterThan(30);
      expect(Array.from(analysis.rgb)).toEqual(Array.from(expected.rgb));
      expect(Array.from(analysis.frameIndex)).toEqual(Array.from(expected.frameIndex));
      expect(Buffer.from(analysis.images).equals(Buffer.from(expected.images))).toBe(true);
    }
    expect(progress).toEqual([25, 40]);
  }, 60_000);

  it("fails a window it cannot decode with ffmpeg's reason, and takes the next one", async () => {
    const window = { firstFrame: 0, frameCount: 10, fps: 25, width: 320, height: 240 };
    await expect(threads.analyse({ file: "/nonexistent/video.mkv", window, options })).rejects.toThrow(
      /nonexistent\/video\.mkv/,
    );
    const file = await cachedFaceVideo(faceVideoSpec({ durationS: 10 }));
    const info = await probeVideo(file);
    const analysis = await threads.analyse({
      file,
      window: { ...window, fps: info.fps, width: info.width, height: info.height },
      options,
    });
    expect(analysis.faceFound.length).toBe(10);
  }, 60_000);
});

/** This process's children running the process launcher's helper, by /proc (Linux). */
function launcherHelpers(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return (
          parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("launcher-main")
        );
      } catch {
        return false; // ended while listed
      }
    })
    .map(Number)
    .filter((pid) => pid !== launcher.helperPid);
}

describe.skipIf(!existsSync("/proc/self/stat"))("FaceAnalysisThreads closing", () => {
  it("ends the helpers that started the threads' ffmpeg and waits for them (none left, not even as zombies)", async () => {
    const threads = new FaceAnalysisThreads(1);
    const file = await cachedFaceVideo(faceVideoSpec({ durationS: 10 }));
    const info = await probeVideo(file);
    const window = { firstFrame: 0, frameCount: 5, fps: info.fps, width: info.width, height: info.height };
    await threads.analyse({ file, window, options });
    const helpers = launcherHelpers();
    expect(helpers).toHaveLength(1);
    await threads.close();
    expect(helpers.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  }, 60_000);
});
