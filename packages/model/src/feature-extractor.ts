import { createHash } from "node:crypto";
import {
  decodeSafetensors,
  type LogSink,
  type SafetensorsFile,
  type WeightsProvenance,
} from "@hrpipe/contracts";
import * as ort from "onnxruntime-node";
import {
  type BackboneWeights,
  backboneTensors,
  buildDenseNetGraph,
  type DenseNetConfig,
  densenet161,
  featureDim,
  randomBackboneWeights,
} from "./densenet.ts";
import { encodeOnnxModel } from "./onnx/graph.ts";
import { cudaProviderInstalled } from "./onnx-runtime.ts";

/** Where a backbone's weights came from; copied into every artifact and report they touch. */

export class WeightsError extends Error {
  override name = "WeightsError";
}

/** Reads torchvision-named backbone tensors from a safetensors file, checking every name, dtype and shape. */
export function backboneWeightsFromSafetensors(
  file: SafetensorsFile,
  config: DenseNetConfig,
  source: string,
): BackboneWeights {
  const weights: BackboneWeights = new Map();
  for (const expected of backboneTensors(config)) {
    const tensor = file.tensors[expected.name];
    if (!tensor) {
      throw new WeightsError(
        `${source} has no tensor ${expected.name}; it does not hold torchvision DenseNet weights for this config (growth ${config.growthRate}, blocks ${config.blockConfig.join("-")}), so check --arch.`,
      );
    }
    if (tensor.dtype !== "F32")
      throw new WeightsError(
        `${source}: tensor ${expected.name} is ${tensor.dtype}; convert the weights to F32.`,
      );
    if (tensor.shape.join(",") !== expected.shape.join(",")) {
      throw new WeightsError(
        `${source}: tensor ${expected.name} has shape [${tensor.shape}] but the config needs [${expected.shape}]; check --arch.`,
      );
    }
    weights.set(expected.name, tensor.data as Float32Array);
  }
  return weights;
}

function hashOf(parts: (string | Uint8Array)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex").slice(0, 16);
}

export interface FeatureExtractorOptions {
  config?: DenseNetConfig;
  /** A torchvision/timm-named safetensors file; without it the backbone is randomly initialised. */
  weights?: { bytes: Uint8Array; source: string };
  seed?: number;
  /** Images per ONNX Runtime call; default: chosen for the execution provider (defaultBatchSize). */
  batchSize?: number;
  /** Execution providers in order of preference; default: CUDA where installed, then CPU. */
  executionProviders?: ("cuda" | "cpu")[];
  /** Threads for one convolution; default: ONNX Runtime's choice (all cores). */
  intraOpThreads?: number;
  logger?: LogSink;
}

/** What embeds face crops: the backbone in this thread (FeatureExtractor) or in its own (BackboneThread). */
export interface Embedder {
  readonly provenance: WeightsProvenance;
  readonly featureDim: number;
  readonly batchSize: number;
  readonly executionProvider: string;
  embed(
    images: Uint8Array,
    shape: { count: number; height: number; width: number },
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * A frozen DenseNet backbone in ONNX Runtime: u8 NHWC images in, features after norm5 + ReLU +
 * global average pool out. The graph is built here from the config and weights, so no converted
 * model file is needed.
 */
export class FeatureExtractor implements Embedder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provenance: WeightsProvenance,
    readonly featureDim: number,
    readonly batchSize: number,
    readonly executionProvider: string,
    /** The serialised graph, for tools that want to run it themselves (benchmarks, export). */
    readonly onnxModel: Uint8Array,
  ) {}

  static async create(options: FeatureExtractorOptions = {}): Promise<FeatureExtractor> {
    const config = options.config ?? densenet161;
    let weights: BackboneWeights;
    let provenance: WeightsProvenance;
    const configJson = JSON.stringify(config);
    if (options.weights) {
      const file = decodeSafetensors(options.weights.bytes, options.weights.source);
      weights = backboneWeightsFromSafetensors(file, config, options.weights.source);
      provenance = {
        kind: "pretrained",
        source: options.weights.source,
        weightsHash: hashOf([configJson, options.weights.bytes]),
        config,
        note: "backbone weights loaded from the file named in source",
      };
    } else {
      const seed = options.seed ?? 1;
      weights = randomBackboneWeights(config, seed);
      provenance = {
        kind: "random-init",
        source: `seed ${seed}`,
        weightsHash: hashOf([configJson, `random-init seed ${seed}`]),
        config,
        note: "RANDOMLY INITIALISED backbone, not ImageNet-pretrained: features carry no learned visual knowledge (pass --weights or run hrpipe model fetch-weights)",
      };
      options.logger?.warn({ seed }, provenance.note);
    }
    const onnxModel = encodeOnnxModel(buildDenseNetGraph(config, weights));
    const wanted = options.executionProviders ?? (cudaProviderInstalled() ? ["cuda", "cpu"] : ["cpu"]);
    const session = await ort.InferenceSession.create(onnxModel, {
      executionProviders: wanted,
      graphOptimizationLevel: "all",
      // Idle pool threads would otherwise spin for work, taking the cores the face stage's detector
      // needs when both run on one machine (as in `hrpipe demo` and `hrpipe run`).
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
    });
    const batchSize = options.batchSize ?? defaultBatchSize(wanted[0]!);
    options.logger?.info(
      { providers: wanted, batchSize, weights: provenance.kind, weightsHash: provenance.weightsHash },
      "DenseNet backbone ready",
    );
    return new FeatureExtractor(session, provenance, featureDim(config), batchSize, wanted[0]!, onnxModel);
  }

  /**
   * Features of `count` images of height x width x 3 u8 (NHWC, RGB), in batches; `onBatch` reports
   * progress. Returns F32 [count, featureDim].
   */
  async embed(
    images: Uint8Array,
    shape: { count: number; height: number; width: number },
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array> {
    const { count, height, width } = shape;
    const imageBytes = height * width * 3;
    if (images.length !== count * imageBytes) {
      throw new WeightsError(
        `images hold ${images.length} bytes but ${count} x ${height} x ${width} x 3 needs ${count * imageBytes}.`,
      );
    }
    const out = new Float32Array(count * this.featureDim);
    for (let start = 0; start < count; start += this.batchSize) {
      const n = Math.min(this.batchSize, count - start);
      const input = new ort.Tensor("uint8", images.subarray(start * imageBytes, (start + n) * imageBytes), [
        n,
        height,
        width,
        3,
      ]);
      const result = await this.session.run({ images: input });
      out.set(result["features"]!.data as Float32Array, start * this.featureDim);
      onBatch?.(start + n, count);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Images per backbone call for an execution provider: on CPU a larger batch gains nothing once every
 * core is busy and only holds more activations; a GPU needs larger ones to keep its cores busy
 * (unmeasured here: no GPU was lent; HRPIPE_FEATURES_BATCH overrides it).
 */
export function defaultBatchSize(executionProvider: string): number {
  return executionProvider === "cuda" ? 64 : 16;
}
