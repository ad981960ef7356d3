/** Pure image operations on packed RGB24 buffers (row-major, 3 bytes a pixel) and on pictures. */
import type { Picture } from "./picture.ts";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The source pixels covering each output pixel of a 1-D area resample of [start, start + length):
 * output o reads `count[o]` taps from `first[o]` on, with weights `weight[o * stride ...]`.
 */
function areaTaps(start: number, length: number, outSize: number, limit: number) {
  const step = length / outSize;
  const stride = Math.ceil(step) + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weight = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    const from = start + o * step;
    const to = from + step;
    // Pixels outside the image count as black, so a crop at the border keeps its geometry.
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(limit, Math.ceil(to));
    first[o] = lo;
    count[o] = Math.max(0, hi - lo);
    for (let i = lo; i < hi; i++)
      weight[o * stride + i - lo] = Math.max(0, Math.min(to, i + 1) - Math.max(from, i)) / step;
  }
  return { first, count, weight, stride };
}

let scratchBuffer = new Float32Array(0);

/** A reused work buffer: resizing runs several times a frame, and fresh buffers of this size cost more in collection than in use. */
function scratch(length: number): Float32Array {
  if (scratchBuffer.length < length) scratchBuffer = new Float32Array(length);
  return scratchBuffer;
}

/**
 * Crops `box` (any real-valued rectangle, possibly beyond the image) and resizes it to outWidth x
 * outHeight by area averaging: every output pixel is the exact mean of the source area it covers,
 * so mean colours survive any scale.
 */
export function resizeArea(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: Box,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const columns = areaTaps(box.x, box.width, outWidth, width);
  const rows = areaTaps(box.y, box.height, outHeight, height);
  const rowFrom = Math.max(0, Math.floor(box.y));
  const rowTo = Math.min(height, Math.ceil(box.y + box.height));
  const rowBytes = outWidth * 3;
  // Horizontal pass over the rows the box covers, then the vertical pass into the output. Faces are
  // resized by factors of 1 to 2, where an output pixel reads two or three source pixels: those are
  // written out (a fifth of the time of the general loop), summed in the same order.
  const horizontal = scratch(Math.max(0, rowTo - rowFrom) * rowBytes);
  const { first: columnFirst, count: columnCount, weight: columnWeight, stride: columnStride } = columns;
  for (let y = rowFrom; y < rowTo; y++) {
    const rowStart = y * width;
    for (let o = 0, q = (y - rowFrom) * rowBytes; o < outWidth; o++, q += 3) {
      const p = (rowStart + columnFirst[o]!) * 3;
      const w = o * columnStride;
      const count = columnCount[o]!;
      if (count === 2) {
        const a = columnWeight[w]!;
        const b = columnWeight[w + 1]!;
        horizontal[q] = rgb[p]! * a + rgb[p + 3]! * b;
        horizontal[q + 1] = rgb[p + 1]! * a + rgb[p + 4]! * b;
        horizontal[q + 2] = rgb[p + 2]! * a + rgb[p + 5]! * b;
      } else if (count === 3) {
        const a = columnWeight[w]!;
        const b = columnWeight[w + 1]!;
        const d = columnWeight[w + 2]!;
        horizontal[q] = rgb[p]! * a + rgb[p + 3]! * b + rgb[p + 6]! * d;
        horizontal[q + 1] = rgb[p + 1]! * a + rgb[p + 4]! * b + rgb[p + 7]! * d;
        horizontal[q + 2] = rgb[p + 2]! * a + rgb[p + 5]! * b + rgb[p + 8]! * d;
      } else {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let k = 0; k < count; k++) sum += rgb[p + 3 * k + c]! * columnWeight[w + k]!;
          horizontal[q + c] = sum;
        }
      }
    }
  }
  const result = new Uint8Array(outHeight * rowBytes);
  const { first: rowFirst, count: rowCount, weight: rowWeight, stride: rowStride } = rows;
  // Each sum is rounded to float32 after every term, as the buffer it was kept in did.
  const f32 = Math.fround;
  for (let oy = 0; oy < outHeight; oy++) {
    const w = oy * rowStride;
    const count = rowCount[oy]!;
    const a = (rowFirst[oy]! - rowFrom) * rowBytes;
    const b = a + rowBytes;
    const d = b + rowBytes;
    const out = oy * rowBytes;
    // Uint8Array stores truncate: add 0.5 to round to nearest. A row with no source pixel stays black.
    if (count === 2) {
      const wa = rowWeight[w]!;
      const wb = rowWeight[w + 1]!;
      for (let i = 0; i < rowBytes; i++)
        result[out + i] = f32(f32(horizontal[a + i]! * wa) + horizontal[b + i]! * wb) + 0.5;
    } else if (count === 3) {
      const wa = rowWeight[w]!;
      const wb = rowWeight[w + 1]!;
      const wd = rowWeight[w + 2]!;
      for (let i = 0; i < rowBytes; i++)
        result[out + i] =
          f32(f32(f32(horizontal[a + i]! * wa) + horizontal[b + i]! * wb) + horizontal[d + i]! * wd) + 0.5;
    } else {
      for (let i = 0; i < rowBytes; i++) {
        let sum = 0;
        for (let k = 0; k < count; k++)
          sum = f32(sum + horizontal[a + k * rowBytes + i]! * rowWeight[w + k]!);
        result[out + i] = sum + 0.5;
      }
    }
  }
  return result;
}

/** The square around a face box, enlarged by `margin` (0.2 = 20% wider), centred on the face. */
/**
 * A network's input frames from a video's face crops (one per frame with a face, [count, side, side, 3],
 * at the video frame indices `frameIndex`): every frame resized to `size` by area, and a frame without
 * a face holding the last face before it (or the first face, before any), so clips stay continuous;
 * what a network says there is not used (the frame is not usable). `cuts` are the frames whose crop
 * does not continue the one before: where a face is found again after frames without one, and the
 * `segmentStarts` given (a face job follows its own segment's face from a fresh detection).
 */
export function cropSequence(
  crops: { images: Uint8Array; frameIndex: ArrayLike<number>; side: number },
  frames: number,
  size: number,
  segmentStarts: readonly number[] = [],
): { frames: Uint8Array; cuts: number[] } {
  const cropBytes = crops.side * crops.side * 3;
  const frameBytes = size * size * 3;
  const whole = { x: 0, y: 0, width: crops.side, height: crops.side };
  const resized = (row: number) =>
    resizeArea(
      crops.images.subarray(row * cropBytes, (row + 1) * cropBytes),
      crops.side,
      crops.side,
      whole,
      size,
      size,
    );
  const sequence = new Uint8Array(frames * frameBytes);
  const cuts = new Set(segmentStarts.filter((frame) => frame > 0 && frame < frames));
  if (crops.frameIndex.length === 0) return { frames: sequence, cuts: [] };
  let last = resized(0);
  let next = 0;
  for (let frame = 0; frame < frames; frame++) {
    if (next < crops.frameIndex.length && crops.frameIndex[next] === frame) {
      if (next > 0 && crops.frameIndex[next - 1] !== frame - 1) cuts.add(frame);
      last = resized(next++);
    }
    sequence.set(last, frame * frameBytes);
  }
  return { frames: sequence, cuts: [...cuts].sort((a, b) => a - b) };
}

export function squareCrop(face: Box, margin: number): Box {
  const side = Math.max(face.width, face.height) * (1 + margin);
  return {
    x: face.x + face.width / 2 - side / 2,
    y: face.y + face.height / 2 - side / 2,
    width: side,
    height: side,
  };
}

/** Skin in YCbCr (Chai & Ngan 1999): 77 <= Cb <= 127 and 133 <= Cr <= 173, with a floor on brightness. */
export function isSkin(r: number, g: number, b: number): boolean {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return y > 40 && cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

export interface SkinMean {
  r: number;
  g: number;
  b: number;
  pixels: number;
}

/**
 * Mean colour of the skin inside a face box: pixels within the face ellipse, outside the eye band
 * and the mouth, that pass the skin colour test. Hair, background, eyes and lips are left out.
 */
export function skinMean(picture: Picture, face: Box): SkinMean {
  const { width, height } = picture;
  const rgb = picture.rgbOf(face);
  let r = 0;
  let g = 0;
  let b = 0;
  let pixels = 0;
  const halfWidth = face.width / 2;
  const cx = face.x + halfWidth;
  const cy = face.y + face.height / 2;
  const y0 = Math.max(0, Math.floor(face.y));
  const y1 = Math.min(height, Math.ceil(face.y + face.height));
  // The mouth's columns: pixel centres at 0.28 < u < 0.72 of the box width.
  const mouthFrom = Math.floor(face.x + 0.28 * face.width - 0.5) + 1;
  const mouthTo = Math.ceil(face.x + 0.72 * face.width - 0.5) - 1;
  for (let y = y0; y < y1; y++) {
    const v = (y + 0.5 - face.y) / face.height; // 0 at the top of the box, 1 at the chin
    if (v > 0.22 && v < 0.45) continue; // eyes and brows
    const dy = (y + 0.5 - cy) / (face.height / 2);
    if (dy * dy > 1) continue;
    // The row's stretch of pixel centres inside the ellipse.
    const reach = halfWidth * Math.sqrt(1 - dy * dy);
    const x0 = Math.max(0, Math.ceil(cx - reach - 0.5));
    const x1 = Math.min(width - 1, Math.floor(cx + reach - 0.5));
    const mouthRow = v > 0.68 && v < 0.9;
    for (let x = x0; x <= x1; x++) {
      if (mouthRow && x >= mouthFrom && x <= mouthTo) {
        x = mouthTo;
        continue;
      }
      const p = (y * width + x) * 3;
      const pr = rgb[p]!;
      const pg = rgb[p + 1]!;
      const pb = rgb[p + 2]!;
      if (!isSkin(pr, pg, pb)) continue;
      r += pr;
      g += pg;
      b += pb;
      pixels++;
    }
  }
  return pixels === 0
    ? { r: Number.NaN, g: Number.NaN, b: Number.NaN, pixels }
    : { r: r / pixels, g: g / pixels, b: b / pixels, pixels };
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const intersection = ix * iy;
  const union = a.width * a.height + b.width * b.height - intersection;
  return union > 0 ? intersection / union : 0;
}

/** Mean colour of a whole picture: the trace of a video that is already a skin patch. */
export function frameMean(picture: Picture): SkinMean {
  const sums = new Float64Array(3);
  for (let y = 0; y < picture.height; y++) picture.addRun(y, 0, picture.width - 1, sums);
  const pixels = picture.width * picture.height;
  return { r: sums[0]! / pixels, g: sums[1]! / pixels, b: sums[2]! / pixels, pixels };
}
