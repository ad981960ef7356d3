import { type Box, resizeArea } from "./image.ts";

/**
 * A decoded frame as the face analysis reads it (packed RGB24, 3 bytes a pixel, row-major): grey
 * levels for the tracker, RGB24 resized to a network's input, and row runs for the skin's mean colour.
 */
export class Picture {
  constructor(
    readonly rgb: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {}

  /** The grey level (BT.601 luma) of pixel `index` (y * width + x). */
  luma(index: number): number {
    const p = index * 3;
    return 0.299 * this.rgb[p]! + 0.587 * this.rgb[p + 1]! + 0.114 * this.rgb[p + 2]!;
  }

  /** RGB24 of `box` (any real-valued rectangle; black beyond the picture) resized to outWidth x outHeight by area averaging. */
  resized(box: Box, outWidth: number, outHeight: number): Uint8Array {
    return resizeArea(this.rgb, this.width, this.height, box, outWidth, outHeight);
  }

  /** Adds the R, G and B of pixels x0..x1 (inclusive) of row y to `sums`. */
  addRun(y: number, x0: number, x1: number, sums: Float64Array): void {
    const { rgb } = this;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let p = (y * this.width + x0) * 3, end = (y * this.width + x1) * 3; p <= end; p += 3) {
      r += rgb[p]!;
      g += rgb[p + 1]!;
      b += rgb[p + 2]!;
    }
    sums[0] = sums[0]! + r;
    sums[1] = sums[1]! + g;
    sums[2] = sums[2]! + b;
  }
}
