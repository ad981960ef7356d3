import { deflateSync } from "node:zlib";

/** What writeMat can store: double matrices (column-major), strings, and 1xN cells of these. */
export type MatWritable = { dims: [number, number]; data: Float64Array } | string | MatWritable[];

const miINT8 = 1;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miDOUBLE = 9;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const mxCELL = 1;
const mxCHAR = 4;
const mxDOUBLE = 6;

function element(type: number, payload: Uint8Array): Buffer {
  const padded = Math.ceil(payload.length / 8) * 8;
  const out = Buffer.alloc(8 + padded);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(payload.length, 4);
  out.set(payload, 8);
  return out;
}

function int32s(values: number[]): Uint8Array {
  const out = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) out.writeInt32LE(v, i * 4);
  return out;
}

function matrix(name: string, value: MatWritable): Buffer {
  let arrayClass: number;
  let dims: number[];
  let body: Buffer[];
  if (typeof value === "string") {
    arrayClass = mxCHAR;
    dims = [1, value.length];
    const chars = Buffer.alloc(value.length * 2);
    for (let i = 0; i < value.length; i++) chars.writeUInt16LE(value.charCodeAt(i), i * 2);
    body = [element(miUINT16, chars)];
  } else if (Array.isArray(value)) {
    arrayClass = mxCELL;
    dims = [1, value.length];
    body = value.map((cell) => matrix("", cell));
  } else {
    arrayClass = mxDOUBLE;
    dims = value.dims;
    body = [
      element(miDOUBLE, new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength)),
    ];
  }
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(arrayClass, 0);
  const parts = [
    element(miUINT32, flags),
    element(miINT32, int32s(dims)),
    element(miINT8, Buffer.from(name, "latin1")),
    ...body,
  ];
  return element(miMATRIX, Buffer.concat(parts));
}

/** Writes a Level 5 MAT-file (as MATLAB's save -v7 and scipy.io.savemat do), every variable compressed. */
export function writeMat(variables: Record<string, MatWritable>, description = "hrpipe"): Buffer {
  const header = Buffer.alloc(128, 0x20);
  header.write(`MATLAB 5.0 MAT-file, written by ${description}`.slice(0, 116), 0, "latin1");
  header.fill(0, 116, 124);
  header.writeUInt16LE(0x0100, 124);
  header.write("IM", 126, "latin1");
  const parts: Buffer[] = [header];
  for (const [name, value] of Object.entries(variables)) {
    const compressed = deflateSync(matrix(name, value));
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(miCOMPRESSED, 0);
    tag.writeUInt32LE(compressed.length, 4);
    parts.push(tag, compressed);
  }
  return Buffer.concat(parts);
}
