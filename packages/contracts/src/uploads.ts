import { z } from "zod";
import { joinKey, safeId, safePrefix } from "./keys.ts";

/**
 * A local folder uploaded by `hrpipe ingest ./folder`: every file is stored once under the SHA-256 of
 * its bytes (blobs/<sha256>), whatever its name, so a second upload of the same folder, or of a folder
 * sharing files with it, stores nothing new; the folder itself is an index of paths to blobs.
 */
export const datasetIndexSchema = z.object({
  format: z.literal("hrpipe-dataset-index"),
  version: z.literal(1),
  /**
   * The folder's name, and where it was uploaded from for people reading reports: relative to the
   * uploader's working directory when inside it, else the name alone (never an absolute path).
   */
  name: z.string(),
  source: z.string(),
  files: z.array(
    z.object({
      /** The file's path in the folder, '/'-separated: any name, spaces included. */
      path: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().min(0),
    }),
  ),
  /** What the folder holds that was not uploaded (a symbolic link, a hidden file), with why. */
  skipped: z.array(z.object({ path: z.string().min(1), reason: z.string() })).default([]),
});
export type DatasetIndex = z.infer<typeof datasetIndexSchema>;

/**
 * A recording kept as one image per frame (PURE's PNGs), which the ingest plan writes and the decode
 * stage reads in place of a video file: the frames' storage keys in capture order, and their rate.
 * Stored under the SHA-256 of its JSON, so one folder's sequence is written once.
 */
export const imageSequenceSchema = z.object({
  format: z.literal("hrpipe-image-sequence"),
  version: z.literal(1),
  /** The frame folder's path in the dataset. */
  folder: z.string().min(1),
  fps: z.number().positive(),
  frames: z.array(z.object({ path: z.string().min(1), key: z.string().min(1) })).min(1),
});
export type ImageSequence = z.infer<typeof imageSequenceSchema>;

export const uploadKeys = {
  blob: (sha256: string) => joinKey("blobs", safeId(sha256.slice(0, 2), "hash"), safeId(sha256, "hash")),
  /** datasets/<name>-<16 hex of the index>: the same folder content always lands on the same prefix. */
  datasetPrefix: (name: string, indexHash: string) =>
    joinKey(
      "datasets",
      `${name.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 64) || "dataset"}-${safeId(indexHash, "hash")}`,
    ),
  index: (datasetPrefix: string) => joinKey(safePrefix(datasetPrefix), "index.json"),
  imageSequence: (sha256: string) => joinKey("sequences", `${safeId(sha256, "hash")}.json`),
};
