import type { Readable } from "node:stream";

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * The one storage contract every stage uses. Keys are relative ('/'-separated safe segments, see
 * keys.ts) and resolved under the backend's root or prefix. Every write is atomic: a reader sees the
 * old object, the new one, or none, never a partial one.
 */
export interface Storage {
  /** A human-readable location, e.g. `s3://bucket/prefix` or `file:///data/hrpipe`. */
  readonly url: string;
  put(key: string, body: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Streams an object; the stream errors with ArtifactNotFoundError when it is missing. */
  read(key: string): Promise<Readable>;
  /** Writes a stream (multipart where the backend has it); the object appears only once complete. */
  write(key: string, body: Readable): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with the prefix (a folder prefix should end in '/'), sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** The names of the folders directly under `folder` (a prefix ending in '/'), sorted: one level, as a delimiter lists. */
  listFolders(folder: string): Promise<string[]>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class ArtifactNotFoundError extends Error {
  override name = "ArtifactNotFoundError";
  constructor(
    readonly storageUrl: string,
    readonly key: string,
  ) {
    super(`${key} does not exist in ${storageUrl}; check the key or re-run the stage that writes it.`);
  }
}
