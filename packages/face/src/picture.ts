import { type YuvMatrix, yuv420RowConverter } from "@hrpipe/media";
import { type Box, resizeArea } from "./image.ts";

/**
 * A decoded frame as the face analysis reads it (packed RGB24, 3 bytes a pixel, row-major): the RGB24
 * of a region (the tracker's grey levels), resized to a network's input, and row runs for the skin's
 * mean colour.
 * A picture of the decoder's 4:2:0 planes (fromYuv420) converts the pixels it is asked for, once
 * each: the analysis reads a face's worth of a frame.
 */
export class Picture {
  /** Per row, the pixels [convertedFrom, convertedTo) already converted; absent for an RGB24 picture. */
  private readonly convertedFrom?: Int32Array;
  private readonly convertedTo?: Int32Array;

  constructor(
    private readonly pixels: Uint8Array,
    readonly width: number,
    readonly height: number,
    /** Writes pixels [x0, x1) of row y into `pixels`, for a picture converted where it is read. */
    private readonly convertRow?: (y: number, x0: number, x1: number) => void,
  ) {
    if (convertRow) {
      this.convertedFrom = new Int32Array(height);
      this.convertedTo = new Int32Array(height);
    }
  }

  /**
   * A picture of 4:2:0 planes (ffmpeg's yuv420p rawvideo) of `matrix` whose RGB24 is written into
   * `rgb` (width x height x 3 bytes, whose earlier content is never read) where it is read. `halved`:
   * the planes are of a picture twice this size each way (yuv420RowConverter).
   */
  static fromYuv420(
    planes: Uint8Array,
    width: number,
    height: number,
    rgb: Uint8Array,
    matrix: YuvMatrix,
    halved = false,
  ): Picture {
    const convert = yuv420RowConverter(matrix, halved);
    return new Picture(rgb, width, height, (y, x0, x1) => convert(planes, width, height, y, x0, x1, rgb));
  }

  /** The whole frame's RGB24. */
  get rgb(): Uint8Array {
    return this.rgbOf({ x: 0, y: 0, width: this.width, height: this.height });
  }

  /** The frame's RGB24, valid at least within `box` (any real-valued rectangle). */
  rgbOf(box: Box): Uint8Array {
    if (this.convertRow) {
      const x0 = Math.max(0, Math.floor(box.x));
      const x1 = Math.min(this.width, Math.ceil(box.x + box.width));
      const y1 = Math.min(this.height, Math.ceil(box.y + box.height));
      for (let y = Math.max(0, Math.floor(box.y)); y < y1; y++) this.convert(y, x0, x1);
    }
    return this.pixels;
  }

  /** RGB24 of `box` (any real-valued rectangle; black beyond the picture) resized to outWidth x outHeight by area averaging. */
  resized(box: Box, outWidth: number, outHeight: number): Uint8Array {
    return resizeArea(this.rgbOf(box), this.width, this.height, box, outWidth, outHeight);
  }

  /** Adds the R, G and B of pixels x0..x1 (inclusive) of row y to `sums`. */
  addRun(y: number, x0: number, x1: number, sums: Float64Array): void {
    if (this.convertRow) this.convert(y, x0, x1 + 1);
    const { pixels } = this;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let p = (y * this.width + x0) * 3, end = (y * this.width + x1) * 3; p <= end; p += 3) {
      r += pixels[p]!;
      g += pixels[p + 1]!;
      b += pixels[p + 2]!;
    }
    sums[0] = sums[0]! + r;
    sums[1] = sums[1]! + g;
    sums[2] = sums[2]! + b;
  }

  /** Converts pixels [x0, x1) of row y where not yet done; a row's converted pixels stay one stretch. */
  private convert(y: number, x0: number, x1: number): void {
    const from = this.convertedFrom![y]!;
    const to = this.convertedTo![y]!;
    if ((x0 >= from && x1 <= to) || x1 <= x0) return;
    if (from === to) {
      this.convertRow!(y, x0, x1);
      this.convertedFrom![y] = x0;
      this.convertedTo![y] = x1;
      return;
    }
    if (x0 < from) this.convertRow!(y, x0, from);
    if (x1 > to) this.convertRow!(y, to, x1);
    this.convertedFrom![y] = Math.min(from, x0);
    this.convertedTo![y] = Math.max(to, x1);
  }
}
