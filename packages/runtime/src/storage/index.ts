import { fileURLToPath } from "node:url";
import type { HrpipeConfig } from "@hrpipe/contracts";
import { FileStorage } from "./file-storage.ts";
import { createS3Client, S3Storage } from "./s3-storage.ts";
import type { Storage } from "./storage.ts";

export { BlobMismatchError, checkBlobStream } from "./blob-check.ts";
export { FileStorage } from "./file-storage.ts";
export { createS3Client, type S3Location, S3Storage } from "./s3-storage.ts";
export * from "./storage.ts";

/** Opens `file://dir` or `s3://bucket/prefix` (S3 settings from the config). */
export function openStorage(storageUrl: string, config: Pick<HrpipeConfig, "s3">): Storage {
  if (storageUrl.startsWith("file://")) {
    const rest = storageUrl.slice("file://".length);
    // file://./relative and file://relative are relative to the working directory; file:///abs is absolute.
    const dir = rest.startsWith("/") ? fileURLToPath(storageUrl) : rest;
    return new FileStorage(dir);
  }
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(storageUrl);
  if (!match) {
    throw new Error(
      `STORAGE_URL=${JSON.stringify(storageUrl)} is neither s3://bucket[/prefix] nor file://dir; set it to one of them.`,
    );
  }
  return new S3Storage(createS3Client(config.s3), { bucket: match[1]!, prefix: match[2]! });
}
