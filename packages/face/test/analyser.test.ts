import { probeVideo } from "@hrpipe/media";
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
