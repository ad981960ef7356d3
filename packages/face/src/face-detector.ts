import {
  buildLandmarkNetGraph,
  buildTinyFaceDetectorGraph,
  FaceNetSession,
  landmarkNetInputSize,
  readFaceApiWeights,
} from "@hrpipe/model";
import { loadFaceApi, onFaceApiImage } from "./face-api.ts";
import { faceModelsDir } from "./face-models.ts";
import { type Box, iou, squareCrop } from "./image.ts";
import type { Picture } from "./picture.ts";

/** A face box in pixels of the image it was found in. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export type DetectorKind = "tiny" | "ssd";

export interface FaceDetectorOptions {
  kind?: DetectorKind;
  /** TinyFaceDetector input size (multiple of 32): larger finds smaller faces, slower. */
  inputSize?: number;
  minScore?: number;
}

/** SSD MobileNet v1 in face-api resizes every input to 512 x 512. */
const ssdInputSize = 512;
/**
 * TinyFaceDetector's network size for a region twice a known face's size: the face then spans
 * about 80 pixels, well inside the detector's range, at a quarter of the cost of a 320 input.
 */
const tinyRegionInputSize = 160;

/** face-api's TinyFaceDetector anchors (box sizes in cells) and the overlap its non-maximum suppression allows. */
const tinyFaceAnchors: [number, number][] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
const tinyFaceIouThreshold = 0.4;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * The faces in one image's TinyFaceDetector cells ([S/32, S/32, 25] for an input of side S, per cell
 * and anchor the box offsets and the score before their sigmoid): boxes scoring above minScore, in
 * pixels of the input, decoded as face-api does, after its non-maximum suppression.
 */
export function tinyFaceBoxes(cells: Float32Array, side: number, minScore: number): FaceBox[] {
  const count = Math.round(Math.sqrt(cells.length / 25));
  const found: FaceBox[] = [];
  for (let row = 0; row < count; row++)
    for (let col = 0; col < count; col++)
      for (const [anchor, [anchorW, anchorH]] of tinyFaceAnchors.entries()) {
        const at = ((row * count + col) * tinyFaceAnchors.length + anchor) * 5;
        const score = sigmoid(cells[at + 4]!);
        if (score <= minScore) continue;
        const width = (Math.exp(cells[at + 2]!) * anchorW) / count;
        const height = (Math.exp(cells[at + 3]!) * anchorH) / count;
        const x = (col + sigmoid(cells[at]!)) / count - width / 2;
        const y = (row + sigmoid(cells[at + 1]!)) / count - height / 2;
        found.push({ x: x * side, y: y * side, width: width * side, height: height * side, score });
      }
  // Highest score first; a box overlapping a kept one by more than the threshold is dropped.
  const kept: FaceBox[] = [];
  for (const face of found.sort((a, b) => b.score - a.score))
    if (kept.every((other) => iou(face, other) <= tinyFaceIouThreshold)) kept.push(face);
  return kept;
}

/** Finds the faces in a square RGB image of a network's side. */
type SquareDetector = (square: Uint8Array, side: number) => Promise<FaceBox[]>;

/**
 * face-api's face detectors: TinyFaceDetector in ONNX Runtime (its graph built from face-api's shipped
 * weights), SSD MobileNet v1 through face-api on hrpipe's tfjs backend.
 */
export class FaceDetector {
  private constructor(
    private readonly detectSquare: SquareDetector,
    readonly kind: DetectorKind,
    /** The longest image side the network looks at. */
    readonly inputSize: number,
  ) {}

  /** The network size for a region around a face already found (see `detect`'s inputSize). */
  get regionInputSize(): number {
    return this.kind === "tiny" ? Math.min(tinyRegionInputSize, this.inputSize) : ssdInputSize;
  }

  static async create(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
    const kind = options.kind ?? "tiny";
    const minScore = options.minScore ?? 0.4;
    if (kind === "tiny") {
      const inputSize = options.inputSize ?? 416;
      if (inputSize % 32 !== 0)
        throw new Error(
          `The face detector's input size must be a multiple of 32, got ${inputSize}; set --input-size to one (e.g. 320).`,
        );
      const net = await FaceNetSession.create(
        buildTinyFaceDetectorGraph(readFaceApiWeights(faceModelsDir(), "tiny_face_detector_model")),
      );
      const detect: SquareDetector = async (square, side) =>
        tinyFaceBoxes(await net.run(square, 1, side), side, minScore);
      return new FaceDetector(detect, kind, inputSize);
    }
    const api = await loadFaceApi(["ssdMobilenetv1"]);
    const ssdOptions = new api.SsdMobilenetv1Options({ minConfidence: minScore });
    const detect: SquareDetector = async (square, side) =>
      (await onFaceApiImage(api, square, side, (input) => api.detectAllFaces(input, ssdOptions))).map(
        ({ box, score }) => ({ x: box.x, y: box.y, width: box.width, height: box.height, score }),
      );
    return new FaceDetector(detect, kind, ssdInputSize);
  }

  /**
   * Every face in a picture, largest first, in pixels of the picture. `inputSize` (a multiple of 32)
   * overrides the TinyFaceDetector's network size for this call: smaller is quadratically cheaper and
   * suits a region around a face. The network looks at `region` (by default the picture padded to a
   * square, black below or to the right, as face-api pads it), resized by area averaging to its side
   * unless it is that square already.
   */
  async detect(picture: Picture, inputSize?: number, region?: Box): Promise<FaceBox[]> {
    const side = this.kind === "tiny" ? (inputSize ?? this.inputSize) : ssdInputSize;
    const imageSide = Math.max(picture.width, picture.height);
    const area = region ?? { x: 0, y: 0, width: imageSide, height: imageSide };
    const square =
      !region && picture.width === side && picture.height === side
        ? picture.rgb
        : picture.resized(area, side, side);
    const scale = area.width / side;
    return (await this.detectSquare(square, side))
      .map((f) => ({
        x: area.x + f.x * scale,
        y: area.y + f.y * scale,
        width: f.width * scale,
        height: f.height * scale,
        score: f.score,
      }))
      .sort((a, b) => b.width * b.height - a.width * a.height);
  }
}

/** face-api's 68-point landmark net (iBUG 300-W points) in ONNX Runtime, applied to a face already found. */
export class LandmarkDetector {
  private constructor(private readonly net: FaceNetSession) {}

  static async create(): Promise<LandmarkDetector> {
    const weights = readFaceApiWeights(faceModelsDir(), "face_landmark_68_model");
    return new LandmarkDetector(await FaceNetSession.create(buildLandmarkNetGraph(weights)));
  }

  /** The 68 landmarks of the face in `box`, [x0, y0, ..., x67, y67] in frame pixels. */
  async locate(picture: Picture, box: Box): Promise<Float32Array> {
    // The net was trained on detector boxes padded to a square; the square around the box is that.
    const square = squareCrop(box, 0);
    const crop = picture.resized(square, landmarkNetInputSize, landmarkNetInputSize);
    const relative = await this.net.run(crop, 1, landmarkNetInputSize);
    const points = new Float32Array(relative.length);
    for (let i = 0; i < relative.length; i += 2) {
      points[i] = square.x + relative[i]! * square.width;
      points[i + 1] = square.y + relative[i + 1]! * square.height;
    }
    return points;
  }
}
