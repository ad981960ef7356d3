import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { uploadKeys } from "@hrpipe/contracts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobMismatchError, checkBlobStream } from "../src/storage/blob-check.ts";
import { FileStorage } from "../src/storage/file-storage.ts";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const drain = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await pipeline(stream, sink);
  return Buffer.concat(chunks);
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("a blob read as a stream is checked against its name", () => {
  let dir: string;
  let storage: FileStorage;
  const good = Buffer.from("the bytes a blob's name promises");
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-blob-"));
    storage = new FileStorage(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("passes the blob's own bytes through", async () => {
    const key = uploadKeys.blob(sha256(good));
    await storage.put(key, good);
    expect(await drain(await storage.read(key))).toEqual(good);
  });

  it("fails the consumer with BlobMismatchError, not the process, even when it starts reading late", async () => {
    const key = uploadKeys.blob(sha256(good));
    await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await writeFile(path.join(dir, key), "bytes changed after upload");
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    try {
      const stream = await storage.read(key);
      // A small file is read whole before anyone consumes it: the check must wait for its consumer.
      await tick();
      await expect(drain(stream)).rejects.toBeInstanceOf(BlobMismatchError);
      await tick();
    } finally {
      process.off("uncaughtException", record);
    }
    expect(uncaught).toEqual([]);
  });

  it("passes a source's own error on to the consumer", async () => {
    const key = uploadKeys.blob(sha256(good));
    const failing = new Readable({
      read() {
        this.destroy(new Error("disk went away"));
      },
    });
    await expect(drain(checkBlobStream("file:///s", key, failing))).rejects.toThrow("disk went away");
  });
});
