import { createRequire } from "node:module";
import { selectTfjsBackend, type TfjsBackendName } from "@hrpipe/model";
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
  nets: {
    tinyFaceDetector: { loadFromDisk(dir: string): Promise<void> };
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> };
    faceLandmark68Net: {
      loadFromDisk(dir: string): Promise<void>;
      detectLandmarks(input: unknown): Promise<{ positions: { x: number; y: number }[] }>;
    };
  };
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  detectAllFaces(
    input: unknown,
    options: unknown,
  ): Promise<{ box: { x: number; y: number; width: number; height: number }; score: number }[]>;
}

async function loadFaceApi(): Promise<{ name: TfjsBackendName; api: FaceApi }> {
  const { name } = await selectTfjsBackend();
  return { name, api: require(faceApiBuild[name]) as FaceApi };
}

/** SSD MobileNet v1 in face-api resizes every input to 512 x 512. */
const ssdInputSize = 512;
/**
 * TinyFaceDetector's network size for a region twice a known face's size: the face then spans
 * about 80 pixels, well inside the detector's range, at a quarter of the cost of a 320 input.
 */
const tinyRegionInputSize = 160;

/** @vladmandic/face-api on hrpipe's tfjs backend, with its models loaded from the package. */
export class FaceDetector {
  private constructor(
    private readonly api: FaceApi,
    private readonly detectorOptions: unknown,
    readonly kind: DetectorKind,
    readonly backend: TfjsBackendName,
    /** The longest image side the network looks at (face-api resizes every input to it). */
    readonly inputSize: number,
    private readonly minScore: number,
  ) {}

  /** The network size for a region around a face already found (see `detect`'s inputSize). */
  get regionInputSize(): number {
    return this.kind === "tiny" ? Math.min(tinyRegionInputSize, this.inputSize) : ssdInputSize;
  }

  static async create(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
    const { name, api } = await loadFaceApi();
    const kind = options.kind ?? "tiny";
    const minScore = options.minScore ?? 0.4;
    if (kind === "tiny") {
      const inputSize = options.inputSize ?? 416;
      await api.nets.tinyFaceDetector.loadFromDisk(faceModelsDir());
      return new FaceDetector(
        api,
        new api.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minScore }),
        kind,
        name,
        inputSize,
        minScore,
      );
    }
    await api.nets.ssdMobilenetv1.loadFromDisk(faceModelsDir());
    return new FaceDetector(
      api,
      new api.SsdMobilenetv1Options({ minConfidence: minScore }),
      kind,
      name,
      ssdInputSize,
      minScore,
    );
  }

  /**
   * Every face in an RGB24 image, largest first. `inputSize` (a multiple of 32) overrides the
   * TinyFaceDetector's network size for this call: smaller is quadratically cheaper and suits an
   * image already reduced around a face. SSD MobileNet always looks at 512 x 512.
   */
  async detect(rgb: Uint8Array, width: number, height: number, inputSize?: number): Promise<FaceBox[]> {
    const options =
      this.kind === "tiny" && inputSize !== undefined && inputSize !== this.inputSize
        ? new this.api.TinyFaceDetectorOptions({ inputSize, scoreThreshold: this.minScore })
        : this.detectorOptions;
    const input = this.api.tf.tensor3d(rgb, [height, width, 3], "int32");
    try {
      const found = await this.api.detectAllFaces(input, options);
      return found
        .map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height, score: d.score }))
        .sort((a, b) => b.width * b.height - a.width * a.height);
    } finally {
      input.dispose();
    }
  }
}

/** The landmark net's input: a 112 x 112 image of the face. */
const landmarkInputSize = 112;

/** face-api's 68-point landmark net (iBUG 300-W points), applied to a face already found. */
export class LandmarkDetector {
  private constructor(private readonly api: FaceApi) {}

  static async create(): Promise<LandmarkDetector> {
    const { api } = await loadFaceApi();
    await api.nets.faceLandmark68Net.loadFromDisk(faceModelsDir());
    return new LandmarkDetector(api);
  }

  /** The 68 landmarks of the face in `box`, [x0, y0, ..., x67, y67] in frame pixels. */
  async locate(rgb: Uint8Array, width: number, height: number, box: Box): Promise<Float32Array> {
    // The net was trained on detector boxes padded to a square; the square around the box is that.
    const square = squareCrop(box, 0);
    const crop = resizeArea(rgb, width, height, square, landmarkInputSize, landmarkInputSize);
    const input = this.api.tf.tensor3d(crop, [landmarkInputSize, landmarkInputSize, 3], "int32");
    try {
      const { positions } = await this.api.nets.faceLandmark68Net.detectLandmarks(input);
      const scale = square.width / landmarkInputSize;
      return Float32Array.from(positions.flatMap((p) => [square.x + p.x * scale, square.y + p.y * scale]));
    } finally {
      input.dispose();
    }
  }
}
