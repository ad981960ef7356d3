import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { FaceDetector, Picture } from "@hrpipe/face";
import { resolveTool, VideoEncoder } from "@hrpipe/media";
import { cardiacPhase, type HeartRateTrajectory, pulseWave } from "./pulse.ts";

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

/** The sample photos shipped with @vladmandic/face-api (group photos of real faces). */
export function samplePhoto(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 6)
    throw new RangeError(`sample photo ${index} does not exist; use 1 to 6.`);
  return path.join(
    path.dirname(require.resolve("@vladmandic/face-api/package.json")),
    "demo",
    `sample${index}.jpg`,
  );
}

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** Decodes (and optionally crops and scales) an image file to RGB24 with ffmpeg. */
export async function loadImage(
  file: string,
  filter?: string,
  size?: { width: number; height: number },
): Promise<RgbImage> {
  const args = [
    "-v",
    "error",
    "-i",
    file,
    ...(filter ? ["-filter_complex", filter] : []),
    "-frames:v",
    "1",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  ];
  const { stdout } = await execFileAsync(resolveTool("ffmpeg").path, args, {
    encoding: "buffer",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (size) return { rgb: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length), ...size };
  const probe = await execFileAsync(resolveTool("ffprobe").path, [
    "-v",
    "error",
    "-show_entries",
    "stream=width,height",
    "-of",
    "csv=p=0",
    file,
  ]);
  const [width, height] = probe.stdout.trim().split(",").map(Number) as [number, number];
  return { rgb: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length), width, height };
}

export interface PortraitSpec {
  photo: number;
  /** Which face of the photo, largest first. */
  face: number;
}

/**
 * A background plate for a face video: the chosen face of a sample photo, alone and filling about
 * 40% of the frame height, at the frame size plus a margin for motion.
 */
export async function loadPortrait(
  spec: PortraitSpec,
  width: number,
  height: number,
  marginPx: number,
): Promise<RgbImage> {
  const file = samplePhoto(spec.photo);
  const photo = await loadImage(file);
  const detector = await FaceDetector.create({ kind: "tiny", inputSize: 608 });
  const faces = await detector.detect(new Picture(photo.rgb, photo.width, photo.height));
  const face = faces[spec.face];
  if (!face)
    throw new RangeError(
      `sample photo ${spec.photo} has ${faces.length} faces; face ${spec.face} does not exist.`,
    );
  const plateWidth = width + 2 * marginPx;
  const plateHeight = height + 2 * marginPx;
  // One person: a window around the face (1.9 face widths by 2.6 face heights) scaled to the plate's
  // height, over a heavily blurred copy of itself filling the sides.
  const cropHeight = Math.min(photo.height, face.height * 2.6);
  const cropWidth = Math.min(photo.width, face.width * 1.9);
  const left = Math.round(
    Math.min(Math.max(face.x + face.width / 2 - cropWidth / 2, 0), photo.width - cropWidth),
  );
  const top = Math.round(
    Math.min(Math.max(face.y + face.height * 0.45 - cropHeight / 2, 0), photo.height - cropHeight),
  );
  const filter =
    `crop=${Math.round(cropWidth)}:${Math.round(cropHeight)}:${left}:${top},split[a][b];` +
    `[b]scale=${plateWidth}:${plateHeight},boxblur=${Math.max(1, Math.min(40, Math.floor(Math.min(plateWidth, plateHeight) / 8)))}:2[bg];[a]scale=-2:${plateHeight}:flags=area[fg];` +
    // A little optical blur, as any camera has; it also keeps sub-pixel resampling from flickering.
    "[bg][fg]overlay=(W-w)/2:0,gblur=sigma=1.2";
  return loadImage(file, filter, { width: plateWidth, height: plateHeight });
}

export interface FaceVideoSpec {
  out: string;
  width: number;
  height: number;
  fps: number;
  durationS: number;
  portrait: PortraitSpec;
  heart: HeartRateTrajectory;
  /** Peak relative change of the green channel from the pulse (0.005 = 0.5%). */
  pulseAmplitude: number;
  /** Head motion: peak displacement in pixels (slow sinusoids in x and y). */
  motionPx: number;
  /** Illumination drift: peak relative change of brightness over tens of seconds. */
  illuminationDrift: number;
  /** Sensor noise standard deviation, in 8-bit levels. */
  noiseLevel: number;
  seed: number;
  crf?: number;
  /** Draws the frame index as a 16-bit barcode in the top-left corner (for decode tests). */
  barcode?: boolean;
}

/** Relative pulsatility of R, G, B in skin (de Haan & Jeanne 2013), normalised to green. */
const pulsatility = [0.33 / 0.77, 1, 0.53 / 0.77] as const;

export const barcodeBits = 16;
export const barcodeCell = 16;

/** Reads the barcode written by `barcode: true` back from a decoded RGB frame. */
export function readBarcode(rgb: Uint8Array, width: number): number {
  let value = 0;
  for (let bit = 0; bit < barcodeBits; bit++) {
    const x = bit * barcodeCell + barcodeCell / 2;
    const y = barcodeCell / 2;
    if (rgb[(y * width + x) * 3 + 1]! > 128) value |= 1 << bit;
  }
  return value;
}

function skinMask(plate: RgbImage): Uint8Array {
  const mask = new Uint8Array(plate.width * plate.height);
  for (let i = 0; i < mask.length; i++) {
    const r = plate.rgb[i * 3]!;
    const g = plate.rgb[i * 3 + 1]!;
    const b = plate.rgb[i * 3 + 2]!;
    const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    mask[i] = cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173 ? 1 : 0;
  }
  return mask;
}

/** A table of Gaussian noise read at a random offset per frame: fresh-looking noise at copy cost. */
function noiseTable(seed: number, size: number, sd: number): Int8Array {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const table = new Int8Array(size);
  for (let i = 0; i < size; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    table[i] = Math.max(-127, Math.min(127, Math.round(z * sd)));
  }
  return table;
}

export interface FaceVideoTruth {
  fps: number;
  frameCount: number;
  /** Heart rate of every frame, bpm. */
  hrBpm: number[];
}

/**
 * Renders a face video: a real face photo moving slowly, its skin brightened by a pulse of known rate,
 * under drifting illumination and sensor noise, encoded as H.264. Returns the per-frame true rate.
 */
export async function renderFaceVideo(spec: FaceVideoSpec): Promise<FaceVideoTruth> {
  const margin = Math.ceil(spec.motionPx) + 1;
  const plate = await loadPortrait(spec.portrait, spec.width, spec.height, margin);
  const mask = skinMask(plate);
  const frameCount = Math.round(spec.durationS * spec.fps);
  const phase = cardiacPhase(spec.heart, spec.durationS, spec.fps);
  const frameBytes = spec.width * spec.height * 3;
  const noise = noiseTable(spec.seed, frameBytes + 65_536, spec.noiseLevel);
  const encoder = new VideoEncoder(spec.out, {
    width: spec.width,
    height: spec.height,
    fps: spec.fps,
    crf: spec.crf ?? 18,
  });
  const frame = new Uint8Array(frameBytes);
  const hrBpm: number[] = [];
  let noiseOffset = spec.seed % 65_536;
  for (let k = 0; k < frameCount; k++) {
    const timeS = k / spec.fps;
    hrBpm.push(spec.heart.hrBpmAt(timeS));
    // Sub-pixel head motion: the plate is resampled bilinearly, as a camera sees a moving head.
    const dx = margin + spec.motionPx * Math.sin(2 * Math.PI * 0.11 * timeS + spec.seed);
    const dy = margin + 0.6 * spec.motionPx * Math.sin(2 * Math.PI * 0.07 * timeS + 2 * spec.seed);
    const x0 = Math.floor(dx);
    const y0 = Math.floor(dy);
    const fx = dx - x0;
    const fy = dy - y0;
    const weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
    const taps = [0, 1, plate.width, plate.width + 1];
    const light = 1 + spec.illuminationDrift * Math.sin(2 * Math.PI * 0.03 * timeS + spec.seed);
    const pulse = spec.pulseAmplitude * pulseWave(phase[k]!);
    const skinGain = [
      light * (1 + pulse * pulsatility[0]),
      light * (1 + pulse * pulsatility[1]),
      light * (1 + pulse * pulsatility[2]),
    ];
    noiseOffset = (noiseOffset * 1103515245 + 12345) % 65_536;
    for (let y = 0; y < spec.height; y++) {
      const plateRow = (y + y0) * plate.width + x0;
      const frameRow = y * spec.width;
      for (let x = 0; x < spec.width; x++) {
        const s = plateRow + x;
        const p = (frameRow + x) * 3;
        for (let c = 0; c < 3; c++) {
          let value = 0;
          for (let t = 0; t < 4; t++) {
            const q = s + taps[t]!;
            value += weights[t]! * plate.rgb[q * 3 + c]! * (mask[q] === 1 ? skinGain[c]! : light);
          }
          value += noise[noiseOffset + p + c]!;
          frame[p + c] = value < 0 ? 0 : value > 255 ? 255 : value + 0.5;
        }
      }
    }
    if (spec.barcode) {
      for (let bit = 0; bit < barcodeBits; bit++) {
        const level = (k >> bit) & 1 ? 255 : 0;
        for (let y = 0; y < barcodeCell; y++)
          frame.fill(
            level,
            (y * spec.width + bit * barcodeCell) * 3,
            (y * spec.width + (bit + 1) * barcodeCell) * 3,
          );
      }
    }
    await encoder.write(frame);
  }
  await encoder.close();
  return { fps: spec.fps, frameCount, hrBpm };
}
