import { createRequire } from "node:module";
import {
  buildLandmarkNetGraph,
  buildTinyFaceDetectorGraph,
  FaceNetSession,
  landmarkNetInputSize,
  readFaceApiWeights,
  selectTfjsBackend,
  type TfjsBackendName,
  tinyFaceBoxes,
} from "@hrpipe/model";
import { faceModelsDir } from "./face-models.ts";
import { type Box, resizeArea, squareCrop } from "./image.ts";

const require = createRequire(import.meta.url);

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

// face-api ships one build per tfjs flavour; each must share the tfjs engine hrpipe selected.
const faceApiBuild: Record<TfjsBackendName, string> = {
  "tensorflow-gpu": "@vladmandic/face-api/dist/face-api.node-gpu.js",
  tensorflow: "@vladmandic/face-api/dist/face-api.node.js",
  wasm: "@vladmandic/face-api/dist/face-api.node-wasm.js",
  cpu: "@vladmandic/face-api/dist/face-api.node-wasm.js",
};

interface FaceApi {
  tf: { tensor3d(data: Uint8Array, shape: [number, number, number], dtype: "int32"): { dispose(): void } };
  nets: { ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  detectAllFaces(
    input: unknown,
    options: unknown,
  ): Promise<{ box: { x: number; y: number; width: number; height: number }; score: number }[]>;
}

async function loadFaceApi(): Promise<FaceApi> {
  const { name } = await selectTfjsBackend();
  return require(faceApiBuild[name]) as FaceApi;
}

/** SSD MobileNet v1 in face-api resizes every input to 512 x 512. */
const ssdInputSize = 512;
/**
 * TinyFaceDetector's network size for a region twice a known face's size: the face then spans
 * about 80 pixels, well inside the detector's range, at a quarter of the cost of a 320 input.
 */
const tinyRegionInputSize = 160;

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
    const api = await loadFaceApi();
    await api.nets.ssdMobilenetv1.loadFromDisk(faceModelsDir());
    const ssdOptions = new api.SsdMobilenetv1Options({ minConfidence: minScore });
    const detect: SquareDetector = async (square, side) => {
      const input = api.tf.tensor3d(square, [side, side, 3], "int32");
      try {
        return (await api.detectAllFaces(input, ssdOptions)).map(({ box, score }) => ({
          x: box.x,
          y: box.y,
          width: box.width,
          height: box.height,
          score,
        }));
      } finally {
        input.dispose();
      }
    };
    return new FaceDetector(detect, kind, ssdInputSize);
  }

  /**
   * Every face in an RGB24 image, largest first. `inputSize` (a multiple of 32) overrides the
   * TinyFaceDetector's network size for this call: smaller is quadratically cheaper and suits an
   * image already reduced around a face. The image is padded to a square (black below or to the
   * right, as face-api pads it) and resized to the network's side unless it is that square already.
   */
  async detect(rgb: Uint8Array, width: number, height: number, inputSize?: number): Promise<FaceBox[]> {
    const side = this.kind === "tiny" ? (inputSize ?? this.inputSize) : ssdInputSize;
    const imageSide = Math.max(width, height);
    const square =
      width === side && height === side
        ? rgb
        : resizeArea(rgb, width, height, { x: 0, y: 0, width: imageSide, height: imageSide }, side, side);
    const scale = imageSide / side;
    return (await this.detectSquare(square, side))
      .map((f) => ({
        x: f.x * scale,
        y: f.y * scale,
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
  async locate(rgb: Uint8Array, width: number, height: number, box: Box): Promise<Float32Array> {
    // The net was trained on detector boxes padded to a square; the square around the box is that.
    const square = squareCrop(box, 0);
    const crop = resizeArea(rgb, width, height, square, landmarkNetInputSize, landmarkNetInputSize);
    const relative = await this.net.run(crop, 1, landmarkNetInputSize);
    const points = new Float32Array(relative.length);
    for (let i = 0; i < relative.length; i += 2) {
      points[i] = square.x + relative[i]! * square.width;
      points[i + 1] = square.y + relative[i + 1]! * square.height;
    }
    return points;
  }
}
