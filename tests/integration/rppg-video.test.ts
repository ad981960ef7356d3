import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { faceOptionsSchema } from "@hrpipe/contracts";
import { analyseVideo, FaceDetector, LandmarkDetector } from "@hrpipe/face";
import { type RppgMethod, rppgHeartRate, rppgMethods } from "@hrpipe/signal";
import { knownPulseVideoSpec, knownPulseVideos, renderFaceVideo } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Face videos whose skin is modulated by a pulse of known rate: 0.5% on green (de Haan's pulsatility
 * on R and B), H.264 at CRF 18, head motion of +/-8 px, 2% illumination drift, sensor noise, and a
 * heart rate swinging +/-5 bpm around 65, 90 and 115 bpm, on three different real faces; skin measured
 * over the landmark skin area, as by default.
 */

describe("rPPG on generated face videos with a known pulse", () => {
  let dir: string;
  const squaredErrors = Object.fromEntries(rppgMethods.map((method) => [method, [] as number[]])) as Record<
    RppgMethod,
    number[]
  >;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-rppg-"));
    const detector = await FaceDetector.create({ kind: "tiny", inputSize: 320 });
    const landmarks = await LandmarkDetector.create();
    for (const video of knownPulseVideos) {
      const file = path.join(dir, `${video.meanBpm}.mov`);
      const truth = await renderFaceVideo(knownPulseVideoSpec(video, 18, file));
      const { info, analysis: faces } = await analyseVideo(
        file,
        detector,
        faceOptionsSchema.parse({}),
        undefined,
        landmarks,
      );
      for (const method of rppgMethods) {
        for (const estimate of rppgHeartRate(method, faces.rgb, faces.faceFound, info.fps)) {
          expect(estimate.hrBpm, `${method} ${video.meanBpm} bpm window ${estimate.startS}s`).not.toBeNull();
          const frames = truth.hrBpm.slice(
            Math.round(estimate.startS * info.fps),
            Math.round(estimate.endS * info.fps),
          );
          const trueBpm = frames.reduce((sum, v) => sum + v, 0) / frames.length;
          squaredErrors[method].push((estimate.hrBpm! - trueBpm) ** 2);
        }
      }
    }
  }, 300_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const rmse = (method: RppgMethod) =>
    Math.sqrt(squaredErrors[method].reduce((s, v) => s + v, 0) / squaredErrors[method].length);

  it("POS: window RMSE <= 3 bpm against the known rate", () => {
    expect(squaredErrors.pos).toHaveLength(knownPulseVideos.length * 21);
    expect(rmse("pos")).toBeLessThanOrEqual(3);
  });

  it("CHROM: window RMSE <= 3 bpm against the known rate", () => {
    expect(rmse("chrom")).toBeLessThanOrEqual(3);
  });

  it.each(["omit", "lgi"] as const)("%s: window RMSE <= 3 bpm against the known rate", (method) => {
    expect(rmse(method)).toBeLessThanOrEqual(3);
  });

  it("GREEN is reported (no bound: it is known to suffer from motion)", () => {
    expect(squaredErrors.green).toHaveLength(knownPulseVideos.length * 21);
    expect(Number.isFinite(rmse("green"))).toBe(true);
  });
});
