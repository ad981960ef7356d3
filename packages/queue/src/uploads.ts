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
  /** The folder's name, and where it was uploaded from (for people reading reports). */
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
});
export type DatasetIndex = z.infer<typeof datasetIndexSchema>;

export const uploadKeys = {
  blob: (sha256: string) => joinKey("blobs", safeId(sha256.slice(0, 2), "hash"), safeId(sha256, "hash")),
  /** datasets/<name>-<16 hex of the index>: the same folder content always lands on the same prefix. */
  datasetPrefix: (name: string, indexHash: string) =>
    joinKey(
      "datasets",
      `${name.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 64) || "dataset"}-${safeId(indexHash, "hash")}`,
    ),
  index: (datasetPrefix: string) => joinKey(safePrefix(datasetPrefix), "index.json"),
};
