import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { resolveTool } from "@hrpipe/media";
import {
  buildLandmarkNetGraph,
  buildTinyFaceDetectorGraph,
  FaceNetSession,
  readFaceApiWeights,
} from "@hrpipe/model";
import { beforeAll, describe, expect, it } from "vitest";
import { type FaceApi, loadFaceApi, onFaceApiImage } from "../src/face-api.ts";
import { FaceDetector } from "../src/face-detector.ts";
import { faceModelsDir } from "../src/face-models.ts";
import { resizeArea, squareCrop } from "../src/image.ts";
import { Picture } from "../src/picture.ts";

const require = createRequire(import.meta.url);
const samples = path.join(path.dirname(require.resolve("@vladmandic/face-api/package.json")), "demo");
const photos = ["sample1.jpg", "sample2.jpg", "sample3.jpg"];

/** One of face-api's sample photos as RGB24, stretched to side x side. */
function photo(name: string, side: number): Uint8Array {
  return new Uint8Array(
    execFileSync(resolveTool("ffmpeg").path, [
      ...["-v", "error", "-i", path.join(samples, name), "-vf", `scale=${side}:${side}:flags=area`],
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
    ]),
  );
}

const maxAbsDifference = (a: Float32Array, b: Float32Array) =>
  a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i]!)), 0);

describe("face-api's nets in ONNX Runtime", () => {
  // face-api itself on tfjs's WebAssembly backend: the reference the ONNX graphs must reproduce.
  let api: FaceApi;
  beforeAll(async () => {
    api = await loadFaceApi(["tinyFaceDetector", "faceLandmark68Net"], "wasm");
  });

  it("TinyFaceDetector gives face-api's outputs and boxes on its sample photos, at 320 and 160", async () => {
    const net = await FaceNetSession.create(
      buildTinyFaceDetectorGraph(readFaceApiWeights(faceModelsDir(), "tiny_face_detector_model")),
    );
    const detector = await FaceDetector.create({ kind: "tiny", inputSize: 320 });
    let faces = 0;
    for (const side of [320, 160]) {
      for (const name of photos) {
        const image = photo(name, side);
        const theirs = await onFaceApiImage(api, image, side, async (input) => {
          const output = await api.nets.tinyFaceDetector.forward(input, side);
          const cells = output.dataSync();
          output.dispose();
          const options = new api.TinyFaceDetectorOptions({ inputSize: side, scoreThreshold: 0.4 });
          return { cells, boxes: await api.detectAllFaces(input, options) };
        });
        expect(maxAbsDifference(await net.run(image, 1, side), theirs.cells)).toBeLessThan(1e-4);
        const ours = await detector.detect(new Picture(image, side, side), side);
        const expected = theirs.boxes
          .map(({ box }) => [box.x, box.y, box.width, box.height])
          .sort((a, b) => b[2]! * b[3]! - a[2]! * a[3]!);
        expect(ours.map((f) => [f.x, f.y, f.width, f.height])).toHaveLength(expected.length);
        for (const [i, face] of ours.entries())
          for (const [k, v] of [face.x, face.y, face.width, face.height].entries())
            expect(Math.abs(v - expected[i]![k]!)).toBeLessThan(1e-3);
        faces += ours.length;
      }
    }
    // The photos hold faces the detector finds: the comparison is not of empty lists.
    expect(faces).toBeGreaterThanOrEqual(5);
  });

  it("the 68-point landmark net gives face-api's landmarks on the faces of its sample photos", async () => {
    const net = await FaceNetSession.create(
      buildLandmarkNetGraph(readFaceApiWeights(faceModelsDir(), "face_landmark_68_model")),
    );
    const detector = await FaceDetector.create({ kind: "tiny", inputSize: 320 });
    for (const name of photos) {
      const image = photo(name, 320);
      const [face] = await detector.detect(new Picture(image, 320, 320));
      const crop = resizeArea(image, 320, 320, squareCrop(face!, 0), 112, 112);
      const theirs = await onFaceApiImage(api, crop, 112, async (input) => {
        const output = await api.nets.faceLandmark68Net.forward(input);
        const landmarks = output.dataSync();
        output.dispose();
        return landmarks;
      });
      expect(theirs).toHaveLength(136);
      expect(maxAbsDifference(await net.run(crop, 1, 112), theirs)).toBeLessThan(1e-4);
    }
  });

  it("refuses weights that do not fit the net, naming the weight", () => {
    const weights = readFaceApiWeights(faceModelsDir(), "face_landmark_68_model");
    weights.delete("fc/bias");
    expect(() => buildLandmarkNetGraph(weights)).toThrow(/weight fc\/bias is missing, expected \[136\]/);
    const detector = readFaceApiWeights(faceModelsDir(), "tiny_face_detector_model");
    detector.set("conv8/bias", { shape: [24], data: new Float32Array(24) });
    expect(() => buildTinyFaceDetectorGraph(detector)).toThrow(
      /weight conv8\/bias is \[24\], expected \[25\]/,
    );
  });
});
