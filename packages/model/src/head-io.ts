import {
  encodeSafetensors,
  getJson,
  joinKey,
  putJson,
  type Storage,
  type TensorMap,
  tensor,
} from "@hrpipe/queue";
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrainedHead } from "./head.ts";
import { selectTfjsBackend } from "./tfjs-backend.ts";

/** What is needed besides the weights to turn head outputs back into bpm. */
export interface HeadInfo {
  inputDim: number;
  labelMean: number;
  labelStd: number;
  bestEpoch: number;
  backend: string;
}

export interface LoadedHead extends HeadInfo {
  model: tfTypes.LayersModel;
  tf: typeof tfTypes;
}

/**
 * Saves a trained head under `prefix`: a TensorFlow.js layers model (model.json + weights.bin, loadable
 * with tf.loadLayersModel), a safetensors copy of its weights for PyTorch/NumPy users, and head.json.
 */
export async function saveHead(head: TrainedHead, storage: Storage, prefix: string): Promise<string[]> {
  const written: string[] = [];
  await head.model.save(
    head.tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js ${head.tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
      };
      await storage.put(joinKey(prefix, "weights.bin"), new Uint8Array(weightData));
      await putJson(storage, joinKey(prefix, "model.json"), modelJson);
      written.push(joinKey(prefix, "weights.bin"), joinKey(prefix, "model.json"));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  const tensors: TensorMap = {};
  for (const weight of head.model.weights) {
    const value = weight.read();
    tensors[weight.name] = tensor("F32", value.shape, value.dataSync() as Float32Array);
  }
  const info: HeadInfo = {
    inputDim: head.inputDim,
    labelMean: head.labelMean,
    labelStd: head.labelStd,
    bestEpoch: head.bestEpoch,
    backend: head.backend,
  };
  await storage.put(
    joinKey(prefix, "head.safetensors"),
    encodeSafetensors(tensors, { labelMean: String(head.labelMean), labelStd: String(head.labelStd) }),
  );
  await putJson(storage, joinKey(prefix, "head.json"), info);
  written.push(joinKey(prefix, "head.safetensors"), joinKey(prefix, "head.json"));
  return written;
}

export async function loadHead(storage: Storage, prefix: string): Promise<LoadedHead> {
  const { tf } = await selectTfjsBackend();
  const info = await getJson<HeadInfo>(storage, joinKey(prefix, "head.json"));
  const modelJson = await getJson<{
    modelTopology: object;
    weightsManifest: { weights: tfTypes.io.WeightsManifestEntry[] }[];
  }>(storage, joinKey(prefix, "model.json"));
  const weights = await storage.get(joinKey(prefix, "weights.bin"));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  return { ...info, model, tf };
}
