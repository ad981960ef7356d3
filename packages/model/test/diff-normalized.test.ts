import { describe, expect, it } from "vitest";
import { videoClips } from "../src/neural.ts";

/** 1x1-pixel crops (3 channels) of the given grey levels, one per frame. */
const crops = (levels: number[]) => Uint8Array.from(levels.flatMap((v) => [v, v, v]));

/** The whole sequence as one clip, channel planes [3, frames]. */
const diffNormalized = (crops: Uint8Array, frames: number, size: number, cuts: number[] = []) => {
  const out = new Float32Array(3 * frames * size * size);
  videoClips(crops, frames, { frames, size, normalisation: "diff-normalized" }, cuts)([0], out);
  return out;
};

describe("DiffNormalized over a sequence with cuts", () => {
  it("zeroes the difference into a cut and leaves it out of the standard deviation", () => {
    // A slow pulse, then a new face box at frame 4 (a jump of 60 grey levels), then the pulse again.
    const levels = [100, 102, 100, 102, 160, 162, 160, 162];
    const plain = diffNormalized(crops(levels), levels.length, 1);
    const cut = diffNormalized(crops(levels), levels.length, 1, [4]);
    // The difference into frame 4 (stored at frame 3, in each channel's plane of 8 frames) is gone...
    expect([cut[3], cut[11], cut[19]]).toEqual([0, 0, 0]);
    // ...and the pulse's differences keep their signs, scaled by their own spread, not the jump's.
    const raw = (a: number, b: number) => (b - a) / (b + a + 1e-7);
    expect(Math.sign(cut[0]!)).toBe(Math.sign(raw(100, 102)));
    expect(Math.abs(cut[0]!)).toBeGreaterThan(Math.abs(plain[0]!) * 3);
    expect(Math.abs(plain[3]!)).toBeGreaterThan(Math.abs(plain[0]!) * 5);
    // The last frame has no next one either way.
    expect([cut[7], cut[15], cut[23]]).toEqual([0, 0, 0]);
  });
});
