/** An id or key that would escape its folder or confuse a storage backend. */
export class UnsafeKeyError extends Error {
  override name = "UnsafeKeyError";
}

const safeSegment = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Accepts one path segment (a participant, video or run id); rejects `..`, slashes and control characters. */
export function safeId(id: string, what = "id"): string {
  if (!safeSegment.test(id) || id.includes("..")) {
    throw new UnsafeKeyError(
      `${what} ${JSON.stringify(id)} is not a safe storage name; use 1-128 letters, digits, '.', '-' or '_' with no '..'.`,
    );
  }
  return id;
}

/** Accepts a relative key of safe segments joined by '/'; rejects absolute paths and traversal. */
export function safeKey(key: string): string {
  if (key.startsWith("/") || key.endsWith("/") || key === "") {
    throw new UnsafeKeyError(`storage key ${JSON.stringify(key)} must be relative and must not end in '/'.`);
  }
  for (const segment of key.split("/")) safeId(segment, `segment of key ${JSON.stringify(key)}`);
  return key;
}

/** A key prefix: safe segments, possibly empty, never ending in '/'. */
export function safePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  return trimmed === "" ? "" : safeKey(trimmed);
}

export function joinKey(...parts: string[]): string {
  return safeKey(parts.filter((part) => part !== "").join("/"));
}

/** AMIGOS writes P1 and P01 for the same person; every key and report uses the zero-padded form. */
export function normaliseParticipant(id: string): string {
  const match = /^P0*(\d{1,4})$/i.exec(id);
  if (!match) throw new UnsafeKeyError(`participant id ${JSON.stringify(id)} is not of the form P<number>.`);
  return `P${match[1]!.padStart(2, "0")}`;
}

/** Where every artifact of the design lives, relative to the storage prefix. */
export const artifactKeys = {
  manifest: (runId: string) => joinKey("runs", safeId(runId, "run id"), "manifest.json"),
  labels: (hash: string, participant: string, videoId: string) =>
    joinKey(
      "labels",
      safeId(hash, "hash"),
      safeId(participant, "participant"),
      `${safeId(videoId, "video id")}.json`,
    ),
  /** Written last by a labels job: the participant is done (and what it produced). */
  labelsSummary: (hash: string, participant: string) =>
    joinKey("labels", safeId(hash, "hash"), safeId(participant, "participant"), "_summary.json"),
  /**
   * A segment's coded frames. The chunk's own SHA-256 is part of its name, so two runs that cut the
   * same segment at once never overwrite each other's chunk with other bytes.
   */
  frames: (hash: string, participant: string, videoId: string, segment: number, chunkSha256: string) =>
    joinKey("frames", hash, participant, videoId, `${segmentName(segment)}-${chunkSha256.slice(0, 16)}.mkv`),
  faces: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("faces", hash, participant, videoId, `${segmentName(segment)}.safetensors`),
  /** Written instead of the shards when a segment shows no face: a re-run excludes it without work. */
  faceless: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("faces", hash, participant, videoId, `${segmentName(segment)}.faceless.json`),
  traces: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("traces", hash, participant, videoId, `${segmentName(segment)}.safetensors`),
  features: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("features", hash, participant, videoId, `${segmentName(segment)}.safetensors`),
  /** Where a backbone's weights came from, stored once by the first features job that uses it. */
  backbone: (weightsHash: string) => joinKey("backbones", `${safeId(weightsHash, "weights hash")}.json`),
  /** An imported network under its content address: model.json, model.onnx and weights.safetensors. */
  neuralModel: (hash: string, file: "model.json" | "model.onnx" | "weights.safetensors") =>
    joinKey("models", safeId(hash, "hash"), file),
  /** The content address a model name points at. */
  neuralModelName: (name: string) => joinKey("models", "names", `${safeId(name, "model name")}.json`),
  /** A network's pulse and tail activations over one video's frames, under its content address. */
  pulse: (hash: string, participant: string, videoId: string) =>
    joinKey(
      "pulses",
      safeId(hash, "hash"),
      safeId(participant, "participant"),
      `${safeId(videoId, "video id")}.safetensors`,
    ),
  /** A network's fine-tuned tail (last normalisation and last layer) under its content address; a run's models folder holds a copy. */
  tunedNetwork: (hash: string) => joinKey("tuned", `${safeId(hash, "hash")}.json`),
  /** A run's copy of a protocol's fine-tuned network (`<name>-ft`). */
  runTunedNetwork: (runId: string, protocol: string, name: string) =>
    joinKey("runs", safeId(runId, "run id"), "models", protocol, `${safeId(name, "model name")}-ft.json`),
  /** A trained head under its content address; a run's models folder holds a copy. */
  head: (hash: string, file: HeadFile) => joinKey("heads", safeId(hash, "hash"), file),
  model: (runId: string, protocol: string, file: HeadFile | ModelFile) =>
    joinKey("runs", safeId(runId, "run id"), "models", protocol, file),
  report: (runId: string, protocol: string, file: string) =>
    joinKey("runs", safeId(runId, "run id"), "reports", protocol, file),
  runReport: (runId: string) => joinKey("runs", safeId(runId, "run id"), "reports", "report.json"),
  runReportHtml: (runId: string) => joinKey("runs", safeId(runId, "run id"), "reports", "report.html"),
};

/**
 * The files of a trained head, head.json last: it is written last, so its presence means the head is
 * complete (see workers/train).
 */
export const headFiles = [
  "model.json",
  "weights.bin",
  "head.safetensors",
  "curves.json",
  "samples.json",
  "head.json",
] as const;
export type HeadFile = (typeof headFiles)[number];
/** What a run's models folder holds besides a copy of its head: which head, trained on what. */
export type ModelFile = "provenance.json";

export function segmentName(segment: number): string {
  if (!Number.isInteger(segment) || segment < 0)
    throw new UnsafeKeyError(`segment ${segment} must be an integer >= 0.`);
  return String(segment).padStart(4, "0");
}
