import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readMat } from "../src/read.ts";

const fixture = path.resolve(
  import.meta.dirname,
  "../../../../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat",
);
const truth = JSON.parse(readFileSync(path.join(path.dirname(fixture), "truth_P01.json"), "utf8")) as {
  fs: number;
  trials: { videoId: string; durationS: number; nanGapS: [number, number] | null }[];
};

describe("readMat on the scipy-written AMIGOS fixture", () => {
  const file = readMat(readFileSync(fixture), "Data_Preprocessed_P01.mat");

  it("reads joined_data as a 1x4 cell of T x 17 double matrices", () => {
    const joined = file.variables["joined_data"]!;
    expect(joined.kind).toBe("cell");
    if (joined.kind !== "cell") return;
    expect(joined.dims).toEqual([1, 4]);
    joined.cells.forEach((cell, i) => {
      expect(cell.kind).toBe("numeric");
      if (cell.kind !== "numeric") return;
      expect(cell.numericClass).toBe("double");
      expect(cell.dims).toEqual([truth.trials[i]!.durationS * truth.fs, 17]);
    });
  });

  it("reads VideoIDs as char cells and keeps NaN stretches", () => {
    const ids = file.variables["VideoIDs"]!;
    expect(ids.kind === "cell" && ids.cells.map((c) => (c.kind === "char" ? c.text : "?"))).toEqual([
      "4",
      "5",
      "9",
      "N1",
    ]);
    const joined = file.variables["joined_data"]!;
    if (joined.kind !== "cell") throw new Error("joined_data is not a cell");
    const n1 = joined.cells[3]!;
    if (n1.kind !== "numeric") throw new Error("trial N1 is not numeric");
    const rows = n1.dims[0]!;
    const [gapStart, gapEnd] = truth.trials[3]!.nanGapS!;
    const ecgLeft = n1.real.subarray(15 * rows, 16 * rows);
    expect(Number.isNaN(ecgLeft[Math.round(((gapStart + gapEnd) / 2) * truth.fs)]!)).toBe(true);
    expect(Number.isFinite(ecgLeft[Math.round((gapStart - 1) * truth.fs)]!)).toBe(true);
  });

  it("reads the label cells too", () => {
    expect(Object.keys(file.variables).sort()).toEqual(
      expect.arrayContaining(["VideoIDs", "joined_data", "labels_ext_annotation", "labels_selfassessment"]),
    );
  });
});

describe("readMat on bad input", () => {
  const good = readFileSync(fixture);

  it("names the file and the reason", () => {
    expect(() => readMat(Buffer.from("hello"), "x.mat")).toThrow(
      /^x\.mat is not a readable MAT-file: it holds 5 bytes/,
    );
    expect(() => readMat(Buffer.alloc(200), "zeros.mat")).toThrow(/no endian indicator/);
    expect(() => readMat(good.subarray(0, 5000), "cut.mat")).toThrow(
      /^cut\.mat is not a readable MAT-file: .*truncated/,
    );
    const garbled = Buffer.from(good);
    garbled.fill(0x55, 200, 400);
    expect(() => readMat(garbled, "garbled.mat")).toThrow(
      /garbled\.mat is not a readable MAT-file: a compressed element does not inflate/,
    );
  });

  it("recognises v7.3 (HDF5) files", () => {
    const header = Buffer.alloc(1024);
    header.write("MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00", 0, "latin1");
    expect(() => readMat(header, "v73.mat")).toThrow(/v7\.3 \(HDF5\).*re-save/);
  });
});

describe("writeMat", () => {
  it("writes what readMat reads back: doubles with NaN, strings and cells", async () => {
    const { writeMat } = await import("../src/write.ts");
    const data = Float64Array.from([1, 2, Number.NaN, 4, 5, 6]);
    const bytes = writeMat({ joined_data: [{ dims: [3, 2], data }], VideoIDs: ["4", "N1"], name: "hrpipe" });
    const back = readMat(bytes, "written.mat").variables;
    const joined = back["joined_data"];
    if (joined?.kind !== "cell" || joined.cells[0]?.kind !== "numeric")
      throw new Error("joined_data did not round-trip");
    expect(joined.cells[0].dims).toEqual([3, 2]);
    expect(Array.from(joined.cells[0].real)).toEqual([1, 2, Number.NaN, 4, 5, 6]);
    const ids = back["VideoIDs"];
    expect(ids?.kind === "cell" && ids.cells.map((c) => (c.kind === "char" ? c.text : ""))).toEqual([
      "4",
      "N1",
    ]);
    expect(back["name"]).toMatchObject({ kind: "char", text: "hrpipe" });
  });
});
