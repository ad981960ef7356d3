/** Pure image operations on packed RGB24 buffers (row-major, 3 bytes a pixel). */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Weights of source pixels covering each output pixel of a 1-D area resample of [start, start + length). */
function areaWeights(
  start: number,
  length: number,
  outSize: number,
  limit: number,
): { index: number; weight: number }[][] {
  const step = length / outSize;
  const result: { index: number; weight: number }[][] = [];
  for (let o = 0; o < outSize; o++) {
    const from = start + o * step;
    const to = from + step;
    const taps: { index: number; weight: number }[] = [];
    for (let i = Math.floor(from); i < Math.ceil(to); i++) {
      const overlap = Math.min(to, i + 1) - Math.max(from, i);
      // Pixels outside the image count as black, so a crop at the border keeps its geometry.
      if (overlap > 0 && i >= 0 && i < limit) taps.push({ index: i, weight: overlap / step });
    }
    result.push(taps);
  }
  return result;
}

/**
 * Crops `box` (any real-valued rectangle, possibly beyond the image) and resizes it to out x out by
 * area averaging: every output pixel is the exact mean of the source area it covers.
 */
export function cropResize(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: Box,
  out: number,
): Uint8Array {
  const columns = areaWeights(box.x, box.width, out, width);
  const rows = areaWeights(box.y, box.height, out, height);
  const horizontal = new Float32Array(height * out * 3);
  const rowFrom = Math.max(0, Math.floor(box.y));
  const rowTo = Math.min(height, Math.ceil(box.y + box.height));
  for (let y = rowFrom; y < rowTo; y++) {
    for (let o = 0; o < out; o++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const { index, weight } of columns[o]!) {
        const p = (y * width + index) * 3;
        r += rgb[p]! * weight;
        g += rgb[p + 1]! * weight;
        b += rgb[p + 2]! * weight;
      }
      const q = (y * out + o) * 3;
      horizontal[q] = r;
      horizontal[q + 1] = g;
      horizontal[q + 2] = b;
    }
  }
  const result = new Uint8Array(out * out * 3);
  for (let oy = 0; oy < out; oy++) {
    for (let ox = 0; ox < out; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const { index, weight } of rows[oy]!) {
        const q = (index * out + ox) * 3;
        r += horizontal[q]! * weight;
        g += horizontal[q + 1]! * weight;
        b += horizontal[q + 2]! * weight;
      }
      const p = (oy * out + ox) * 3;
      result[p] = Math.round(r);
      result[p + 1] = Math.round(g);
      result[p + 2] = Math.round(b);
    }
  }
  return result;
}

/** The square around a face box, enlarged by `margin` (0.2 = 20% wider), centred on the face. */
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
export function skinMean(rgb: Uint8Array, width: number, height: number, face: Box): SkinMean {
  let r = 0;
  let g = 0;
  let b = 0;
  let pixels = 0;
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  const x0 = Math.max(0, Math.floor(face.x));
  const x1 = Math.min(width, Math.ceil(face.x + face.width));
  const y0 = Math.max(0, Math.floor(face.y));
  const y1 = Math.min(height, Math.ceil(face.y + face.height));
  for (let y = y0; y < y1; y++) {
    const v = (y + 0.5 - face.y) / face.height; // 0 at the top of the box, 1 at the chin
    if (v > 0.22 && v < 0.45) continue; // eyes and brows
    const dy = (y + 0.5 - cy) / (face.height / 2);
    for (let x = x0; x < x1; x++) {
      const u = (x + 0.5 - face.x) / face.width;
      if (v > 0.68 && v < 0.9 && u > 0.28 && u < 0.72) continue; // mouth
      const dx = (x + 0.5 - cx) / (face.width / 2);
      if (dx * dx + dy * dy > 1) continue;
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
