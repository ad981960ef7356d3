import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { UnsafeKeyError } from "@hrpipe/contracts";
import { ArtifactNotFoundError, FileStorage, type Storage } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Streams `bytes` in uneven chunks, as a producer of unknown length would. */
function chunked(bytes: Buffer, chunkBytes = 777_777): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkBytes)
        yield bytes.subarray(offset, offset + chunkBytes);
    })(),
  );
}

interface Backend {
  name: string;
  /**
   * Whether the server itself swaps objects atomically under concurrent readers. S3 and MinIO do;
   * s3rver, the in-process test server, writes objects in place, so that check needs a real S3.
   */
  serverSwapsAtomically: boolean;
  open(): Promise<{ storage: Storage; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "file://",
    serverSwapsAtomically: true,
    async open() {
      const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-storage-"));
      return { storage: new FileStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "s3:// (harness S3 server)",
    serverSwapsAtomically:
      process.env.S3_ENDPOINT !== undefined || process.env.HRPIPE_TEST_CONTAINERS === "1",
    async open() {
      const services: TestServices = await createTestServices("storage");
      return { storage: services.storage, cleanup: services.cleanup };
    },
  },
];

describe.each(backends)("storage contract: $name", (backend) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, cleanup } = await backend.open());
  });
  afterAll(async () => {
    await storage.close();
    await cleanup();
  });

  it("round-trips a 20 MB object through the streaming API byte for byte", async () => {
    const bytes = randomBytes(20 * 1024 * 1024);
    await storage.write("big/blob.bin", chunked(bytes));
    const back = await drain(await storage.read("big/blob.bin"));
    expect(back.length).toBe(bytes.length);
    expect(back.equals(bytes)).toBe(true);
    expect((await storage.list("big/"))[0]).toEqual({ key: "big/blob.bin", size: bytes.length });
  });

  it("puts, gets, checks existence and deletes", async () => {
    await storage.put("a/b/c.json", '{"x":1}');
    expect((await storage.get("a/b/c.json")).toString()).toBe('{"x":1}');
    expect(await storage.exists("a/b/c.json")).toBe(true);
    expect(await storage.exists("a/b/missing.json")).toBe(false);
    await storage.delete("a/b/c.json");
    expect(await storage.exists("a/b/c.json")).toBe(false);
    await storage.delete("a/b/c.json");
    await expect(storage.get("a/b/c.json")).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(storage.read("a/b/c.json")).rejects.toThrow(/a\/b\/c\.json does not exist/);
  });

  it("lists by prefix, sorted, across nested folders only below the prefix", async () => {
    for (const key of ["list/p1/x.bin", "list/p1/y.bin", "list/p2/z.bin", "list2/other.bin", "lis.bin"]) {
      await storage.put(key, key);
    }
    expect((await storage.list("list/")).map((o) => o.key)).toEqual([
      "list/p1/x.bin",
      "list/p1/y.bin",
      "list/p2/z.bin",
    ]);
    expect((await storage.list("list/p1/")).map((o) => o.key)).toEqual(["list/p1/x.bin", "list/p1/y.bin"]);
    expect((await storage.list("list")).map((o) => o.key)).toContain("list2/other.bin");
    expect(await storage.list("nothing/")).toEqual([]);
  });

  it("leaves the previous object untouched when a streamed write fails midway", async () => {
    await storage.put("failing/obj.bin", "previous");
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(9 * 1024 * 1024);
        throw new Error("producer died");
      })(),
    );
    // s3rver answers the multipart abort with 405, which then replaces the producer's error.
    await expect(storage.write("failing/obj.bin", failing)).rejects.toThrow();
    expect((await storage.get("failing/obj.bin")).toString()).toBe("previous");
    expect((await storage.list("failing/")).map((o) => o.key)).toEqual(["failing/obj.bin"]);
  });

  it.runIf(backend.serverSwapsAtomically)(
    "replaces atomically: concurrent readers see the old or the new object, never a mix",
    async () => {
      const oldBytes = Buffer.alloc(3 * 1024 * 1024, 0x61);
      const newBytes = Buffer.alloc(3 * 1024 * 1024, 0x62);
      await storage.put("atomic/obj.bin", oldBytes);
      const writing = storage.write("atomic/obj.bin", chunked(newBytes, 64 * 1024));
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const body = await storage.get("atomic/obj.bin");
        const uniform = body.length === oldBytes.length && (body.equals(oldBytes) || body.equals(newBytes));
        seen.push(uniform ? String.fromCharCode(body[0]!) : "torn");
      }
      await writing;
      expect(seen).not.toContain("torn");
      expect((await storage.get("atomic/obj.bin")).equals(newBytes)).toBe(true);
      expect((await storage.list("atomic/")).map((o) => o.key)).toEqual(["atomic/obj.bin"]);
    },
  );

  it("rejects unsafe keys before touching the backend", async () => {
    for (const key of ["../escape.txt", "a/../../b", "/abs/path", "a//b", "a/b\u0000c", "a/\nb", "dir/"]) {
      await expect(storage.put(key, "x"), key).rejects.toBeInstanceOf(UnsafeKeyError);
      await expect(storage.get(key), key).rejects.toBeInstanceOf(UnsafeKeyError);
    }
  });
});
