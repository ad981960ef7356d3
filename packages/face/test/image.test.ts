import { yuv420RowConverter } from "@hrpipe/media";
import { describe, expect, it } from "vitest";
import { cropSequence, resizeArea, skinMean } from "../src/image.ts";
import { Picture } from "../src/picture.ts";

function randomImage(width: number, height: number, seed: number): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length: width * height * 3 }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % 256;
  });
}

describe("resizeArea", () => {
  it("gives the exact mean of each source block for an integer factor", () => {
    const [width, height] = [12, 9];
    const image = randomImage(width, height, 1);
    const out = resizeArea(image, width, height, { x: 0, y: 0, width, height }, 4, 3);
    for (let oy = 0; oy < 3; oy++) {
      for (let ox = 0; ox < 4; ox++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let y = 0; y < 3; y++)
            for (let x = 0; x < 3; x++) sum += image[((oy * 3 + y) * width + ox * 3 + x) * 3 + c]!;
          expect(out[(oy * 4 + ox) * 3 + c]).toBe(Math.round(sum / 9));
        }
      }
    }
  });

  it("weights partly covered pixels by their overlap and keeps the mean colour at any scale", () => {
    const [width, height] = [50, 40];
    const image = randomImage(width, height, 2);
    const out = resizeArea(image, width, height, { x: 0, y: 0, width, height }, 17, 13);
    for (let c = 0; c < 3; c++) {
      let source = 0;
      for (let p = c; p < image.length; p += 3) source += image[p]!;
      let resized = 0;
      for (let p = c; p < out.length; p += 3) resized += out[p]!;
      // Rounding each output pixel moves the mean by at most half a level.
      expect(Math.abs(resized / (17 * 13) - source / (width * height))).toBeLessThan(0.5);
    }
  });

  it("fills the part of a box beyond the image with black, keeping the geometry", () => {
    const image = new Uint8Array(4 * 4 * 3).fill(200);
    const out = resizeArea(image, 4, 4, { x: 0, y: 0, width: 8, height: 8 }, 2, 2);
    expect(Array.from(out)).toEqual([200, 200, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("skinMean", () => {
  it("averages skin-coloured pixels of the face ellipse only, leaving out background, eyes and mouth", () => {
    const [width, height] = [100, 100];
    const image = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) image.set([20, 120, 30], p * 3); // green: not skin
    const face = { x: 20, y: 10, width: 60, height: 80 };
    const skin = [190, 140, 120];
    for (let y = face.y; y < face.y + face.height; y++) {
      for (let x = face.x; x < face.x + face.width; x++) {
        const v = (y + 0.5 - face.y) / face.height;
        // Eye band and mouth in other skin tones: only the geometry can leave them out.
        const eyes = v > 0.25 && v < 0.4;
        const mouth = v > 0.72 && v < 0.85 && Math.abs(x + 0.5 - 50) < 10;
        const colour = eyes ? [200, 150, 130] : mouth ? [170, 120, 100] : skin;
        image.set(colour, (y * width + x) * 3);
      }
    }
    const picture = new Picture(image, width, height);
    const mean = skinMean(picture, face);
    expect([mean.r, mean.g, mean.b]).toEqual(skin);
    expect(mean.pixels).toBeGreaterThan(0.5 * Math.PI * 30 * 40);
    expect(skinMean(picture, { x: 0, y: 0, width: 15, height: 15 }).pixels).toBe(0);
  });
});

describe("cropSequence", () => {
  it("holds the last face over frames without one, and marks where the crops jump", () => {
    const side = 2;
    // Faces in frames 0-1 and 4-5 (grey 10, 20, 40, 50); a new segment starts at frame 5.
    const grey = [10, 20, 40, 50];
    const images = Uint8Array.from(grey.flatMap((v) => Array(side * side * 3).fill(v)));
    const { frames, cuts } = cropSequence({ images, frameIndex: [0, 1, 4, 5], side }, 7, 1, [5]);
    expect(Array.from({ length: 7 }, (_, f) => frames[f * 3])).toEqual([10, 20, 20, 20, 40, 50, 50]);
    // Frame 4: a face again after none; frame 5: the next segment's own face box.
    expect(cuts).toEqual([4, 5]);
  });
});

describe("Picture.fromYuv420", () => {
  const [width, height] = [40, 30];
  const planes = randomImage(width, height, 7).subarray(0, (width * height * 3) / 2);
  /** The same frame converted whole, up front. */
  function converted(): Picture {
    const rgb = new Uint8Array(width * height * 3);
    const convert = yuv420RowConverter("bt601");
    for (let y = 0; y < height; y++) convert(planes, width, height, y, 0, width, rgb);
    return new Picture(rgb, width, height);
  }
  /** A lazy picture over a buffer holding an earlier frame's pixels, which must never show through. */
  const lazy = () =>
    Picture.fromYuv420(planes, width, height, new Uint8Array(width * height * 3).fill(77), "bt601");

  it("reads as the frame converted whole, whatever is read first and in whatever order", () => {
    const whole = converted();
    const picture = lazy();
    const box = { x: 5.5, y: 3.2, width: 17.1, height: 12.6 };
    expect(picture.resized(box, 8, 6)).toEqual(whole.resized(box, 8, 6));
    const [sums, expected] = [new Float64Array(3), new Float64Array(3)];
    for (const [y, x0, x1] of [
      [4, 2, 9],
      [4, 12, 30],
      [4, 0, 39],
      [29, 31, 39],
      [0, 0, 0],
    ] as const) {
      picture.addRun(y, x0, x1, sums);
      whole.addRun(y, x0, x1, expected);
    }
    expect(sums).toEqual(expected);
    for (const index of [0, 41, 600, width * height - 1, 333]) {
      const pixel = { x: index % width, y: Math.floor(index / width), width: 1, height: 1 };
      expect(picture.rgbOf(pixel).slice(index * 3, index * 3 + 3)).toEqual(
        whole.rgb.slice(index * 3, index * 3 + 3),
      );
    }
    const face = { x: 20, y: 10, width: 15, height: 18 };
    expect(skinMean(picture, face)).toEqual(skinMean(whole, face));
    expect(picture.rgb).toEqual(whole.rgb);
  });

  it("converts only what is read", () => {
    const picture = lazy();
    picture.resized({ x: 10, y: 10, width: 4, height: 4 }, 2, 2);
    const rgb = picture.rgbOf({ x: 0, y: 0, width: 0, height: 0 });
    expect(rgb[(0 * width + 0) * 3]).toBe(77);
    expect(rgb[(10 * width + 10) * 3]).toBe(converted().rgb[(10 * width + 10) * 3]);
  });
});
