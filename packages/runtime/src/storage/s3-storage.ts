import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { type S3Settings, safeKey, safePrefix } from "@hrpipe/contracts";
import { checkBlobStream } from "./blob-check.ts";
import { ArtifactNotFoundError, type ObjectInfo, type Storage } from "./storage.ts";

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** Objects above this size go up as multipart uploads of this part size. */
const partSizeBytes = 8 * 1024 * 1024;

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials:
      settings.accessKeyId && settings.secretAccessKey
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
        : undefined,
    // Third-party S3 servers (MinIO, Ceph, R2, s3rver) reject or corrupt the SDK's default
    // flexible checksums on streamed uploads; send and check them only where an API requires it.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Transient storage faults are retried with exponential backoff before a job sees them.
    maxAttempts: 8,
  });
}

/** Storage in an S3-compatible bucket under a key prefix. S3 PUTs and completed multiparts are atomic. */
export class S3Storage implements Storage {
  readonly url: string;
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
  ) {
    this.prefix = safePrefix(location.prefix);
    this.url = `s3://${location.bucket}${this.prefix === "" ? "" : `/${this.prefix}`}`;
  }

  private objectKey(key: string): string {
    safeKey(key);
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key), Body: body }),
    );
  }

  async write(key: string, body: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: this.objectKey(key), Body: body },
      partSize: partSizeBytes,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async read(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }),
      );
      return checkBlobStream(this.url, key, response.Body as Readable);
    } catch (error) {
      if (isNotFound(error)) throw new ArtifactNotFoundError(this.url, key);
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.read(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }),
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Every page of a listing under `fullPrefix` (the bucket's own key), one level deep with a delimiter. */
  private async *listPages(fullPrefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: fullPrefix,
          Delimiter: delimiter,
          ContinuationToken: token,
        }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    const strip = this.prefix === "" ? 0 : this.prefix.length + 1;
    for await (const page of this.listPages(this.prefix === "" ? prefix : `${this.prefix}/${prefix}`))
      for (const object of page.Contents ?? [])
        if (object.Key) found.push({ key: object.Key.slice(strip), size: object.Size ?? 0 });
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(folder: string): Promise<string[]> {
    const fullPrefix = this.prefix === "" ? folder : `${this.prefix}/${folder}`;
    const names: string[] = [];
    for await (const page of this.listPages(fullPrefix, "/"))
      for (const common of page.CommonPrefixes ?? [])
        if (common.Prefix) names.push(common.Prefix.slice(fullPrefix.length).replace(/\/$/, ""));
    return names.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
