import type { SkinMean } from "./image.ts";
import type { Picture } from "./picture.ts";

/**
 * The skin of a face from its 68 landmarks (iBUG 300-W numbering, as face-api's landmark net
 * returns them): the area inside the jaw line and up to the forehead, with the eyes, the brows and
 * the mouth cut out. This follows the face wherever it turns, and leaves out hair, background and
 * the parts of the face that move or are not skin, which a face box's ellipse cannot.
 *
 * On the seven UBFC-rPPG development videos (BENCHMARKS.md, `pnpm bench rppg-real`) this area gave
 * POS a 10-s window MAE of 2.75 bpm where the box ellipse gave 7.5; separate forehead and cheek regions
 * were each worse (16-27 bpm: too few pixels survive this compression), combining them by SNR did
 * not recover the loss, and a skin-colour test inside the area changed little for POS and hurt
 * CHROM and OMIT (pixels flickering in and out of the mask), so none is applied.
 */
export interface SkinArea {
  /** The outline: jaw line and forehead, [x0, y0, x1, y1, ...] in frame pixels. */
  outline: Float64Array;
  /** Eyes, brows and mouth, cut out of the outline. */
  holes: Float64Array[];
}

/** 68 landmarks as [x0, y0, ..., x67, y67] in frame pixels. */
export type Landmarks68 = Float32Array | Float64Array;

type Point = [number, number];

function point(landmarks: Landmarks68, i: number): Point {
  return [landmarks[i * 2]!, landmarks[i * 2 + 1]!];
}

/** The polygon scaled about its centroid by `factor`. */
function scaled(corners: Point[], factor: number): Float64Array {
  const cx = corners.reduce((s, [x]) => s + x, 0) / corners.length;
  const cy = corners.reduce((s, [, y]) => s + y, 0) / corners.length;
  return Float64Array.from(corners.flatMap(([x, y]) => [cx + (x - cx) * factor, cy + (y - cy) * factor]));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function skinArea(landmarks: Landmarks68): SkinArea {
  // The face's own up direction and scale: from the chin (8) to the top of the nose (27).
  const [chinX, chinY] = point(landmarks, 8);
  const [noseX, noseY] = point(landmarks, 27);
  const scale = Math.hypot(noseX - chinX, noseY - chinY) || 1;
  const up: Point = [(noseX - chinX) / scale, (noseY - chinY) / scale];
  const raised = (i: number, by: number): Point => {
    const [x, y] = point(landmarks, i);
    return [x + up[0] * by * scale, y + up[1] * by * scale];
  };
  const brows = range(17, 26);
  // The forehead reaches a third of the chin-to-nose distance above the brows, short of the hair line.
  const outline = scaled(
    [...range(0, 16).map((i) => point(landmarks, i)), ...brows.toReversed().map((i) => raised(i, 0.35))],
    0.92,
  );
  const holes = [
    scaled(
      range(36, 41).map((i) => point(landmarks, i)),
      1.8,
    ),
    scaled(
      range(42, 47).map((i) => point(landmarks, i)),
      1.8,
    ),
    scaled(
      range(48, 59).map((i) => point(landmarks, i)),
      1.3,
    ),
    scaled([...brows.map((i) => raised(i, 0.06)), ...brows.toReversed().map((i) => raised(i, -0.06))], 1.1),
  ];
  return { outline, holes };
}

/**
 * Where a polygon crosses the horizontal line at y, sorted, written to `xs` from its start: inside
 * spans are [x0, x1], [x2, x3], ... Returns how many. Called for every row of every frame, so it
 * allocates nothing.
 */
function crossings(polygon: Float64Array, y: number, xs: Float64Array): number {
  const n = polygon.length / 2;
  let count = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const yi = polygon[i * 2 + 1]!;
    const yj = polygon[j * 2 + 1]!;
    if (yi > y === yj > y) continue;
    const xi = polygon[i * 2]!;
    const x = xi + ((y - yi) / (yj - yi)) * (polygon[j * 2]! - xi);
    let k = count++;
    for (; k > 0 && xs[k - 1]! > x; k--) xs[k] = xs[k - 1]!;
    xs[k] = x;
  }
  return count;
}

/**
 * The pixel columns of a row whose centres (x + 0.5) lie inside the spans a polygon's crossings make:
 * [first, last] pairs, first from crossing 2k, up to but not including crossing 2k + 1.
 */
function holeColumns(xs: Float64Array, count: number, columns: number[]): void {
  for (let k = 0; k + 1 < count; k += 2) {
    const first = Math.ceil(xs[k]! - 0.5);
    const last = Math.ceil(xs[k + 1]! - 0.5) - 1;
    if (last >= first) columns.push(first, last);
  }
}

/** The lowest and highest y of a polygon's corners. */
function verticalExtent(polygon: Float64Array): [number, number] {
  let top = Number.POSITIVE_INFINITY;
  let bottom = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < polygon.length; i += 2) {
    top = Math.min(top, polygon[i]!);
    bottom = Math.max(bottom, polygon[i]!);
  }
  return [top, bottom];
}

/** Mean colour of the pixels whose centres lie inside the outline and outside every hole. */
export function skinAreaMean(picture: Picture, area: SkinArea): SkinMean {
  const { width, height } = picture;
  const [top, bottom] = verticalExtent(area.outline);
  // Most rows cross no hole: a hole's crossings are only looked for within its own rows.
  const holeExtents = area.holes.map(verticalExtent);
  const sums = new Float64Array(3);
  let pixels = 0;
  const holes: number[] = [];
  const xs = new Float64Array(Math.max(area.outline.length, ...area.holes.map((hole) => hole.length)) / 2);
  const outer = new Float64Array(area.outline.length / 2);
  let order = new Int32Array(0);
  for (let y = Math.max(0, Math.floor(top)); y < Math.min(height, Math.ceil(bottom)); y++) {
    const centre = y + 0.5;
    const outerCount = crossings(area.outline, centre, outer);
    // The holes' columns on this row as [first, last] pairs, skipped run by run in order of first.
    holes.length = 0;
    for (let i = 0; i < area.holes.length; i++) {
      const [holeTop, holeBottom] = holeExtents[i]!;
      if (centre > holeTop && centre < holeBottom)
        holeColumns(xs, crossings(area.holes[i]!, centre, xs), holes);
    }
    const holeCount = holes.length / 2;
    if (order.length < holeCount) order = new Int32Array(holes.length);
    for (let i = 0; i < holeCount; i++) {
      let k = i;
      for (; k > 0 && holes[2 * order[k - 1]!]! > holes[2 * i]!; k--) order[k] = order[k - 1]!;
      order[k] = i;
    }
    for (let k = 0; k + 1 < outerCount; k += 2) {
      let x = Math.max(0, Math.ceil(outer[k]! - 0.5));
      const x1 = Math.min(width - 1, Math.floor(outer[k + 1]! - 0.5));
      for (let h = 0; x <= x1; h++) {
        // The next hole that starts at or after x ends this run; one already begun moves x past it.
        const next = h < holeCount ? order[h]! : -1;
        const runEnd = next < 0 ? x1 : Math.min(x1, holes[2 * next]! - 1);
        if (runEnd >= x) {
          picture.addRun(y, x, runEnd, sums);
          pixels += runEnd - x + 1;
          x = runEnd + 1;
        }
        if (next >= 0) x = Math.max(x, holes[2 * next + 1]! + 1);
        else break;
      }
    }
  }
  return pixels === 0
    ? { r: Number.NaN, g: Number.NaN, b: Number.NaN, pixels }
    : { r: sums[0]! / pixels, g: sums[1]! / pixels, b: sums[2]! / pixels, pixels };
}
