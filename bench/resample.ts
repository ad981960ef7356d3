import { type Box, resizeArea } from "@hrpipe/face";
import sharp from "sharp";
import { type BenchResult, machineDescription } from "./report.ts";

const width = 1280;
const height = 720;
const out = 128;
const crops = 400;

/** A 720p frame with texture at every scale (smooth gradients plus pixel noise), deterministic. */
function testFrame(): Uint8Array {
  const frame = new Uint8Array(width * height * 3);
  let state = 12345;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        state = (state * 1103515245 + 12345) >>> 0;
        const smooth = 128 + 60 * Math.sin((x + 40 * c) / 37) * Math.cos(y / 23);
        frame[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, smooth + ((state >>> 24) % 40) - 20));
      }
  return frame;
}

/** Face-sized square boxes at sub-pixel positions, inside the frame, as the tracker produces them. */
function testBoxes(): Box[] {
  const boxes: Box[] = [];
  for (let i = 0; i < crops; i++) {
    const side = 220 + ((i * 37) % 160) + 0.37;
    boxes.push({
      x: 100 + ((i * 53) % 700) + 0.41,
      y: 40 + ((i * 29) % 280) + 0.73,
      width: side,
      height: side,
    });
  }
  return boxes;
}

/** The exact area average in float64: each output pixel is the mean of the source area it covers. */
function exactArea(frame: Uint8Array, box: Box): Float64Array {
  const result = new Float64Array(out * out * 3);
  const step = box.width / out;
  for (let oy = 0; oy < out; oy++)
    for (let ox = 0; ox < out; ox++) {
      const x0 = box.x + ox * step;
      const y0 = box.y + oy * step;
      const sums = [0, 0, 0];
      let area = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y0 + step); y++) {
        const wy = Math.min(y + 1, y0 + step) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.ceil(x0 + step); x++) {
          const w = wy * (Math.min(x + 1, x0 + step) - Math.max(x, x0));
          for (let c = 0; c < 3; c++) sums[c]! += w * frame[(y * width + x) * 3 + c]!;
          area += w;
        }
      }
      for (let c = 0; c < 3; c++) result[(oy * out + ox) * 3 + c] = sums[c]! / area;
    }
  return result;
}

function meanAbsError(crop: Uint8Array, exact: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < crop.length; i++) sum += Math.abs(crop[i]! - exact[i]!);
  return sum / crop.length;
}

/** sharp as a face stage would call it per frame: integer extract (its API), then resize to 128 x 128. */
async function sharpCrop(frame: Uint8Array, box: Box): Promise<Uint8Array> {
  const { data } = await sharp(frame, { raw: { width, height, channels: 3 } })
    .extract({
      left: Math.round(box.x),
      top: Math.round(box.y),
      width: Math.round(box.width),
      height: Math.round(box.height),
    })
    .resize(out, out, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

/**
 * Face-crop resampling: the face package's area resampler against sharp (libvips) on the same 720p
 * frame and the same 400 sub-pixel face boxes, for speed and for exactness against a float64 area
 * average. sharp would replace the resampler only if it were at least as fast and as exact.
 */
export async function benchResample(): Promise<BenchResult> {
  const frame = testFrame();
  const boxes = testBoxes();
  const exact = boxes.slice(0, 50).map((box) => exactArea(frame, box));

  for (const box of boxes.slice(0, 20)) {
    resizeArea(frame, width, height, box, out, out);
    await sharpCrop(frame, box);
  }
  let started = performance.now();
  for (const box of boxes) resizeArea(frame, width, height, box, out, out);
  const ownPerS = crops / ((performance.now() - started) / 1000);
  started = performance.now();
  for (const box of boxes) await sharpCrop(frame, box);
  const sharpPerS = crops / ((performance.now() - started) / 1000);

  let ownError = 0;
  let sharpError = 0;
  for (const [i, reference] of exact.entries()) {
    ownError += meanAbsError(resizeArea(frame, width, height, boxes[i]!, out, out), reference);
    sharpError += meanAbsError(await sharpCrop(frame, boxes[i]!), reference);
  }
  ownError /= exact.length;
  sharpError /= exact.length;
  const sharpFits = sharpPerS >= ownPerS && sharpError <= ownError;
  return {
    name: "resample",
    title: "Face-crop resampling: own area resampler vs sharp",
    method:
      `A deterministic 1280x720 RGB frame (gradients plus pixel noise) and ${crops} square face boxes of 220-380 px at sub-pixel positions, ` +
      `each cropped and resized to ${out}x${out}: @hrpipe/face resizeArea (exact area average over the real-valued box) against sharp ${sharp.versions.sharp} ` +
      `(libvips ${sharp.versions.vips}; extract needs whole pixels, then resize with its default kernel), one crop at a time as the face stage needs them. ` +
      `Error: mean absolute difference per channel value from a float64 area average over the exact box (first 50 boxes). ` +
      `Decision: ${sharpFits ? "sharp is at least as fast and as exact, so it would replace the resampler" : "the face stage keeps its own resampler, because sharp is slower or less exact here (the contact sheet uses sharp)"}.`,
    rows: [
      {
        metric: "own resampler",
        value: ownPerS,
        unit: "crops/s",
        reference: { what: "sharp", value: sharpPerS },
      },
      { metric: "own resampler error", value: ownError, unit: "levels" },
      { metric: "sharp error", value: sharpError, unit: "levels" },
    ],
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
