import { decodeTracesShard } from "@hrpipe/contracts";
import type { Storage } from "./storage/index.ts";

/** A video's skin-colour trace over every segment, as the rPPG methods read it. */
export interface VideoTraces {
  /** Mean skin colour per frame [frames, 3]; NaN where no face was found. */
  rgb: Float32Array;
  faceFound: Uint8Array;
  /** Frame index of the first row: row i is frame firstFrame + i, at (firstFrame + i) / fps s. */
  firstFrame: number;
}

/**
 * Joins a video's trace shards in frame order. A segment that was excluded (no face, failed) leaves
 * a hole, filled with "no face" so that no window spans it as if the frames were adjacent.
 */
export async function loadVideoTraces(
  storage: Storage,
  video: { fps: number; segments: { tracesKey: string }[] },
): Promise<VideoTraces> {
  const rgb: number[] = [];
  const faceFound: number[] = [];
  let firstFrame = -1;
  let expectedNext = -1;
  for (const segment of video.segments) {
    const traces = decodeTracesShard(await storage.get(segment.tracesKey), segment.tracesKey);
    const start = Math.round(traces.timeS[0]! * video.fps);
    if (firstFrame < 0) firstFrame = start;
    for (let missing = expectedNext; missing >= 0 && missing < start; missing++) {
      rgb.push(Number.NaN, Number.NaN, Number.NaN);
      faceFound.push(0);
    }
    for (let i = 0; i < traces.faceFound.length; i++) {
      rgb.push(traces.rgb[i * 3]!, traces.rgb[i * 3 + 1]!, traces.rgb[i * 3 + 2]!);
      faceFound.push(traces.faceFound[i]!);
    }
    expectedNext = start + traces.faceFound.length;
  }
  return {
    rgb: Float32Array.from(rgb),
    faceFound: Uint8Array.from(faceFound),
    firstFrame: Math.max(0, firstFrame),
  };
}
