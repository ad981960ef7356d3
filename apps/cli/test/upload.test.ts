import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { uploadKeys } from "@hrpipe/contracts";
import { BlobMismatchError, FileStorage } from "@hrpipe/runtime";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uploadFolder } from "../src/upload.ts";

describe("uploadFolder stores a file under the hash of the bytes it stored", () => {
  let root: string;
  let folder: string;
  let storage: FileStorage;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-upload-"));
    folder = path.join(root, "data");
    storage = new FileStorage(path.join(root, "store"));
    await mkdir(folder);
    await writeFile(path.join(folder, "clip.mp4"), "the bytes as hashed");
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("refuses a file that changed between hashing and upload, and leaves no blob under the old hash", async () => {
    // A storage whose upload starts only after someone appended to the file.
    const racing = Object.create(storage) as FileStorage;
    racing.write = async (key: string, body: Readable) => {
      await appendFile(path.join(folder, "clip.mp4"), " and more");
      return storage.write(key, body);
    };
    await expect(uploadFolder(racing, folder)).rejects.toThrow(
      /^clip\.mp4 changed while it was being uploaded; upload again/,
    );
    expect(await storage.list("blobs/")).toEqual([]);
  });

  it("a blob whose bytes are not its name is refused when read, as bytes and as a stream", async () => {
    await uploadFolder(storage, folder);
    const [blob] = await storage.list("blobs/");
    expect(blob!.key).toMatch(/^blobs\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    expect((await storage.get(blob!.key)).toString()).toBe("the bytes as hashed");
    await writeFile(path.join(root, "store", ...blob!.key.split("/")), "replaced behind hrpipe's back");
    await expect(storage.get(blob!.key)).rejects.toBeInstanceOf(BlobMismatchError);
    await expect(storage.get(blob!.key)).rejects.toThrow(
      /not the one its name gives; upload the folder again/,
    );
    const stream = await storage.read(blob!.key);
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toBeInstanceOf(BlobMismatchError);
    // Other keys are not blobs and pass as they are.
    await storage.put(uploadKeys.index("datasets/x"), "{}");
    expect((await storage.get(uploadKeys.index("datasets/x"))).toString()).toBe("{}");
  });
});
