import { createHash } from "node:crypto";
import { Readable } from "node:stream";

/** An uploaded file's key, named by the SHA-256 of its bytes (uploadKeys.blob). */
const blobKey = /^blobs\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

/** A blob whose bytes are not the ones its name promises (changed after upload, or damaged in storage). */
export class BlobMismatchError extends Error {
  override name = "BlobMismatchError";
  constructor(storageUrl: string, key: string, actual: string) {
    super(
      `${storageUrl}/${key} holds bytes whose SHA-256 is ${actual.slice(0, 12)}..., not the one its name gives; upload the folder again (hrpipe run or hrpipe ingest re-stores it).`,
    );
  }
}

/** Checks a blob's bytes against its name; any other key passes as it is. */
export function checkBlob(storageUrl: string, key: string, bytes: Buffer): Buffer {
  const expected = blobKey.exec(key)?.[1];
  if (expected === undefined) return bytes;
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== expected) throw new BlobMismatchError(storageUrl, key, actual);
  return bytes;
}

/**
 * The same check on a stream: it fails with BlobMismatchError at its end when the bytes that went
 * through are not the blob's. The bytes are pulled as its consumer reads them, so the failure reaches
 * that consumer; a Transform's flush would run once a small file had been read into its buffer,
 * before anyone listened, and take the process down.
 */
export function checkBlobStream(storageUrl: string, key: string, stream: Readable): Readable {
  const expected = blobKey.exec(key)?.[1];
  if (expected === undefined) return stream;
  async function* checked() {
    const hash = createHash("sha256");
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
    const actual = hash.digest("hex");
    if (actual !== expected) throw new BlobMismatchError(storageUrl, key, actual);
  }
  return Readable.from(checked(), { objectMode: false });
}
