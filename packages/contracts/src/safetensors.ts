/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
 * a JSON header of { name: { dtype, shape, data_offsets } } plus optional "__metadata__", then the
 * raw little-endian tensor bytes. Readable by PyTorch, NumPy and JAX.
 */

export type DType = "U8" | "I32" | "I64" | "F16" | "F32" | "F64";

/** F16 tensors hold IEEE 754 half-precision bit patterns (see float32ToFloat16). */
export type TypedArrayOf<D extends DType> = D extends "U8"
  ? Uint8Array
  : D extends "F16"
    ? Uint16Array
    : D extends "I32"
      ? Int32Array
      : D extends "I64"
        ? BigInt64Array
        : D extends "F32"
          ? Float32Array
          : Float64Array;

export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TypedArrayOf<D>;
}

export type TensorMap = Record<string, Tensor>;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

const dtypeBytes: Record<DType, number> = { U8: 1, I32: 4, I64: 8, F16: 2, F32: 4, F64: 8 };
const maxHeaderBytes = 100 * 1024 * 1024;

interface HeaderEntry {
  dtype: DType;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** Bytes before the first tensor byte: 8 + the JSON header length. */
  dataStart: number;
  entries: Record<string, HeaderEntry>;
  metadata: Record<string, string>;
}

function elementCount(shape: number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

/**
 * Parses and validates the header from the first bytes of a file; `totalBytes` (when known) is
 * checked against the offsets so that no tensor can point outside the file.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  totalBytes?: number,
  source = "safetensors data",
): SafetensorsHeader {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source} is not a valid safetensors file: ${why}.`);
  };
  if (bytes.length < 8) fail(`it holds ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes))
    fail(`its header length ${headerLength} exceeds ${maxHeaderBytes} bytes`);
  const dataStart = 8 + Number(headerLength);
  if (bytes.length < dataStart)
    fail(`its header needs ${dataStart} bytes but only ${bytes.length} are present (truncated?)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    fail(`its header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    fail("its header is not a JSON object");
  const entries: Record<string, HeaderEntry> = {};
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Object.values(raw).some((v) => typeof v !== "string")) {
        fail("__metadata__ must map strings to strings");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = raw as Partial<HeaderEntry> | null;
    if (entry === null || typeof entry !== "object") fail(`tensor ${name} has no descriptor object`);
    const { dtype, shape, data_offsets: offsets } = entry as Partial<HeaderEntry>;
    if (typeof dtype !== "string" || !(dtype in dtypeBytes))
      fail(`tensor ${name} has unsupported dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      fail(`tensor ${name} has an invalid shape`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
      offsets[0]! > offsets[1]!
    ) {
      fail(`tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape as number[]) * dtypeBytes[dtype as DType];
    if (end - begin !== expected)
      fail(
        `tensor ${name} spans ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`,
      );
    if (totalBytes !== undefined && dataStart + end > totalBytes) {
      fail(`tensor ${name} ends at byte ${dataStart + end} but the file has ${totalBytes} (truncated?)`);
    }
    entries[name] = { dtype: dtype as DType, shape: shape as number[], data_offsets: [begin, end] };
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) fail(`tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { dataStart, entries, metadata };
}

function viewAs(dtype: DType, bytes: Uint8Array): Tensor["data"] {
  // A copy gives every typed array an aligned buffer of its own, whatever the offset in the file
  // (and whatever Buffer.slice shares: the Uint8Array constructor always copies).
  const own = new Uint8Array(bytes);
  const count = own.byteLength / dtypeBytes[dtype];
  switch (dtype) {
    case "U8":
      return own;
    case "F16":
      return new Uint16Array(own.buffer, 0, count);
    case "I32":
      return new Int32Array(own.buffer, 0, count);
    case "I64":
      return new BigInt64Array(own.buffer, 0, count);
    case "F32":
      return new Float32Array(own.buffer, 0, count);
    case "F64":
      return new Float64Array(own.buffer, 0, count);
  }
}

export function decodeSafetensors(bytes: Uint8Array, source?: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, bytes.length, source);
  const tensors: TensorMap = {};
  for (const [name, entry] of Object.entries(header.entries)) {
    const [begin, end] = entry.data_offsets;
    const data = viewAs(entry.dtype, bytes.subarray(header.dataStart + begin, header.dataStart + end));
    tensors[name] = { dtype: entry.dtype, shape: entry.shape, data } as Tensor;
  }
  return { tensors, metadata: header.metadata };
}

/** Typed access with a clear error when a tensor is missing or of another dtype or rank. */
export function getTensor<D extends DType>(
  file: SafetensorsFile,
  name: string,
  dtype: D,
  rank?: number,
): Tensor<D> {
  const tensor = file.tensors[name];
  if (!tensor)
    throw new SafetensorsError(
      `tensor ${name} is missing (present: ${Object.keys(file.tensors).join(", ")}).`,
    );
  if (tensor.dtype !== dtype)
    throw new SafetensorsError(`tensor ${name} is ${tensor.dtype}, expected ${dtype}.`);
  if (rank !== undefined && tensor.shape.length !== rank) {
    throw new SafetensorsError(
      `tensor ${name} has shape ${JSON.stringify(tensor.shape)}, expected rank ${rank}.`,
    );
  }
  return tensor as Tensor<D>;
}

export function tensor<D extends DType>(dtype: D, shape: number[], data: TypedArrayOf<D>): Tensor<D> {
  if (data.length !== elementCount(shape)) {
    throw new SafetensorsError(
      `tensor data holds ${data.length} values but shape ${JSON.stringify(shape)} needs ${elementCount(shape)}.`,
    );
  }
  return { dtype, shape, data };
}

/**
 * The header bytes for tensors written in the given order, padded with spaces to 8-byte alignment
 * as the reference implementation does; the tensor bytes follow in the same order, so a writer can
 * stream them without holding the file in memory.
 */
export function encodeSafetensorsHeader(
  layout: { name: string; dtype: DType; shape: number[] }[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  for (const { name, dtype, shape } of layout) {
    const size = elementCount(shape) * dtypeBytes[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors);
  const header = encodeSafetensorsHeader(
    names.map((name) => ({ name, dtype: tensors[name]!.dtype, shape: tensors[name]!.shape })),
    metadata,
  );
  const parts: Uint8Array[] = [header];
  for (const name of names) {
    const { data } = tensors[name]!;
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return Buffer.concat(parts);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * IEEE 754 half-precision bit patterns of float32 values, rounded to nearest even; values beyond
 * the half range become infinities and tiny ones subnormals or zero, as NumPy's astype(float16) does.
 */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32Scratch[0] = values[i]!;
    const bits = u32Scratch[0]!;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    let mantissa = bits & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (halfExponent <= 0) {
      if (halfExponent < -10) {
        out[i] = sign;
        continue;
      }
      mantissa |= 0x800000;
      const shift = 14 - halfExponent;
      const half = mantissa >>> shift;
      const remainder = mantissa & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      out[i] = sign | (half + (remainder > halfway || (remainder === halfway && half & 1) ? 1 : 0));
      continue;
    }
    const half = (halfExponent << 10) | (mantissa >>> 13);
    const remainder = mantissa & 0x1fff;
    // Rounding may carry into the exponent, which is still the right half value (up to infinity).
    out[i] = sign | (half + (remainder > 0x1000 || (remainder === 0x1000 && half & 1) ? 1 : 0));
  }
  return out;
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const value = bits[i]!;
    const sign = value & 0x8000 ? -1 : 1;
    const exponent = (value >>> 10) & 0x1f;
    const mantissa = value & 0x3ff;
    out[i] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? Number.NaN
            : sign * Number.POSITIVE_INFINITY
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}
