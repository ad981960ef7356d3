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
