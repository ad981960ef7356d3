import { describe, expect, it } from "vitest";
import { frameMean } from "../src/image.ts";
import { Nv12Picture, RgbPicture } from "../src/picture.ts";

/** An NV12 frame of seeded noise, luma and chroma each within [from, from + span). */
function noiseNv12(width: number, height: number, seed: number, from = 16, span = 220): Uint8Array {
  const chroma = 2 * ((width + 1) >> 1) * ((height + 1) >> 1);
  let state = seed;
  return Uint8Array.from({ length: width * height + chroma }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return from + (state % span);
  });
}

/** BT.601 video range to RGB for one pixel, unrounded: the standard's formula from its Kr and Kb. */
function bt601(y: number, u: number, v: number): [number, number, number] {
  const [kr, kb] = [0.299, 0.114];
  const kg = 1 - kr - kb;
  const luma = (255 / 219) * (y - 16);
  const cb = (255 / 224) * (u - 128);
  const cr = (255 / 224) * (v - 128);
  return [
    luma + 2 * (1 - kr) * cr,
    luma - ((2 * kb * (1 - kb)) / kg) * cb - ((2 * kr * (1 - kr)) / kg) * cr,
    luma + 2 * (1 - kb) * cb,
  ];
}

function pixelOf(data: Uint8Array, width: number, height: number, x: number, y: number) {
  const c = width * height + 2 * ((y >> 1) * ((width + 1) >> 1) + (x >> 1));
  return bt601(data[y * width + x]!, data[c]!, data[c + 1]!);
}

describe("Nv12Picture", () => {
  const [width, height] = [13, 9];
  const data = noiseNv12(width, height, 7);
  const picture = new Nv12Picture(data, width, height);

  it("converts each pixel with BT.601's video-range formula, its chroma pair shared by a 2 x 2 block", () => {
    for (let y = 0; y < height; y++) {
      const row = picture.rowRgb(y, 0, width - 1);
      for (let x = 0; x < width; x++) {
        const expected = pixelOf(data, width, height, x, y).map((v) =>
          Math.min(255, Math.max(0, Math.round(v))),
        );
        expect(Array.from(row.subarray(x * 3, x * 3 + 3)), `pixel ${x},${y}`).toEqual(expected);
      }
    }
  });

  it("sums runs that start and end on either column of a chroma pair to the mean of the pixels' colours", () => {
    for (const [x0, x1] of [
      [0, 12],
      [1, 12],
      [2, 7],
      [3, 3],
      [4, 4],
      [5, 10],
    ] as const) {
      const sums = new Float64Array(3);
      const expected = [0, 0, 0];
      for (let y = 1; y < 8; y++) {
        picture.addRun(y, x0, x1, sums);
        for (let x = x0; x <= x1; x++)
          pixelOf(data, width, height, x, y).forEach((v, c) => {
            expected[c]! += v;
          });
      }
      const pixels = 7 * (x1 - x0 + 1);
      const mean = picture.meanRgb(sums, pixels);
      expect(mean.pixels).toBe(pixels);
      for (const [c, value] of [mean.r, mean.g, mean.b].entries())
        expect(value).toBeCloseTo(expected[c]! / pixels, 9);
    }
  });

  it("resizes by area in YUV: the whole picture at its own size is its pixels, beyond it is black", () => {
    const whole = picture.resized({ x: 0, y: 0, width, height }, width, height);
    for (let y = 0; y < height; y++)
      expect(Array.from(whole.subarray(y * width * 3, (y + 1) * width * 3))).toEqual(
        Array.from(picture.rowRgb(y, 0, width - 1)),
      );
    // A box twice the picture's size: the right and bottom halves of the output are beyond it.
    const padded = picture.resized({ x: 0, y: 0, width: 2 * width, height: 2 * height }, 4, 4);
    for (const pixel of [3, 7, 12, 13, 14, 15])
      expect(Array.from(padded.subarray(pixel * 3, pixel * 3 + 3))).toEqual([0, 0, 0]);
  });

  it("gives the whole-picture mean of the same picture in RGB24, less that copy's rounding", () => {
    // Mid-range colours, none clamped: the copy differs from the exact colours by rounding alone.
    const mid = new Nv12Picture(noiseNv12(width, height, 3, 100, 56), width, height);
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) rgb.set(mid.rowRgb(y, 0, width - 1), y * width * 3);
    const fromNv12 = frameMean(mid);
    const fromRgb = frameMean(new RgbPicture(rgb, width, height));
    for (const c of ["r", "g", "b"] as const) expect(Math.abs(fromNv12[c] - fromRgb[c])).toBeLessThan(0.5);
  });
});
