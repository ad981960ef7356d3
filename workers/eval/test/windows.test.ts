import { describe, expect, it } from "vitest";
import { compareWindows, protocolMetrics, type TestVideo } from "../src/evaluate.ts";

/** 30 s of skin colour pulsing at 72 bpm, a face in every frame, labelled 72 bpm throughout. */
function pulsingVideo(fps = 25, seconds = 30): TestVideo {
  const frames = fps * seconds;
  const rgb = new Float32Array(frames * 3);
  for (let i = 0; i < frames; i++) {
    const pulse = Math.sin(2 * Math.PI * 1.2 * (i / fps));
    rgb.set([120 + 0.5 * pulse, 90 + 1.5 * pulse, 80 + 0.4 * pulse], i * 3);
  }
  return {
    participant: "P01",
    videoId: "4",
    fps,
    labels: { hrBpm: Array.from({ length: frames }, () => 72), fps },
    rgb,
    faceFound: new Uint8Array(frames).fill(1),
    firstFrame: 0,
  };
}

describe("compareWindows", () => {
  const video = pulsingVideo();
  const options = { windowS: 10, strideS: 5 };

  it("scores the CNN on windows where half its possible predictions exist", () => {
    const every = Array.from({ length: 750 }, (_, i) => i);
    const all = compareWindows(video, { frameIndex: every, predictedBpm: every.map(() => 70) }, options);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((w) => w.estimates.cnn === 70 && w.referenceBpm === 72)).toBe(true);
    // Predictions for every third frame only, as if every frame had one: under half, so no window.
    const half = every.filter((i) => i % 3 === 0);
    expect(compareWindows(video, { frameIndex: half, predictedBpm: half.map(() => 70) }, options)).toEqual(
      [],
    );
  });

  it("counts coverage at the features' frame rate when frames were subsampled (--features-fps)", () => {
    const fiveFps = Array.from({ length: 150 }, (_, i) => i * 5);
    const windows = compareWindows(
      video,
      { frameIndex: fiveFps, predictedBpm: fiveFps.map(() => 70), fps: 5 },
      options,
    );
    const every = Array.from({ length: 750 }, (_, i) => i);
    expect(windows.map((w) => [w.startS, w.endS])).toEqual(
      compareWindows(video, { frameIndex: every, predictedBpm: every.map(() => 70) }, options).map((w) => [
        w.startS,
        w.endS,
      ]),
    );
  });

  it("scores the rPPG methods alone on the same windows when the run has no CNN (--cnn none)", () => {
    const every = Array.from({ length: 750 }, (_, i) => i);
    const withCnn = compareWindows(video, { frameIndex: every, predictedBpm: every.map(() => 70) }, options);
    const without = compareWindows(video, null, options);
    expect(without.map((w) => [w.startS, w.endS])).toEqual(withCnn.map((w) => [w.startS, w.endS]));
    expect(without.every((w) => !("cnn" in w.estimates) && Math.abs(w.estimates.pos! - 72) < 2)).toBe(true);
    const metrics = protocolMetrics(null, without);
    expect(metrics.headline.cnnFrames).toBeNull();
    expect(metrics.overall.frames).toBeNull();
    expect(Object.keys(metrics.overall.windows)).not.toContain("cnn");
    expect(metrics.overall.windows.pos!.n).toBe(without.length);
    expect(metrics.participants.map((p) => p.participant)).toEqual(["P01"]);
  });
});
