import { areaResample, type Box, resizeArea, type SkinMean } from "./image.ts";

/**
 * A decoded frame as the face analysis reads it: grey levels for the tracker, RGB24 resized to a
 * network's input, and sums of pixel runs for the skin's mean colour. Two layouts: the decoder's own
 * YUV 4:2:0 (Nv12Picture: half the bytes of RGB24 to move, and no conversion of the pixels
 * only summed), and packed RGB24 (RgbPicture: photos, live frames).
 */
export interface Picture {
  readonly width: number;
  readonly height: number;
  /** Grey levels, width x height, row-major; their scale and offset differ between layouts. */
  readonly luma: Uint8Array | Float32Array;
  /** RGB24 of `box` (any real-valued rectangle; black beyond the picture) resized to outWidth x outHeight by area averaging. */
  resized(box: Box, outWidth: number, outHeight: number): Uint8Array;
  /** Adds pixels x0..x1 (inclusive) of row y to `sums` (3 values, in the picture's own colour space). */
  addRun(y: number, x0: number, x1: number, sums: Float64Array): void;
  /** The mean RGB of `pixels` pixels whose addRun sums are `sums`. */
  meanRgb(sums: Float64Array, pixels: number): SkinMean;
  /** RGB24 of pixels x0..x1 of row y, valid until the next call. */
  rowRgb(y: number, x0: number, x1: number): Uint8Array;
}

let row = new Uint8Array(0);
function rowBuffer(pixels: number): Uint8Array {
  if (row.length < pixels * 3) row = new Uint8Array(pixels * 3);
  return row;
}

let resampled = new Float32Array(0);
/** Reused buffers for a resized luma plane and its chroma pairs: the nets' inputs are resized a few times a frame. */
function resampleBuffers(pixels: number): [Float32Array, Float32Array] {
  if (resampled.length < pixels * 3) resampled = new Float32Array(pixels * 3);
  return [resampled.subarray(0, pixels), resampled.subarray(pixels, 3 * pixels)];
}

/** Packed RGB24, 3 bytes a pixel, row-major. */
export class RgbPicture implements Picture {
  private grey: Float32Array | undefined;

  constructor(
    readonly rgb: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {}

  /** BT.601 luma, computed on first use. */
  get luma(): Float32Array {
    if (!this.grey) {
      const { rgb } = this;
      this.grey = new Float32Array(this.width * this.height);
      for (let i = 0, p = 0; i < this.grey.length; i++, p += 3)
        this.grey[i] = 0.299 * rgb[p]! + 0.587 * rgb[p + 1]! + 0.114 * rgb[p + 2]!;
    }
    return this.grey;
  }

  resized(box: Box, outWidth: number, outHeight: number): Uint8Array {
    return resizeArea(this.rgb, this.width, this.height, box, outWidth, outHeight);
  }

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

  meanRgb(sums: Float64Array, pixels: number): SkinMean {
    return { r: sums[0]! / pixels, g: sums[1]! / pixels, b: sums[2]! / pixels, pixels };
  }

  rowRgb(y: number, x0: number, x1: number): Uint8Array {
    return this.rgb.subarray((y * this.width + x0) * 3, (y * this.width + x1 + 1) * 3);
  }
}

// BT.601 with video range (Y 16-235, chroma 16-240 around 128), what decodeFrames' NV12 is converted to.
const lumaScale = 255 / 219;
const chromaScale = 255 / 224;
const redFromV = 1.402 * chromaScale;
const greenFromU = ((0.114 * 1.772) / 0.587) * chromaScale;
const greenFromV = ((0.299 * 1.402) / 0.587) * chromaScale;
const blueFromU = 1.772 * chromaScale;
const blackY = 16;
const neutralChroma = 128;

/**
 * The decoder's YUV 4:2:0 as NV12 (BT.601, video range: what decodeFrames gives with `pixelFormat:
 * "nv12"`): the Y plane, then U and V interleaved at half the width and height, each chroma pair
 * shared by a 2 x 2 block of pixels. The RGB it stands for is ffmpeg's conversion of the same planes
 * without its per-pixel rounding: area averages and means are taken in YUV (they commute with the
 * conversion, which is affine) and only the values a network reads are converted.
 */
export class Nv12Picture implements Picture {
  readonly luma: Uint8Array;
  private readonly chroma: Uint8Array;
  private readonly chromaWidth: number;
  private readonly chromaHeight: number;

  constructor(
    data: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {
    this.chromaWidth = (width + 1) >> 1;
    this.chromaHeight = (height + 1) >> 1;
    const lumaBytes = width * height;
    this.luma = data.subarray(0, lumaBytes);
    this.chroma = data.subarray(lumaBytes, lumaBytes + 2 * this.chromaWidth * this.chromaHeight);
  }

  resized(box: Box, outWidth: number, outHeight: number): Uint8Array {
    const length = outWidth * outHeight;
    const [y, uv] = resampleBuffers(length);
    const { width, height, chromaWidth, chromaHeight } = this;
    areaResample({ data: this.luma, width, height, channels: 1 }, box, outWidth, outHeight, y, blackY);
    // A chroma pair covers a 2 x 2 block: the box in chroma samples is half the box in pixels.
    areaResample(
      { data: this.chroma, width: chromaWidth, height: chromaHeight, channels: 2 },
      { x: box.x / 2, y: box.y / 2, width: box.width / 2, height: box.height / 2 },
      outWidth,
      outHeight,
      uv,
      neutralChroma,
    );
    const result = new Uint8Array(length * 3);
    for (let i = 0, p = 0; i < length; i++, p += 3) {
      const luma = (y[i]! - blackY) * lumaScale;
      const cb = uv[2 * i]! - neutralChroma;
      const cr = uv[2 * i + 1]! - neutralChroma;
      result[p] = clampByte(luma + redFromV * cr);
      result[p + 1] = clampByte(luma - greenFromU * cb - greenFromV * cr);
      result[p + 2] = clampByte(luma + blueFromU * cb);
    }
    return result;
  }

  addRun(y: number, x0: number, x1: number, sums: Float64Array): void {
    const { luma, chroma } = this;
    let sumY = 0;
    for (let p = y * this.width + x0, end = y * this.width + x1; p <= end; p++) sumY += luma[p]!;
    // Chroma pairs c0..c1 cover the run, each twice except an end whose block it half covers.
    const rowStart = (y >> 1) * this.chromaWidth;
    const c0 = 2 * (rowStart + (x0 >> 1));
    const c1 = 2 * (rowStart + (x1 >> 1));
    let sumU = 0;
    let sumV = 0;
    for (let c = c0; c <= c1; c += 2) {
      sumU += chroma[c]!;
      sumV += chroma[c + 1]!;
    }
    sumU *= 2;
    sumV *= 2;
    if (x0 & 1) {
      sumU -= chroma[c0]!;
      sumV -= chroma[c0 + 1]!;
    }
    if (!(x1 & 1)) {
      sumU -= chroma[c1]!;
      sumV -= chroma[c1 + 1]!;
    }
    sums[0] = sums[0]! + sumY;
    sums[1] = sums[1]! + sumU;
    sums[2] = sums[2]! + sumV;
  }

  meanRgb(sums: Float64Array, pixels: number): SkinMean {
    const luma = (sums[0]! / pixels - blackY) * lumaScale;
    const cb = sums[1]! / pixels - neutralChroma;
    const cr = sums[2]! / pixels - neutralChroma;
    return {
      r: luma + redFromV * cr,
      g: luma - greenFromU * cb - greenFromV * cr,
      b: luma + blueFromU * cb,
      pixels,
    };
  }

  rowRgb(y: number, x0: number, x1: number): Uint8Array {
    const out = rowBuffer(x1 - x0 + 1);
    const rowStart = (y >> 1) * this.chromaWidth;
    for (let x = x0, p = 0; x <= x1; x++, p += 3) {
      const luma = (this.luma[y * this.width + x]! - blackY) * lumaScale;
      const c = 2 * (rowStart + (x >> 1));
      const cb = this.chroma[c]! - neutralChroma;
      const cr = this.chroma[c + 1]! - neutralChroma;
      out[p] = clampByte(luma + redFromV * cr);
      out[p + 1] = clampByte(luma - greenFromU * cb - greenFromV * cr);
      out[p + 2] = clampByte(luma + blueFromU * cb);
    }
    return out.subarray(0, (x1 - x0 + 1) * 3);
  }
}

/** A byte from a converted value: rounded half up, clamped to 0-255. */
function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.floor(value + 0.5);
}
