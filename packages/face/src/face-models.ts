import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The folder of face-api's shipped model weights (TinyFaceDetector, SSD MobileNet, landmarks). */
export function faceModelsDir(): string {
  return path.join(path.dirname(require.resolve("@vladmandic/face-api/package.json")), "model");
}

export const requiredFaceModels = [
  "tiny_face_detector_model",
  "ssd_mobilenetv1_model",
  "face_landmark_68_model",
];

/** Which required models are missing (manifest or weights file); empty when all are present. */
export function missingFaceModels(dir = faceModelsDir()): string[] {
  const files = existsSync(dir) ? new Set(readdirSync(dir)) : new Set<string>();
  return requiredFaceModels.filter(
    (model) => !files.has(`${model}-weights_manifest.json`) || !files.has(`${model}.bin`),
  );
}
