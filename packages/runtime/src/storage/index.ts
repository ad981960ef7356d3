import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type HrpipeConfig, safePrefix } from "@hrpipe/contracts";
import { FileStorage } from "./file-storage.ts";
import type { ObjectInfo, Storage } from "./storage.ts";

export { BlobMismatchError, checkBlobStream } from "./blob-check.ts";
export { FileStorage } from "./file-storage.ts";
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
  const location = { bucket: match[1]!, prefix: safePrefix(match[2]!) };
  const url = `s3://${location.bucket}${location.prefix === "" ? "" : `/${location.prefix}`}`;
  return new LazyS3Storage(url, async () => {
    const { createS3Client, S3Storage } = await import("./s3-storage.ts");
    return new S3Storage(createS3Client(config.s3), location);
  });
}

/**
 * An S3 storage whose SDK is loaded on first use: the AWS SDK takes a third of a CPU-second to load,
 * and a process that opens the configured storage may end before it reads any (a refused flag, a
 * video it cannot read), so only the processes that use S3 pay for it.
 */
class LazyS3Storage implements Storage {
  private opened: Promise<Storage> | undefined;

  constructor(
    readonly url: string,
    private readonly open: () => Promise<Storage>,
  ) {}

  private storage(): Promise<Storage> {
    this.opened ??= this.open();
    return this.opened;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    return (await this.storage()).put(key, body);
  }
  async get(key: string): Promise<Buffer> {
    return (await this.storage()).get(key);
  }
  async read(key: string): Promise<Readable> {
    return (await this.storage()).read(key);
  }
  async write(key: string, body: Readable): Promise<void> {
    return (await this.storage()).write(key, body);
  }
  async exists(key: string): Promise<boolean> {
    return (await this.storage()).exists(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.storage()).list(prefix);
  }
  async listFolders(folder: string): Promise<string[]> {
    return (await this.storage()).listFolders(folder);
  }
  async delete(key: string): Promise<void> {
    return (await this.storage()).delete(key);
  }
  async close(): Promise<void> {
    if (this.opened) await (await this.opened).close();
  }
}
