import { createRequire } from "node:module";
import { selectTfjsBackend, type TfjsBackendName } from "@hrpipe/model";
import { faceModelsDir } from "./face-models.ts";

const require = createRequire(import.meta.url);

/** A tfjs tensor, as much of it as hrpipe reads. */
export interface FaceApiTensor {
  dataSync(): Float32Array;
  dispose(): void;
}

interface FaceApiBox {
  box: { x: number; y: number; width: number; height: number };
  score: number;
}

/**
 * @vladmandic/face-api, as much of it as hrpipe calls: SSD MobileNet for `--detector ssd`, and its
 * TinyFaceDetector and 68-point landmark net as the reference the ONNX graphs are checked against.
 */
export interface FaceApi {
  tf: { tensor3d(data: Uint8Array, shape: [number, number, number], dtype: "int32"): FaceApiTensor };
  nets: {
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> };
    tinyFaceDetector: {
      loadFromDisk(dir: string): Promise<void>;
      forward(input: FaceApiTensor, size: number): Promise<FaceApiTensor>;
    };
    faceLandmark68Net: {
      loadFromDisk(dir: string): Promise<void>;
      forward(input: FaceApiTensor): Promise<FaceApiTensor>;
      detectLandmarks(input: FaceApiTensor): Promise<unknown>;
    };
  };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(input: FaceApiTensor, options: unknown): Promise<FaceApiBox[]>;
}

// face-api ships one build per tfjs flavour; each must share the tfjs engine hrpipe selected.
const faceApiBuild: Record<TfjsBackendName, string> = {
  "tensorflow-gpu": "@vladmandic/face-api/dist/face-api.node-gpu.js",
  tensorflow: "@vladmandic/face-api/dist/face-api.node.js",
  wasm: "@vladmandic/face-api/dist/face-api.node-wasm.js",
  cpu: "@vladmandic/face-api/dist/face-api.node-wasm.js",
};

/** face-api on hrpipe's tfjs backend (or the one pinned), with the given nets loaded from faceModelsDir. */
export async function loadFaceApi(
  nets: (keyof FaceApi["nets"])[],
  backend?: TfjsBackendName,
): Promise<FaceApi> {
  const { name } = await selectTfjsBackend(undefined, backend);
  const api = require(faceApiBuild[name]) as FaceApi;
  for (const net of nets) await api.nets[net].loadFromDisk(faceModelsDir());
  return api;
}

/** Runs face-api on a side x side RGB24 image, disposing of its tensor after. */
export async function onFaceApiImage<T>(
  api: FaceApi,
  image: Uint8Array,
  side: number,
  run: (input: FaceApiTensor) => Promise<T>,
): Promise<T> {
  const input = api.tf.tensor3d(image, [side, side, 3], "int32");
  try {
    return await run(input);
  } finally {
    input.dispose();
  }
}
