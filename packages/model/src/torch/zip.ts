import { inflateRawSync } from "node:zlib";

/** A ZIP archive that cannot be read as one; the message names the file. */
export class ZipError extends Error {
  override name = "ZipError";
}

/**
 * The entries of a ZIP archive (what torch.save writes: stored, or deflated by other tools), by name,
 * read through its central directory. Every offset and size is checked against the file's bytes.
 */
export function readZip(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new ZipError(`${file} is not a readable ZIP archive (${what}); is it a torch.save checkpoint?`);
  };
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 65_557); at--)
    if (view.getUint32(at, true) === 0x06054b50) {
      end = at;
      break;
    }
  if (end < 0) fail("no end-of-central-directory record");
  let count = view.getUint16(end + 10, true);
  let directory = view.getUint32(end + 16, true);
  // ZIP64: torch writes it for large archives; its locator precedes the end record.
  if (
    (count === 0xffff || directory === 0xffffffff) &&
    end >= 20 &&
    view.getUint32(end - 20, true) === 0x07064b50
  ) {
    const record = Number(view.getBigUint64(end - 12, true));
    if (record + 56 > bytes.length || view.getUint32(record, true) !== 0x06064b50) fail("a bad ZIP64 record");
    count = Number(view.getBigUint64(record + 32, true));
    directory = Number(view.getBigUint64(record + 48, true));
  }
  const entries = new Map<string, Uint8Array>();
  let at = directory;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50)
      fail(`central directory entry ${i}`);
    const method = view.getUint16(at + 10, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // ZIP64 extra field: the 64-bit sizes and offset, in that order, for fields saturated above.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        const next = () => {
          const value = Number(view.getBigUint64(field, true));
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressed === 0xffffffff) compressed = next();
        if (local === 0xffffffff) local = next();
      }
      extra += 4 + length;
    }
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50)
      fail(`the local header of ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + compressed > bytes.length) fail(`${name} runs past the end of the file`);
    const data = bytes.subarray(start, start + compressed);
    if (method === 0) entries.set(name, data);
    else if (method === 8) entries.set(name, new Uint8Array(inflateRawSync(data, { maxOutputLength: size })));
    else fail(`${name} uses compression method ${method}`);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
