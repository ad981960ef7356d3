import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type FaceVideoSpec, renderFaceVideo } from "./face-video.ts";
import { heartTrajectory } from "./pulse.ts";

const cacheDir = path.join(tmpdir(), "hrpipe-test-videos");

export type CachedVideoSpec = Omit<FaceVideoSpec, "out" | "heart"> & { meanBpm: number };

/** The defaults of a test or benchmark face video: 720p, 25 fps, a real face moving slowly, a 0.6% pulse. */
export function faceVideoSpec(overrides: Partial<CachedVideoSpec> = {}): CachedVideoSpec {
  return {
    width: 1280,
    height: 720,
    fps: 25,
    durationS: 10,
    portrait: { photo: 6, face: 0 },
    meanBpm: 72,
    pulseAmplitude: 0.006,
    motionPx: 25,
    illuminationDrift: 0.04,
    noiseLevel: 2,
    seed: 3,
    ...overrides,
  };
}

/**
 * Renders a synthetic face video once per spec and machine (cached in the temp folder; rendering a
 * 30-s 720p video takes ~15 s here) and returns its path.
 */
export async function cachedFaceVideo(spec: CachedVideoSpec): Promise<string> {
  const id = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, `${id}.mov`);
  if (existsSync(file)) return file;
  await mkdir(cacheDir, { recursive: true });
  const partial = path.join(cacheDir, `${id}.${process.pid}.partial.mov`);
  const { meanBpm, ...rest } = spec;
  await renderFaceVideo({
    ...rest,
    out: partial,
    heart: heartTrajectory({ meanBpm, swingBpm: 6, swingPeriodS: 40, phase: 0 }),
  });
  await rename(partial, file);
  return file;
}

/**
 * The rPPG accuracy videos of the tests and benchmarks: three real faces, heart rates around 65, 90
 * and 115 bpm (each swinging +/-5 bpm), a 0.5% pulse on green, +/-8 px head motion, 2% illumination
 * drift, sensor noise, 30 s of 640x360 H.264 at the given CRF.
 */
export const knownPulseVideos = [
  { meanBpm: 65, photo: 6 },
  { meanBpm: 90, photo: 3 },
  { meanBpm: 115, photo: 2 },
] as const;

export function knownPulseVideoSpec(
  video: (typeof knownPulseVideos)[number],
  crf: number,
  out: string,
): FaceVideoSpec {
  return {
    out,
    width: 640,
    height: 360,
    fps: 25,
    durationS: 30,
    portrait: { photo: video.photo, face: 0 },
    heart: heartTrajectory({ meanBpm: video.meanBpm, swingBpm: 5, swingPeriodS: 30, phase: 1 }),
    pulseAmplitude: 0.005,
    motionPx: 8,
    illuminationDrift: 0.02,
    noiseLevel: 2,
    seed: video.meanBpm,
    crf,
  };
}
