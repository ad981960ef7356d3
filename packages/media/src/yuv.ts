import type { VideoInfo } from "./ffmpeg.ts";

/**
 * The decoder's own pictures, 8-bit YUV 4:2:0, converted to RGB24 exactly as ffmpeg converts them.
 * Through a pipe, RGB24 costs twice the bytes of 4:2:0 and ffmpeg's conversion of every pixel, for
 * pictures of which the face analysis reads a face's worth; carried as 4:2:0 and converted where they
 * are read, the RGB values are the same to the bit (test: packages/media/test/yuv.int.test.ts), so every
 * trace and estimate is too.
 */

/** The colour matrices whose limited-range 4:2:0 ffmpeg converts as here (ffprobe: see yuv420Matrix). */
export type YuvMatrix = "bt601" | "bt709";

/**
 * ffmpeg's conversion (libswscale's unscaled 4:2:0 to RGB24, limited range) in its own 16-bit fixed
 * point: each term is the high half of (sample * 8 - offset) x coefficient, and R, G and B are sums of
 * a luma and chroma terms clamped to 0..255, each chroma sample serving a 2 x 2 block. The coefficients
 * are in units of 2^-13: luma 1.164 -> 9539; BT.601 chroma 1.596 -> 13075 (V to red), -0.392 -> -3209
 * and -0.813 -> -6660 (U and V to green), 2.017 -> 16525 (U to blue); BT.709's 1.793, -0.213, -0.533
 * and 2.112 -> 14686, -1747, -4366 and 17305. Each matrix checked on all 2^24 YUV triples against
 * ffmpeg 5.1.
 */
function term(sample: number, offset: number, coefficient: number): number {
  return Math.floor(((sample * 8 - offset) * coefficient) / 65536);
}

/** Clamps a sum of terms to 0..255 as ffmpeg's saturating pack does: index sum + clampOffset. */
const clampOffset = 512;
const clampTo8Bit = Uint8Array.from({ length: 1536 }, (_, i) => Math.max(0, Math.min(255, i - clampOffset)));
const offsetLumaTerm = Int32Array.from({ length: 256 }, (_, y) => term(y, 128, 9539) + clampOffset);

interface ChromaTerms {
  redFromV: Int16Array;
  greenFromU: Int16Array;
  greenFromV: Int16Array;
  blueFromU: Int16Array;
}

function chromaTerms(redV: number, greenU: number, greenV: number, blueU: number): ChromaTerms {
  const table = (coefficient: number) =>
    Int16Array.from({ length: 256 }, (_, c) => term(c, 1024, coefficient));
  return {
    redFromV: table(redV),
    greenFromU: table(greenU),
    greenFromV: table(greenV),
    blueFromU: table(blueU),
  };
}

const chromaTermsOf: Record<YuvMatrix, ChromaTerms> = {
  bt601: chromaTerms(13075, -3209, -6660, 16525),
  bt709: chromaTerms(14686, -1747, -4366, 17305),
};

/**
 * The matrix ffmpeg converts a stream's pictures with, where they can be carried as 4:2:0 and
 * converted here to the RGB24 ffmpeg would give: 8-bit 4:2:0 of even size, limited range, shown
 * unrotated, BT.601 (or unspecified, which ffmpeg reads as BT.601) or BT.709. Others (full range,
 * 4:2:2, BT.2020, a rotation) are converted by ffmpeg: undefined.
 */
export function yuv420Matrix(
  format: Pick<VideoInfo, "width" | "height" | "rotation" | "pixelFormat" | "colorSpace" | "colorRange">,
): YuvMatrix | undefined {
  const carried =
    format.pixelFormat === "yuv420p" &&
    ["unknown", "tv"].includes(format.colorRange) &&
    format.rotation === 0 &&
    format.width % 2 === 0 &&
    format.height % 2 === 0;
  if (!carried) return undefined;
  if (["unknown", "smpte170m", "bt470bg"].includes(format.colorSpace)) return "bt601";
  return format.colorSpace === "bt709" ? "bt709" : undefined;
}

/** Bytes of a width x height 4:2:0 picture: the Y plane, then the U and V planes at half size each way. */
export function yuv420Bytes(width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2);
}

/**
 * Writes the RGB24 of pixels x0..x1 - 1 of row y of a width x height picture, converted from 4:2:0
 * planes (Y, U, V one after the other, as ffmpeg's yuv420p rawvideo), into `rgb` (width x height x 3).
 */
export type Yuv420RowConverter = (
  planes: Uint8Array,
  width: number,
  height: number,
  y: number,
  x0: number,
  x1: number,
  rgb: Uint8Array,
) => void;

/**
 * The row converter of 4:2:0 planes with `matrix`: the picture at the planes' size, or `halved`, at
 * half their size each way (width and height then the half size): each pixel its 2 x 2 luma block's
 * mean, rounded (ffmpeg's area scaling to yuv444p gives the same luma), with the block's own chroma
 * sample, converted as at full size. At half size every pixel has a chroma sample of its own: the
 * colour is not subsampled, where ffmpeg's scaled RGB24 halves it again horizontally.
 */
export function yuv420RowConverter(matrix: YuvMatrix, halved = false): Yuv420RowConverter {
  return (halved ? halvedRows : fullSizeRows)(chromaTermsOf[matrix]);
}

function fullSizeRows({ redFromV, greenFromU, greenFromV, blueFromU }: ChromaTerms): Yuv420RowConverter {
  return (planes, width, height, y, x0, x1, rgb) => {
    const chromaWidth = width / 2;
    const lumaRow = y * width;
    const uRow = width * height + (y >> 1) * chromaWidth;
    const vRow = uRow + chromaWidth * (height / 2);
    // Two pixels a chroma sample: its terms are looked up once for both (3 ns a pixel against 4.5);
    // an odd first or last pixel is the first or last of a pair of one.
    let x = x0 - (x0 % 2);
    for (let p = (lumaRow + x) * 3; x < x1; x += 2, p += 6) {
      const u = planes[uRow + (x >> 1)]!;
      const v = planes[vRow + (x >> 1)]!;
      const red = redFromV[v]!;
      const green = greenFromU[u]! + greenFromV[v]!;
      const blue = blueFromU[u]!;
      const luma0 = offsetLumaTerm[planes[lumaRow + x]!]!;
      const luma1 = offsetLumaTerm[planes[lumaRow + x + 1]!]!;
      if (x >= x0) {
        rgb[p] = clampTo8Bit[luma0 + red]!;
        rgb[p + 1] = clampTo8Bit[luma0 + green]!;
        rgb[p + 2] = clampTo8Bit[luma0 + blue]!;
      }
      if (x + 1 < x1) {
        rgb[p + 3] = clampTo8Bit[luma1 + red]!;
        rgb[p + 4] = clampTo8Bit[luma1 + green]!;
        rgb[p + 5] = clampTo8Bit[luma1 + blue]!;
      }
    }
  };
}

function halvedRows({ redFromV, greenFromU, greenFromV, blueFromU }: ChromaTerms): Yuv420RowConverter {
  return (planes, width, height, y, x0, x1, rgb) => {
    const storedWidth = width * 2;
    const upper = y * 2 * storedWidth;
    const lower = upper + storedWidth;
    const uRow = storedWidth * height * 2 + y * width;
    const vRow = uRow + width * height;
    for (let x = x0, p = (y * width + x0) * 3; x < x1; x++, p += 3) {
      const left = x * 2;
      const sum =
        planes[upper + left]! + planes[upper + left + 1]! + planes[lower + left]! + planes[lower + left + 1]!;
      const luma = offsetLumaTerm[(sum + 2) >> 2]!;
      const u = planes[uRow + x]!;
      const v = planes[vRow + x]!;
      rgb[p] = clampTo8Bit[luma + redFromV[v]!]!;
      rgb[p + 1] = clampTo8Bit[luma + greenFromU[u]! + greenFromV[v]!]!;
      rgb[p + 2] = clampTo8Bit[luma + blueFromU[u]!]!;
    }
  };
}
