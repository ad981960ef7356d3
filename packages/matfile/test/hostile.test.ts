import { readFileSync } from "node:fs";
import path from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { clearErrorNaming, fuzz, mutations } from "../../../tests/harness/fuzz.ts";
import { MatFileError, readMat, writeMat } from "../src/index.ts";

const fixture = path.resolve(
  import.meta.dirname,
  "../../../../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat",
);

function header(): Buffer {
  const bytes = Buffer.alloc(128, 0x20);
  bytes.write("MATLAB 5.0 MAT-file, hostile", 0, "latin1");
  bytes.writeUInt16LE(0x0100, 124);
  bytes.write("IM", 126, "latin1");
  return bytes;
}

function element(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(8 + Math.ceil(payload.length / 8) * 8);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(payload.length, 4);
  payload.copy(out, 8);
  return out;
}

function int32s(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  for (const [i, v] of values.entries()) out.writeInt32LE(v, 4 * i);
  return out;
}

/** A struct (class 2) with no fields and the given dimensions: 208 bytes for 2147483647x2147483647. */
function fieldlessStruct(dims: number[]): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(2, 0);
  const matrix = Buffer.concat([
    element(6, flags),
    element(5, int32s(...dims)),
    element(1, Buffer.from("s")),
    element(5, int32s(0)),
    element(1, Buffer.alloc(0)),
  ]);
  return Buffer.concat([header(), element(14, matrix)]);
}

/** The same file with every compressed element stored inflated: mutations then reach the array parser. */
function uncompressed(bytes: Buffer): Buffer {
  const parts = [bytes.subarray(0, 128)];
  for (let offset = 128; offset < bytes.length; ) {
    const size = bytes.readUInt32LE(offset + 4);
    parts.push(inflateSync(bytes.subarray(offset + 8, offset + 8 + size)));
    offset += 8 + size;
  }
  return Buffer.concat(parts);
}

describe("readMat on hostile files", () => {
  it("refuses a 208-byte struct of 2147483647x2147483647 fieldless elements at once", () => {
    const bytes = fieldlessStruct([2147483647, 2147483647]);
    expect(bytes.length).toBe(208);
    const started = performance.now();
    expect(() => readMat(bytes, "bomb.mat")).toThrow(
      /^bomb\.mat is not a readable MAT-file: an array.s dimensions 2147483647x2147483647 are too large/,
    );
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("refuses a fieldless struct with more elements than bytes", () => {
    expect(() => readMat(fieldlessStruct([1000, 1000]), "many.mat")).toThrow(
      /the struct s claims 1000x1000 elements and has no fields/,
    );
  });

  it("refuses negative dimensions", () => {
    expect(() => readMat(fieldlessStruct([-1, -1]), "neg.mat")).toThrow(
      /^neg\.mat is not a readable MAT-file: an array has the dimension -1/,
    );
  });

  it("refuses a cell array claiming more cells than its bytes can hold", () => {
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(1, 0);
    const matrix = Buffer.concat([
      element(6, flags),
      element(5, int32s(1, 1_000_000)),
      element(1, Buffer.from("c")),
    ]);
    expect(() => readMat(Buffer.concat([header(), element(14, matrix)]), "cells.mat")).toThrow(
      /the cell array c claims 1x1000000 elements but only 0 bytes follow/,
    );
  });

  it("stops a 261-KB compressed element that inflates to 268 MB (zip bomb)", () => {
    const bomb = deflateSync(Buffer.alloc(268e6), { level: 9 });
    expect(bomb.length).toBeLessThan(270_000);
    const compressed = Buffer.alloc(8);
    compressed.writeUInt32LE(15, 0);
    compressed.writeUInt32LE(bomb.length, 4);
    const bytes = Buffer.concat([header(), compressed, bomb]);
    expect(() => readMat(bytes, "zip.mat")).toThrow(/^zip\.mat .*inflates to more than 200 MiB/);
    expect(() => readMat(bytes, "zip.mat", { maxInflatedBytes: 1 << 20 })).toThrow(
      /inflates to more than 1 MiB/,
    );
  });
});

describe("readMat fuzzed from real files", () => {
  const clear = (error: unknown) => error instanceof MatFileError && clearErrorNaming("fuzz.mat")(error);

  it("ends every mutation of the AMIGOS fixture in a result or a clear MatFileError", () => {
    const original = readFileSync(fixture);
    const outcome = fuzz(mutations(original, 150, 1), (bytes) => readMat(bytes, "fuzz.mat"), {
      clear,
      maxMs: 2_000,
    });
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.heapGrowthBytes).toBeLessThan(512 * 2 ** 20);
  });

  it("ends every mutation of an uncompressed cell/char/double file the same way", () => {
    const written = writeMat({
      joined_data: [
        { dims: [4, 3], data: Float64Array.from({ length: 12 }, (_, i) => i / 3) },
        { dims: [2, 2], data: new Float64Array([Number.NaN, 1, 2, 3]) },
      ],
      VideoIDs: ["4", "N1"],
    });
    const original = uncompressed(written);
    expect(readMat(original, "plain.mat").variables.VideoIDs?.kind).toBe("cell");
    const outcome = fuzz(mutations(original, 3_000, 2), (bytes) => readMat(bytes, "fuzz.mat"), {
      clear,
      maxMs: 200,
    });
    expect(outcome.parsed).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.heapGrowthBytes).toBeLessThan(256 * 2 ** 20);
  });
});
