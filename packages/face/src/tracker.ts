import type { Box } from "./image.ts";
import type { Picture } from "./picture.ts";

/** Samples of the inner part of a box (a side-by-side grid), grey levels of a picture. */
export const patchSize = 48;
/** The inner share of the box that is tracked: the face itself, not the background at its edges. */
const innerShare = 0.7;

const columnFirst = new Int32Array(patchSize);
const columnFraction = new Float64Array(patchSize);

/** Bilinear samples of the grey image on a patchSize x patchSize grid over the inner box, moved by (dx, dy). */
function samplePatch(picture: Picture, box: Box, dx: number, dy: number, patch: Float32Array): Float32Array {
  const stepX = (box.width * innerShare) / patchSize;
  const stepY = (box.height * innerShare) / patchSize;
  const left = box.x + (box.width * (1 - innerShare)) / 2 + dx;
  const top = box.y + (box.height * (1 - innerShare)) / 2 + dy;
  const { width, height } = picture;
  // Every row of the grid samples the same columns: their pixels and weights are found once.
  for (let i = 0; i < patchSize; i++) {
    const cx = Math.min(Math.max(left + (i + 0.5) * stepX, 0), width - 1.001);
    columnFirst[i] = Math.floor(cx);
    columnFraction[i] = cx - columnFirst[i]!;
  }
  const centreY = (j: number) => Math.min(Math.max(top + (j + 0.5) * stepY, 0), height - 1.001);
  const x0 = columnFirst[0]!;
  const y0 = Math.floor(centreY(0));
  // The grid's pixels and their right and lower neighbours, read straight from the RGB24.
  const rgb = picture.rgbOf({
    x: x0,
    y: y0,
    width: columnFirst[patchSize - 1]! + 2 - x0,
    height: Math.floor(centreY(patchSize - 1)) + 2 - y0,
  });
  const luma = (p: number) => 0.299 * rgb[p * 3]! + 0.587 * rgb[p * 3 + 1]! + 0.114 * rgb[p * 3 + 2]!;
  for (let j = 0; j < patchSize; j++) {
    const cy = centreY(j);
    const row = Math.floor(cy);
    const fy = cy - row;
    for (let i = 0; i < patchSize; i++) {
      const fx = columnFraction[i]!;
      const p = row * width + columnFirst[i]!;
      const upper = (1 - fx) * luma(p) + fx * luma(p + 1);
      const lower = (1 - fx) * luma(p + width) + fx * luma(p + width + 1);
      patch[j * patchSize + i] = (1 - fy) * upper + fy * lower;
    }
  }
  return patch;
}

/**
 * Follows a face from frame to frame by its image content: the translation that best aligns the
 * face patch of the previous frame with the current one (inverse-compositional Lucas-Kanade on a
 * 48 x 48 grey patch, sub-pixel). Unlike detections, whose boxes snap to the detector's grid, the
 * tracked box moves with the skin, so the skin region of the colour trace stays put on the face.
 */
export class FaceTracker {
  private template: Float32Array | undefined;
  private readonly gradX = new Float32Array(patchSize * patchSize);
  private readonly gradY = new Float32Array(patchSize * patchSize);
  private readonly warped = new Float32Array(patchSize * patchSize);
  private inverseHessian: [number, number, number] = [0, 0, 0];
  box: Box | undefined;

  constructor(
    /** Weight of a new detection's position against the tracked one (0: ignore detections, 1: jump to them). */
    private readonly positionGain = 0.1,
    /**
     * Weight of a new detection's size. Faces change size slowly, but detections of one face jitter by
     * +/-5% in size, and every size change moves the skin region over the face: so, very little.
     */
    private readonly sizeGain = 0.03,
  ) {}

  reset(): void {
    this.template = undefined;
    this.box = undefined;
  }

  private setTemplate(picture: Picture): void {
    const box = this.box!;
    const template = samplePatch(picture, box, 0, 0, this.template ?? new Float32Array(patchSize ** 2));
    let hxx = 0;
    let hxy = 0;
    let hyy = 0;
    for (let j = 0; j < patchSize; j++) {
      for (let i = 0; i < patchSize; i++) {
        const k = j * patchSize + i;
        const gx = i > 0 && i < patchSize - 1 ? (template[k + 1]! - template[k - 1]!) / 2 : 0;
        const gy = j > 0 && j < patchSize - 1 ? (template[k + patchSize]! - template[k - patchSize]!) / 2 : 0;
        this.gradX[k] = gx;
        this.gradY[k] = gy;
        hxx += gx * gx;
        hxy += gx * gy;
        hyy += gy * gy;
      }
    }
    const det = hxx * hyy - hxy * hxy;
    this.inverseHessian = det > 1e-9 ? [hyy / det, -hxy / det, hxx / det] : [0, 0, 0];
    this.template = template;
  }

  /** Moves the box with the content of the new frame; returns the tracked box. */
  track(picture: Picture): Box | undefined {
    if (!this.box || !this.template) return this.box;
    const box = this.box;
    const stepX = (box.width * innerShare) / patchSize;
    const stepY = (box.height * innerShare) / patchSize;
    let dx = 0;
    let dy = 0;
    for (let iteration = 0; iteration < 8; iteration++) {
      const warped = samplePatch(picture, box, dx, dy, this.warped);
      let bx = 0;
      let by = 0;
      for (let k = 0; k < warped.length; k++) {
        const error = warped[k]! - this.template[k]!;
        bx += this.gradX[k]! * error;
        by += this.gradY[k]! * error;
      }
      const [a, b, c] = this.inverseHessian;
      const stepI = a * bx + b * by;
      const stepJ = b * bx + c * by;
      dx -= stepI * stepX;
      dy -= stepJ * stepY;
      if (Math.abs(stepI) < 0.01 && Math.abs(stepJ) < 0.01) break;
    }
    this.box = { ...box, x: box.x + dx, y: box.y + dy };
    this.setTemplate(picture);
    return this.box;
  }

  /** Takes a detection into account: the first one places the box, later ones pull it gently. */
  correct(detection: Box, picture: Picture): Box {
    const box = this.box;
    if (box) {
      const centreX =
        box.x +
        box.width / 2 +
        this.positionGain * (detection.x + detection.width / 2 - (box.x + box.width / 2));
      const centreY =
        box.y +
        box.height / 2 +
        this.positionGain * (detection.y + detection.height / 2 - (box.y + box.height / 2));
      const width = box.width + this.sizeGain * (detection.width - box.width);
      const height = box.height + this.sizeGain * (detection.height - box.height);
      this.box = { x: centreX - width / 2, y: centreY - height / 2, width, height };
    } else {
      this.box = { x: detection.x, y: detection.y, width: detection.width, height: detection.height };
    }
    this.setTemplate(picture);
    return this.box;
  }
}
