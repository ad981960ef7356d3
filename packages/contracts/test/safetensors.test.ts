import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeSafetensors,
  encodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  getTensor,
  parseSafetensorsHeader,
  SafetensorsError,
  tensor,
} from "../src/safetensors.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../../shared/fixtures");

describe("safetensors", () => {
  it("reads the torchvision DenseNet weights written by Python with names, dtypes, shapes and exact values", () => {
    const file = decodeSafetensors(readFileSync(path.join(fixtures, "densenet-tiny/weights.safetensors")));
    const conv0 = getTensor(file, "features.conv0.weight", "F32", 4);
    expect(conv0.shape).toEqual([16, 3, 7, 7]);
    const tracked = getTensor(file, "features.norm0.num_batches_tracked", "I64");
    expect(tracked.data.length).toBe(1);
    const classifier = getTensor(file, "classifier.weight", "F32", 2);
    expect(classifier.shape).toEqual([10, 32]);
    expect(getTensor(file, "features.denseblock1.denselayer1.conv1.weight", "F32").shape).toEqual([
      32, 16, 1, 1,
    ]);
    // Spot checks against the raw little-endian bytes at the offsets the header declares.
    const bytes = readFileSync(path.join(fixtures, "densenet-tiny/weights.safetensors"));
    const header = parseSafetensorsHeader(bytes, bytes.length);
    for (const name of ["features.conv0.weight", "features.norm5.running_var", "classifier.bias"]) {
      const entry = header.entries[name]!;
      const data = getTensor(file, name, "F32").data;
      for (const index of [0, Math.floor(data.length / 2), data.length - 1]) {
        const raw = bytes.readFloatLE(header.dataStart + entry.data_offsets[0] + index * 4);
        expect(Object.is(data[index], raw)).toBe(true);
      }
    }
    expect(Object.keys(file.tensors).filter((n) => n.endsWith("num_batches_tracked")).length).toBeGreaterThan(
      10,
    );
  });

  it("round-trips every dtype and the metadata through its own writer", () => {
    const original = {
      u8: tensor("U8", [2, 3], Uint8Array.from([0, 1, 2, 253, 254, 255])),
      i32: tensor("I32", [3], Int32Array.from([-2147483648, 0, 2147483647])),
      i64: tensor("I64", [2], BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n])),
      f32: tensor("F32", [2, 2], Float32Array.from([Math.PI, -0, Number.NaN, Number.POSITIVE_INFINITY])),
      f64: tensor("F64", [1], Float64Array.from([Math.E])),
      empty: tensor("F32", [0, 4], new Float32Array(0)),
    };
    const encoded = encodeSafetensors(original, { format: "hrpipe-test", version: "1" });
    expect(encoded.readBigUInt64LE(0) % 8n).toBe(0n);
    const back = decodeSafetensors(encoded);
    expect(back.metadata).toEqual({ format: "hrpipe-test", version: "1" });
    for (const [name, t] of Object.entries(original)) {
      expect(back.tensors[name]!.dtype).toBe(t.dtype);
      expect(back.tensors[name]!.shape).toEqual(t.shape);
      expect(
        Buffer.from(back.tensors[name]!.data.buffer).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
      ).toBe(true);
    }
  });

  it("gives a clear error for truncated, garbled or lying files, never an out-of-bounds read", () => {
    const good = encodeSafetensors({ x: tensor("F32", [4], Float32Array.from([1, 2, 3, 4])) });
    expect(() => decodeSafetensors(good.subarray(0, 5), "x.safetensors")).toThrow(
      /x\.safetensors .*fewer than the 8-byte/,
    );
    expect(() => decodeSafetensors(good.subarray(0, 20))).toThrow(/truncated/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 1))).toThrow(/ends at byte .*truncated/);
    const garbled = Buffer.from(good);
    garbled.write("{{{{", 8);
    expect(() => decodeSafetensors(garbled)).toThrow(/not UTF-8 JSON/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 60n, 0);
    expect(() => decodeSafetensors(huge)).toThrow(/exceeds/);
    const lying = (entry: object) => {
      const json = Buffer.from(JSON.stringify({ x: entry }));
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([head, json, Buffer.alloc(16)]);
    };
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [8], data_offsets: [0, 32] }))).toThrow(
      /truncated/,
    );
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [5], data_offsets: [0, 16] }))).toThrow(
      /needs 20/,
    );
    expect(() => decodeSafetensors(lying({ dtype: "Q7", shape: [1], data_offsets: [0, 1] }))).toThrow(
      /unsupported dtype/,
    );
    expect(() => decodeSafetensors(lying({ dtype: "F32", shape: [-1], data_offsets: [0, 4] }))).toThrow(
      /invalid shape/,
    );
    expect(() => decodeSafetensors(lying({ dtype: "U8", shape: [1], data_offsets: [3, 2] }))).toThrow(
      /data_offsets/,
    );
    expect(() => decodeSafetensors(lying({ dtype: "U8", shape: [1], data_offsets: [3, 2] }))).toThrow(
      SafetensorsError,
    );
  });
});

describe("float16 (features shards stored at half the bytes)", () => {
  it("writes IEEE 754 half bit patterns, rounding to nearest even, as NumPy's astype(float16)", () => {
    // Expected bits from np.array([v], dtype=np.float32).astype(np.float16).view(np.uint16).
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up past the largest half: infinity
      [1e6, 0x7c00],
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: a tie, to even (zero)
      [3 * 2 ** -26, 0x0001],
      [2 ** -26, 0x0000],
      [6.1e-5, 0x03ff], // the largest subnormal
      [6.102e-5, 0x0400], // rounds up to the smallest normal
      [1 + 2 ** -11, 0x3c00], // a tie rounds to the even mantissa
      [1 + 3 * 2 ** -11, 0x3c02],
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    const bits = float32ToFloat16(Float32Array.from(cases, ([value]) => value));
    expect([...bits].map((b) => b.toString(16))).toEqual(cases.map(([, half]) => half.toString(16)));
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(Float32Array.of(Number.NaN)))[0])).toBe(true);
  });

  it("reads back every finite half exactly, and float32 values within half's precision", () => {
    const everyHalf = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
    expect(float32ToFloat16(float16ToFloat32(everyHalf))).toEqual(everyHalf);
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
    const back = float16ToFloat32(float32ToFloat16(values));
    for (const [i, value] of values.entries())
      expect(Math.abs(back[i]! - value)).toBeLessThanOrEqual(Math.max(Math.abs(value) * 2 ** -11, 2 ** -25));
  });

  it("round-trips an F16 tensor through a safetensors file", () => {
    const data = float32ToFloat16(Float32Array.of(1.5, -0.25, 3));
    const file = decodeSafetensors(encodeSafetensors({ x: tensor("F16", [3], data) }));
    expect(getTensor(file, "x", "F16", 1).data).toEqual(data);
  });
});
