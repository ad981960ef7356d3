/**
 * The tensor shards stages hand each other, as safetensors (readable by PyTorch, NumPy, JAX). Writers
 * and readers of each shard kind live here, so a layout change is one edit and one format version.
 */
import { formatVersions } from "./addresses.ts";
import type { FeaturesOptions } from "./payloads.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  getTensor,
  tensor,
} from "./safetensors.ts";

/** Who a faces or traces shard belongs to and how it was made; stored as safetensors metadata. */
export interface FaceShardContext {
  participant: string;
  videoId: string;
  segment: number;
  detector: string;
  detectEvery: number;
}

/** The crops of the frames that show a face. */
export interface FacesShard {
  /** [faces, cropSize, cropSize, 3] RGB; empty, with cropSize 0, where the run kept no crops (face option crops). */
  images: Uint8Array;
  cropSize: number;
  frameIndex: Int32Array;
  timeS: Float32Array;
  /** [faces, 4]: x, y, width, height in source pixels. */
  box: Float32Array;
}

/** One row per frame of the segment: mean skin colour (NaN without a face), time and face flag. */
export interface TracesShard {
  rgb: Float32Array;
  timeS: Float32Array;
  faceFound: Uint8Array;
}

function faceMetadata(context: FaceShardContext): Record<string, string> {
  return {
    format: "hrpipe-faces",
    formatVersion: String(formatVersions.faces),
    participant: context.participant,
    videoId: context.videoId,
    segment: String(context.segment),
    detector: context.detector,
    detectEvery: String(context.detectEvery),
  };
}

/** faces shard: images u8 [N,S,S,3], frameIndex i32 [N], timeS f32 [N], box f32 [N,4]. */
export function encodeFacesShard(shard: FacesShard, context: FaceShardContext): Buffer {
  const n = shard.frameIndex.length;
  return encodeSafetensors(
    {
      images: tensor("U8", [n, shard.cropSize, shard.cropSize, 3], shard.images),
      frameIndex: tensor("I32", [n], shard.frameIndex),
      timeS: tensor("F32", [n], shard.timeS),
      box: tensor("F32", [n, 4], shard.box),
    },
    faceMetadata(context),
  );
}

/** A faces shard's crops and boxes; a shard written without crops is refused, naming it: only the crops' readers decode one. */
export function decodeFacesShard(bytes: Uint8Array, source: string): FacesShard {
  const file = decodeSafetensors(bytes, source);
  const images = getTensor(file, "images", "U8", 4);
  if (images.shape[0]! > 0 && images.shape[1] === 0)
    throw new Error(
      `${source} holds no face crops (its run read the traces only); a run with --neural or --cnn writes faces with crops under another address.`,
    );
  return {
    images: images.data,
    cropSize: images.shape[1]!,
    frameIndex: getTensor(file, "frameIndex", "I32", 1).data,
    timeS: getTensor(file, "timeS", "F32", 1).data,
    box: getTensor(file, "box", "F32", 2).data,
  };
}

/** traces shard: rgb f32 [F,3], timeS f32 [F], faceFound u8 [F]. */
export function encodeTracesShard(shard: TracesShard, context: FaceShardContext): Buffer {
  const frames = shard.faceFound.length;
  return encodeSafetensors(
    {
      rgb: tensor("F32", [frames, 3], shard.rgb),
      timeS: tensor("F32", [frames], shard.timeS),
      faceFound: tensor("U8", [frames], shard.faceFound),
    },
    faceMetadata(context),
  );
}

export function decodeTracesShard(bytes: Uint8Array, source: string): TracesShard {
  const file = decodeSafetensors(bytes, source);
  return {
    rgb: getTensor(file, "rgb", "F32", 2).data,
    timeS: getTensor(file, "timeS", "F32", 1).data,
    faceFound: getTensor(file, "faceFound", "U8", 1).data,
  };
}

/** DenseNet features of the face crops of one faces shard (every crop, or those the frame rate keeps). */
export interface FeaturesShard {
  /** [N, featureDim]. */
  features: Float32Array;
  featureDim: number;
  frameIndex: Int32Array;
}

export function encodeFeaturesShard(
  shard: FeaturesShard,
  dtype: FeaturesOptions["dtype"],
  metadata: { weightsHash: string; weights: string; facesKey: string },
): Buffer {
  const n = shard.frameIndex.length;
  const shape = [n, shard.featureDim];
  return encodeSafetensors(
    {
      features:
        dtype === "float16"
          ? tensor("F16", shape, float32ToFloat16(shard.features))
          : tensor("F32", shape, shard.features),
      frameIndex: tensor("I32", [n], shard.frameIndex),
    },
    { format: "hrpipe-features", formatVersion: String(formatVersions.features), ...metadata },
  );
}

/** Reads a features shard of either dtype as float32. */
export function decodeFeaturesShard(bytes: Uint8Array, source: string): FeaturesShard {
  const file = decodeSafetensors(bytes, source);
  const stored = file.tensors["features"];
  const features =
    stored?.dtype === "F16" ? getTensor(file, "features", "F16", 2) : getTensor(file, "features", "F32", 2);
  return {
    features: features.dtype === "F16" ? float16ToFloat32(features.data) : features.data,
    featureDim: features.shape[1]!,
    frameIndex: getTensor(file, "frameIndex", "I32", 1).data,
  };
}

/** A network's outputs over one video: one row per frame of the video (pulses/<hash>/...). */
export interface PulseShard {
  pulse: Float32Array;
  /** Frames that showed a face: the pulse elsewhere holds the last face and is not used. */
  faceFound: Uint8Array;
  /** [frames, channels, positions]: the activations the network's tail turns into the pulse. */
  activations: Float32Array | null;
  channels: number;
  positions: number;
}

/** pulse shard: pulse f32 [T], faceFound u8 [T], activations f32 [T, C, P] where the network gives them. */
export function encodePulseShard(
  shard: PulseShard,
  metadata: { model: string; modelHash: string; participant: string; videoId: string },
): Buffer {
  const frames = shard.pulse.length;
  return encodeSafetensors(
    {
      pulse: tensor("F32", [frames], shard.pulse),
      faceFound: tensor("U8", [frames], shard.faceFound),
      ...(shard.activations
        ? { activations: tensor("F32", [frames, shard.channels, shard.positions], shard.activations) }
        : {}),
    },
    { format: "hrpipe-pulse", formatVersion: String(formatVersions.pulses), ...metadata },
  );
}

export function decodePulseShard(bytes: Uint8Array, source: string): PulseShard {
  const file = decodeSafetensors(bytes, source);
  const activations = file.tensors["activations"] ? getTensor(file, "activations", "F32", 3) : null;
  return {
    pulse: getTensor(file, "pulse", "F32", 1).data,
    faceFound: getTensor(file, "faceFound", "U8", 1).data,
    activations: activations?.data ?? null,
    channels: activations?.shape[1] ?? 0,
    positions: activations?.shape[2] ?? 0,
  };
}
