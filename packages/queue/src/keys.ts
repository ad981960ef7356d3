import { createHash } from "node:crypto";

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

/**
 * The content address of an artifact family: the same inputs, stage options and format version give
 * the same hash, so a re-run finds finished work; changing any of them gives a fresh folder.
 */
export function artifactHash(parts: { input: unknown; options: unknown; formatVersion: number }): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("hex").slice(0, 16);
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
  frames: (hash: string, participant: string, videoId: string, segment: number, extension: string) =>
    joinKey("frames", hash, participant, videoId, `${segmentName(segment)}.${extension}`),
  faces: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("faces", hash, participant, videoId, `${segmentName(segment)}.safetensors`),
  traces: (hash: string, participant: string, videoId: string, segment: number) =>
    joinKey("traces", hash, participant, videoId, `${segmentName(segment)}.safetensors`),
  features: (weightsHash: string, participant: string, videoId: string, segment: number) =>
    joinKey("features", weightsHash, participant, videoId, `${segmentName(segment)}.safetensors`),
  model: (runId: string, protocol: string, file: string) => joinKey("runs", runId, "models", protocol, file),
  report: (runId: string, protocol: string, file: string) =>
    joinKey("runs", runId, "reports", protocol, file),
};

export function segmentName(segment: number): string {
  if (!Number.isInteger(segment) || segment < 0)
    throw new UnsafeKeyError(`segment ${segment} must be an integer >= 0.`);
  return String(segment).padStart(4, "0");
}
