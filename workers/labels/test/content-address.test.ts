import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { labelOptionsSchema } from "@hrpipe/contracts";
import { FileStorage } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processLabelsJob } from "../src/processor.ts";

const fixture = readFileSync(
  path.resolve(import.meta.dirname, "../../../../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat"),
);

/** Labels are addressed by what the .mat holds, not by its key and size. */
describe("ecg labels' content address", () => {
  let dir: string;
  let storage: FileStorage;
  const options = labelOptionsSchema.parse({});
  const label = (matKey: string) => processLabelsJob({ participant: "P01", matKey, options }, { storage });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-ecg-address-"));
    storage = new FileStorage(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("recomputes a file replaced by other bytes of the same size under the same key", async () => {
    await storage.put("ds/Data_Preprocessed_P01.mat", fixture);
    const first = await label("ds/Data_Preprocessed_P01.mat");
    expect(first.reused).toBe(false);
    expect((await label("ds/Data_Preprocessed_P01.mat")).reused).toBe(true);

    // Same size, same key, other bytes: one character of the MAT header's free text changed.
    const edited = Buffer.from(fixture);
    edited[20] = edited[20] === 0x41 ? 0x42 : 0x41;
    expect(edited.length).toBe(fixture.length);
    await storage.put("ds/Data_Preprocessed_P01.mat", edited);
    const second = await label("ds/Data_Preprocessed_P01.mat");
    expect(second.reused).toBe(false);
    expect(second.hash).not.toBe(first.hash);
  });

  it("reuses the labels of the same bytes stored under another key", async () => {
    await storage.put("elsewhere/P1/Data_Preprocessed_P1.mat", fixture);
    const moved = await label("elsewhere/P1/Data_Preprocessed_P1.mat");
    expect(moved.reused).toBe(true);
    expect(moved.labels.map((l) => l.videoId)).toEqual(["4", "5", "9", "N1"]);
  });
});
