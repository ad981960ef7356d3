import { inflateSync } from "node:zlib";
import { type MatFile, MatFileError, type MatNumeric, type MatValue, type NumericClass } from "./types.ts";

// Data element types (MAT-File Format, Level 5, table 1-1).
const miINT8 = 1;
const miUINT8 = 2;
const miINT16 = 3;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miSINGLE = 7;
const miDOUBLE = 9;
const miINT64 = 12;
const miUINT64 = 13;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const miUTF8 = 16;
const miUTF16 = 17;
const miUTF32 = 18;

// Array classes (table 1-3).
const mxCELL = 1;
const mxSTRUCT = 2;
const mxOBJECT = 3;
const mxCHAR = 4;
const mxSPARSE = 5;
const numericClasses: Record<number, NumericClass> = {
  6: "double",
  7: "single",
  8: "int8",
  9: "uint8",
  10: "int16",
  11: "uint16",
  12: "int32",
  13: "uint32",
  14: "int64",
  15: "uint64",
};

interface Element {
  type: number;
  data: Uint8Array;
}

/** Reads data elements from a byte range; every read is bounds-checked against the range. */
class ElementReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  /** Bytes not read yet: every count a header claims is bounded by them. */
  get remaining(): number {
    return Math.max(0, this.bytes.length - this.offset);
  }

  fail(why: string): never {
    throw new MatFileError(`${this.source} is not a readable MAT-file: ${why}.`);
  }

  next(): Element {
    if (this.offset + 8 > this.bytes.length)
      this.fail(`a data element header at byte ${this.offset} is cut off (truncated file?)`);
    const first = this.view.getUint32(this.offset, this.littleEndian);
    // Small data element format: type and size share the first word, the data sits in the second.
    if (first >>> 16 !== 0) {
      const type = first & 0xffff;
      const size = first >>> 16;
      if (size > 4) this.fail(`a small data element at byte ${this.offset} claims ${size} bytes`);
      const data = this.bytes.subarray(this.offset + 4, this.offset + 4 + size);
      this.offset += 8;
      return { type, data };
    }
    const size = this.view.getUint32(this.offset + 4, this.littleEndian);
    const start = this.offset + 8;
    if (start + size > this.bytes.length)
      this.fail(
        `a data element at byte ${this.offset} needs ${size} bytes but the file ends first (truncated?)`,
      );
    const data = this.bytes.subarray(start, start + size);
    // Compressed elements are not padded; every other element is padded to 8 bytes.
    this.offset = first === miCOMPRESSED ? start + size : start + Math.ceil(size / 8) * 8;
    return { type: first, data };
  }

  expect(type: number | number[], what: string): Element {
    const element = this.next();
    const allowed = Array.isArray(type) ? type : [type];
    if (!allowed.includes(element.type))
      this.fail(`${what} has data type ${element.type}, expected ${allowed.join(" or ")}`);
    return element;
  }
}

function toNumbers(element: Element, littleEndian: boolean, reader: ElementReader): Float64Array {
  const { data, type } = element;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width: Record<number, number> = {
    [miINT8]: 1,
    [miUINT8]: 1,
    [miINT16]: 2,
    [miUINT16]: 2,
    [miINT32]: 4,
    [miUINT32]: 4,
    [miSINGLE]: 4,
    [miDOUBLE]: 8,
    [miINT64]: 8,
    [miUINT64]: 8,
  };
  const size = width[type];
  if (size === undefined) reader.fail(`numeric data has unsupported data type ${type}`);
  if (data.byteLength % size !== 0)
    reader.fail(`numeric data of ${data.byteLength} bytes is not a whole number of ${size}-byte values`);
  const count = data.byteLength / size;
  const out = new Float64Array(count);
  if (type === miDOUBLE && littleEndian && data.byteOffset % 8 === 0) {
    out.set(new Float64Array(data.buffer, data.byteOffset, count));
    return out;
  }
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (type) {
      case miINT8:
        out[i] = view.getInt8(at);
        break;
      case miUINT8:
        out[i] = view.getUint8(at);
        break;
      case miINT16:
        out[i] = view.getInt16(at, littleEndian);
        break;
      case miUINT16:
        out[i] = view.getUint16(at, littleEndian);
        break;
      case miINT32:
        out[i] = view.getInt32(at, littleEndian);
        break;
      case miUINT32:
        out[i] = view.getUint32(at, littleEndian);
        break;
      case miSINGLE:
        out[i] = view.getFloat32(at, littleEndian);
        break;
      case miDOUBLE:
        out[i] = view.getFloat64(at, littleEndian);
        break;
      case miINT64:
        out[i] = Number(view.getBigInt64(at, littleEndian));
        break;
      case miUINT64:
        out[i] = Number(view.getBigUint64(at, littleEndian));
        break;
    }
  }
  return out;
}

function decodeText(element: Element, littleEndian: boolean, reader: ElementReader): string {
  switch (element.type) {
    case miUTF8:
    case miINT8:
    case miUINT8:
      return new TextDecoder("utf-8").decode(element.data);
    case miUTF16:
    case miUINT16:
    case miINT16:
      return new TextDecoder(littleEndian ? "utf-16le" : "utf-16be").decode(element.data);
    case miUTF32:
    case miINT32:
    case miUINT32: {
      const codePoints = toNumbers({ ...element, type: miUINT32 }, littleEndian, reader);
      if (codePoints.some((c) => c > 0x10ffff)) reader.fail("character data holds a value beyond Unicode");
      return Array.from(codePoints, (c) => String.fromCodePoint(c)).join("");
    }
    default:
      return reader.fail(`character data has unsupported data type ${element.type}`);
  }
}

/** The element count of valid dimensions: each a whole number >= 0, their product a safe integer. */
function elementCount(dims: number[], reader: ElementReader): number {
  if (dims.length < 2) reader.fail(`an array has ${dims.length} dimensions, fewer than MATLAB's 2`);
  let count = 1;
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0) reader.fail(`an array has the dimension ${dim}`);
    count *= dim;
  }
  if (!Number.isSafeInteger(count)) reader.fail(`an array's dimensions ${dims.join("x")} are too large`);
  return count;
}

/** Parses the body of an miMATRIX element; returns the array name and its value. */
function readMatrix(
  bytes: Uint8Array,
  source: string,
  littleEndian: boolean,
): { name: string; value: MatValue } {
  const reader = new ElementReader(bytes, source, littleEndian);
  if (reader.done)
    return {
      name: "",
      value: {
        kind: "numeric",
        numericClass: "double",
        logical: false,
        dims: [0, 0],
        real: new Float64Array(0),
      },
    };
  const flags = reader.expect(miUINT32, "array flags");
  if (flags.data.byteLength < 8) reader.fail("array flags are shorter than 8 bytes");
  const flagWord = new DataView(flags.data.buffer, flags.data.byteOffset, 8).getUint32(0, littleEndian);
  const arrayClass = flagWord & 0xff;
  const complex = (flagWord & 0x800) !== 0;
  const logical = (flagWord & 0x200) !== 0;
  if (arrayClass === mxOBJECT)
    reader.fail("it holds a MATLAB object, which hrpipe cannot read; save the data as plain arrays");
  if (arrayClass === mxSPARSE)
    reader.fail("it holds a sparse matrix, which hrpipe cannot read; save it with full()");
  const dims = Array.from(toNumbers(reader.expect(miINT32, "dimensions"), littleEndian, reader));
  const name = decodeText(reader.expect([miINT8, miUINT8, miUTF8], "array name"), littleEndian, reader);
  const count = elementCount(dims, reader);
  // Every cell and struct field is an element of its own, with an 8-byte header at least.
  const needsElements = (perElement: number, what: string) => {
    if (count * perElement > reader.remaining / 8)
      reader.fail(
        `${what} ${name || "(unnamed)"} claims ${dims.join("x")} elements but only ${reader.remaining} bytes follow`,
      );
  };

  if (arrayClass === mxCELL) {
    needsElements(1, "the cell array");
    const cells: MatValue[] = [];
    for (let i = 0; i < count; i++)
      cells.push(
        readMatrix(reader.expect(miMATRIX, `cell ${i} of ${name || "a cell"}`).data, source, littleEndian)
          .value,
      );
    return { name, value: { kind: "cell", dims, cells } };
  }
  if (arrayClass === mxSTRUCT) {
    const fieldNameLength =
      toNumbers(reader.expect(miINT32, "field name length"), littleEndian, reader)[0] ?? 0;
    const namesElement = reader.expect([miINT8, miUINT8], "field names");
    const fieldNames: string[] = [];
    if (fieldNameLength > 0) {
      for (let offset = 0; offset + fieldNameLength <= namesElement.data.length; offset += fieldNameLength) {
        const raw = namesElement.data.subarray(offset, offset + fieldNameLength);
        const end = raw.indexOf(0);
        fieldNames.push(new TextDecoder().decode(end >= 0 ? raw.subarray(0, end) : raw));
      }
    }
    // A struct without fields stores nothing per element: its element count is bounded by its bytes.
    if (fieldNames.length === 0 && count > bytes.length)
      reader.fail(`the struct ${name || "(unnamed)"} claims ${dims.join("x")} elements and has no fields`);
    needsElements(fieldNames.length, "the struct");
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const record: Record<string, MatValue> = {};
      for (const field of fieldNames)
        record[field] = readMatrix(
          reader.expect(miMATRIX, `field ${field}`).data,
          source,
          littleEndian,
        ).value;
      elements.push(record);
    }
    return { name, value: { kind: "struct", dims, fieldNames, elements } };
  }
  if (arrayClass === mxCHAR) {
    const text = count === 0 ? "" : decodeText(reader.next(), littleEndian, reader);
    return { name, value: { kind: "char", dims, text } };
  }
  const numericClass = numericClasses[arrayClass];
  if (numericClass === undefined) reader.fail(`array ${name || "(unnamed)"} has unknown class ${arrayClass}`);
  const real = toNumbers(reader.next(), littleEndian, reader);
  if (real.length !== count)
    reader.fail(
      `array ${name || "(unnamed)"} holds ${real.length} values but its dimensions ${dims.join("x")} need ${count}`,
    );
  const value: MatNumeric = { kind: "numeric", numericClass: numericClass!, logical, dims, real };
  if (complex) {
    value.imag = toNumbers(reader.next(), littleEndian, reader);
    if (value.imag.length !== count)
      reader.fail(
        `array ${name || "(unnamed)"} holds ${value.imag.length} imaginary values for ${count} real ones`,
      );
  }
  return { name, value };
}

export interface ReadMatOptions {
  /**
   * The most bytes one compressed variable may inflate to. An AMIGOS participant's whole record
   * (about 6,000 s of 17 channels at 128 Hz) is about 110 MB; a zip bomb stops here.
   */
  maxInflatedBytes?: number;
}

/** The default cap on a compressed variable's inflated size: 200 MiB, about twice an AMIGOS participant's whole record. */
export const defaultMaxInflatedBytes = 200 * 1024 * 1024;

/**
 * Reads a MATLAB Level 5 MAT-file (what `save -v7` and scipy.io.savemat write): compressed elements,
 * numeric and logical arrays, char arrays, cells and structs. v7.3 files are HDF5 and get a clear error.
 */
export function readMat(bytes: Uint8Array, source = "the MAT-file", options: ReadMatOptions = {}): MatFile {
  const maxInflatedBytes = options.maxInflatedBytes ?? defaultMaxInflatedBytes;
  const fail = (why: string): never => {
    throw new MatFileError(`${source} is not a readable MAT-file: ${why}.`);
  };
  if (bytes.length < 128) fail(`it holds ${bytes.length} bytes, fewer than the 128-byte header`);
  const description = new TextDecoder("latin1").decode(bytes.subarray(0, 116)).replace(/[\0 ]+$/, "");
  const hdf5Signature = [0x89, 0x48, 0x44, 0x46];
  if (
    description.includes("MATLAB 7.3") ||
    (bytes.length > 516 && hdf5Signature.every((b, i) => bytes[512 + i] === b))
  ) {
    fail("it is a MATLAB v7.3 (HDF5) file; re-save it with save(..., '-v7') or scipy.io.savemat");
  }
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (endian !== "IM" && endian !== "MI") fail("its header has no endian indicator (not a Level 5 MAT-file)");
  const littleEndian = endian === "IM";
  const reader = new ElementReader(bytes.subarray(128), source, littleEndian);
  const variables: Record<string, MatValue> = {};
  while (!reader.done) {
    let element = reader.next();
    if (element.type === miCOMPRESSED) {
      let inflated: Buffer;
      try {
        inflated = inflateSync(element.data, { maxOutputLength: maxInflatedBytes });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
          return fail(
            `a compressed element inflates to more than ${(maxInflatedBytes / 2 ** 20).toFixed(0)} MiB (a zip bomb, or a variable too large to read at once)`,
          );
        return fail(`a compressed element does not inflate (${(error as Error).message})`);
      }
      const inner = new ElementReader(inflated, source, littleEndian);
      element = inner.next();
    }
    if (element.type !== miMATRIX) continue;
    const { name, value } = readMatrix(element.data, source, littleEndian);
    if (name) variables[name] = value;
  }
  return { description, variables };
}
