/**
 * Mutation fuzzing for the parsers of user files: seeded, so a failure names the mutation that
 * caused it and reproduces. Each mutation starts from real bytes (a fixture) and truncates them,
 * flips bytes, writes extreme 32-bit words (lengths and dimensions), or cuts and repeats a span.
 */

export interface Mutation {
  label: string;
  bytes: Uint8Array;
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

const extremeWords = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x10000];

export function* mutations(original: Uint8Array, count: number, seed: number): Generator<Mutation> {
  const random = xorshift(seed);
  const at = (n: number) => Math.floor(random() * n);
  for (let i = 0; i < count; i++) {
    const bytes = Uint8Array.from(original);
    const kind = i % 5;
    if (kind === 0) {
      const length = at(original.length);
      yield { label: `#${i} truncated to ${length} bytes`, bytes: bytes.subarray(0, length) };
    } else if (kind === 1) {
      const flips = 1 + at(8);
      const where: number[] = [];
      for (let f = 0; f < flips; f++) {
        const offset = at(bytes.length);
        bytes[offset] = at(256);
        where.push(offset);
      }
      yield { label: `#${i} bytes changed at ${where.join(",")}`, bytes };
    } else if (kind === 2) {
      const offset = at(Math.max(1, bytes.length - 4));
      const word = extremeWords[at(extremeWords.length)]!;
      new DataView(bytes.buffer).setUint32(offset, word, random() < 0.5);
      yield { label: `#${i} word 0x${word.toString(16)} at ${offset}`, bytes };
    } else if (kind === 3) {
      const start = at(bytes.length);
      const end = Math.min(bytes.length, start + 1 + at(64));
      const cut = new Uint8Array(bytes.length - (end - start));
      cut.set(bytes.subarray(0, start));
      cut.set(bytes.subarray(end), start);
      yield { label: `#${i} bytes ${start}-${end} removed`, bytes: cut };
    } else {
      const start = at(bytes.length);
      const span = bytes.subarray(start, Math.min(bytes.length, start + 1 + at(64)));
      const grown = new Uint8Array(bytes.length + span.length);
      grown.set(bytes.subarray(0, start + span.length));
      grown.set(span, start + span.length);
      grown.set(bytes.subarray(start + span.length), start + 2 * span.length);
      yield { label: `#${i} bytes ${start}-${start + span.length} repeated`, bytes: grown };
    }
  }
}

export interface FuzzOutcome {
  parsed: number;
  refused: number;
  slowestMs: number;
  heapGrowthBytes: number;
}

/**
 * Runs `parse` on every mutation: it must return (and `check` accept what it returned) or throw an
 * error that `clear` accepts, each within `maxMs`; anything else is thrown naming the mutation.
 */
export function fuzz<T>(
  inputs: Iterable<Mutation>,
  parse: (bytes: Uint8Array) => T,
  options: { clear: (error: unknown) => boolean; check?: (value: T) => void; maxMs: number },
): FuzzOutcome {
  const heapBefore = process.memoryUsage().heapUsed;
  const outcome: FuzzOutcome = { parsed: 0, refused: 0, slowestMs: 0, heapGrowthBytes: 0 };
  for (const input of inputs) {
    const started = performance.now();
    try {
      const value = parse(input.bytes);
      options.check?.(value);
      outcome.parsed++;
    } catch (error) {
      if (!options.clear(error))
        throw new Error(`mutation ${input.label}: unclear failure: ${(error as Error)?.stack ?? error}`);
      outcome.refused++;
    }
    const ms = performance.now() - started;
    outcome.slowestMs = Math.max(outcome.slowestMs, ms);
    if (ms > options.maxMs) throw new Error(`mutation ${input.label} took ${ms.toFixed(0)} ms`);
  }
  outcome.heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
  return outcome;
}

/** A clear error: an Error of the parser's own (not a TypeError, RangeError or SyntaxError from inside) naming the file. */
export function clearErrorNaming(file: string): (error: unknown) => boolean {
  return (error) =>
    error instanceof Error &&
    !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) &&
    error.message.includes(file);
}
