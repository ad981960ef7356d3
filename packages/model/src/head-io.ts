import {
  encodeSafetensors,
  type HeadInfo,
  type LayersModelJson,
  layersModelSchema,
  type TensorMap,
  tensor,
} from "@hrpipe/contracts";
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrainedHead } from "./head.ts";
import { selectTfjsBackend } from "./tfjs-backend.ts";

export interface LoadedHead extends HeadInfo {
  model: tfTypes.LayersModel;
  tf: typeof tfTypes;
}

/**
 * The files of a trained head: a TensorFlow.js layers model (model.json + weights.bin, loadable with
 * tf.loadLayersModel), a safetensors copy of its weights for PyTorch/NumPy users, and head.json.
 * Where they are stored is the caller's business.
 */
export interface HeadFiles {
  modelJson: LayersModelJson;
  weightsBin: Uint8Array;
  safetensors: Buffer;
  info: HeadInfo;
}

export async function serialiseHead(head: TrainedHead): Promise<HeadFiles> {
  let saved: { modelJson: LayersModelJson; weightsBin: Uint8Array } | undefined;
  await head.model.save(
    head.tf.io.withSaveHandler(async (artifacts) => {
      saved = {
        modelJson: layersModelSchema.parse({
          format: "layers-model",
          generatedBy: `TensorFlow.js ${head.tf.version.tfjs}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
        }),
        weightsBin: new Uint8Array(artifacts.weightData as ArrayBuffer),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!saved) throw new Error("TensorFlow.js saved no model artifacts for the head; this is a bug.");
  const tensors: TensorMap = {};
  for (const weight of head.model.weights) {
    const value = weight.read();
    tensors[weight.name] = tensor("F32", value.shape, value.dataSync() as Float32Array);
  }
  return {
    ...saved,
    safetensors: encodeSafetensors(tensors, {
      labelMean: String(head.labelMean),
      labelStd: String(head.labelStd),
    }),
    info: {
      inputDim: head.inputDim,
      labelMean: head.labelMean,
      labelStd: head.labelStd,
      bestEpoch: head.bestEpoch,
      backend: head.backend,
    },
  };
}

export async function loadHead(files: Omit<HeadFiles, "safetensors">): Promise<LoadedHead> {
  const { tf } = await selectTfjsBackend();
  const weights = files.weightsBin;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology,
      weightSpecs: files.modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(
        weights.byteOffset,
        weights.byteOffset + weights.byteLength,
      ) as ArrayBuffer,
    }),
  );
  return { ...files.info, model, tf };
}
