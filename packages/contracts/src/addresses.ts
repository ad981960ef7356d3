import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { DecodeOptions, FaceOptions, FeaturesOptions, LabelOptions, TrainOptions } from "./payloads.ts";

export type FormatVersions = Record<
  "labels" | "chunks" | "faces" | "features" | "head" | "neural" | "pulses" | "tuned",
  number
>;

/**
 * The format version of every cached artifact family. Bump one whenever the bytes its stage writes
 * for the same input would change (layout, method, defaults): every address below includes the
 * versions of all the stages that shaped it, so nothing stale is ever reused.
 */
export const formatVersions: Readonly<FormatVersions> = {
  /**
   * labels/<hash>/...: per-frame HR from a reference (2: any reference kind, beat times, video HR;
   * 3: PPG waveform; 4: PPG beats between samples).
   */
  labels: 4,
  /** frames/<hash>/...: a segment's coded frames (chunk layout and segment plan). */
  chunks: 1,
  /**
   * faces/<hash>/... and traces/<hash>/...: detection, tracking, crops, skin colour (2: landmark skin
   * area; 3: large videos analysed at a fraction of their size; 4: 4:2:0 videos analysed at half
   * their size halved here, each pixel with a chroma sample of its own).
   */
  faces: 4,
  /** features/<hash>/...: DenseNet preprocessing, frame selection and feature layout (2: the features stage). */
  features: 2,
  /** heads/<hash>/...: the regression head, its training and its files. */
  head: 1,
  /**
   * models/<hash>/...: an imported network's ONNX graph as hrpipe builds it from the checkpoint (2: it
   * gives the tail's activations, not the last layer's features).
   */
  neural: 2,
  /**
   * pulses/<hash>/...: a network's pulse and tail activations over a video (crop resizing, clips and
   * blending; 2: no difference across a cut; 3: the tail's activations; 4: FactorizePhys's too, and
   * PhysNet's DiffNormalized deviation summed in double from the crops; 5: no clip across a cut).
   */
  pulses: 5,
  /**
   * tuned/<hash>.json: a network's fine-tuned tail (target, loss, optimiser and stopping; 2: its hash
   * inside; 3: the last normalisation tuned with the last layer; 4: the tail by kind, FactorizePhys's too).
   */
  tuned: 4,
};

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** 16 hex digits of the SHA-256 of a canonical JSON rendering (key order does not matter). */
export function contentHash(parts: unknown): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("hex").slice(0, 16);
}

/** The SHA-256 of a stream's bytes, read once; inputs are addressed by what they hold, not by name. */
export async function sha256OfStream(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Content addresses: each covers every input, option and format version that changes the bytes
 * written under it. Inputs are named by their SHA-256, so a file replaced by other bytes (even of the
 * same size, under the same key) is always recomputed, and the same bytes under another key are reused.
 */
export const addresses = {
  /** An imported network: its architecture and the SHA-256 of the checkpoint it was built from. */
  neuralModel: (
    input: { architecture: string; sourceSha256: string },
    versions: FormatVersions = formatVersions,
  ) => contentHash({ ...input, neural: versions.neural }),
  labels: (
    /** `reading`: how a recording's own reference is read and onto which video clock (not for AMIGOS's .mat). */
    input: { sourceSha256: string; options: LabelOptions; reading?: unknown },
    versions: FormatVersions = formatVersions,
  ) =>
    contentHash({
      source: input.sourceSha256,
      options: input.options,
      reading: input.reading,
      versions: { labels: versions.labels },
    }),
  faces: (
    input: {
      sourceSha256: string;
      /** The rate the frames were re-timed to from the dataset's record of their times, where they were. */
      frameRateHz?: number;
      decode: DecodeOptions;
      face: FaceOptions;
    },
    versions: FormatVersions = formatVersions,
  ) =>
    contentHash({
      source: input.sourceSha256,
      frameRateHz: input.frameRateHz,
      // keepChunks decides only whether a transient file is deleted: it never changes a shard. Crops
      // count only where left out, so that shards written before the option existed keep their address.
      options: {
        decode: input.decode,
        face: { ...input.face, keepChunks: undefined, crops: input.face.crops === false ? false : undefined },
      },
      versions: { chunks: versions.chunks, faces: versions.faces },
    }),
  features: (
    input: { facesKey: string; weightsHash: string; options: FeaturesOptions },
    versions: FormatVersions = formatVersions,
  ) =>
    contentHash({
      // The faces key holds the faces address, so every version and option behind the crops is in it.
      faces: input.facesKey,
      weights: input.weightsHash,
      options: input.options,
      versions: { features: versions.features },
    }),
  pulses: (input: { facesKeys: string[]; modelHash: string }, versions: FormatVersions = formatVersions) =>
    contentHash({
      // The faces keys hold the faces address, so every version and option behind the crops is in them.
      faces: input.facesKeys,
      model: input.modelHash,
      versions: { pulses: versions.pulses },
    }),
  tuned: (
    input: {
      /** Every training video's labels and pulse keys, and the validation videos', in a stable order. */
      train: { labelsKey: string; pulseKey: string }[];
      validation: { labelsKey: string; pulseKey: string }[];
      options: unknown;
    },
    versions: FormatVersions = formatVersions,
  ) => contentHash({ ...input, versions: { pulses: versions.pulses, tuned: versions.tuned } }),
  head: (
    input: {
      /** Every training sample source: labels and features keys, in a stable order. */
      trainSet: { labelsKey: string; featuresKeys: string[] }[];
      weightsHash: string;
      options: TrainOptions;
    },
    versions: FormatVersions = formatVersions,
  ) =>
    contentHash({
      trainSet: input.trainSet,
      weights: input.weightsHash,
      options: input.options,
      versions: { features: versions.features, head: versions.head },
    }),
};
