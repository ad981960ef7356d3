import { readZip } from "./zip.ts";

/** A PyTorch checkpoint that cannot be read as a state_dict; the message names the file and what is wrong. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** One tensor of a state_dict, as contiguous little-endian values. */
export interface CheckpointTensor {
  dtype: "F32" | "I64";
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** A class or function the pickle names; only the few a state_dict needs are ever called. */
interface Global {
  kind: "global";
  module: string;
  name: string;
}

interface StorageRef {
  kind: "storage";
  dtype: CheckpointTensor["dtype"];
  key: string;
}

interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

const storageTypes: Record<string, CheckpointTensor["dtype"]> = {
  FloatStorage: "F32",
  LongStorage: "I64",
};

/**
 * The tensors of a `torch.save`d state_dict (the zip format PyTorch writes since 1.6), read without
 * Python: the archive's data.pkl is run by a pickle machine that knows only what a state_dict holds
 * (ordered dicts, tuples, numbers, strings, and `torch._utils._rebuild_tensor_v2` over float32 and
 * int64 storages). Anything else in the pickle is refused, naming it, and never executed.
 */
export function readTorchCheckpoint(bytes: Uint8Array, file: string): Map<string, CheckpointTensor> {
  let entries: Map<string, Uint8Array>;
  try {
    entries = readZip(bytes, file);
  } catch (error) {
    throw new CheckpointError((error as Error).message);
  }
  const pickleName = [...entries.keys()].find((name) => /(^|\/)data\.pkl$/.test(name));
  if (!pickleName)
    throw new CheckpointError(
      `${file} holds no data.pkl; it is not a torch.save checkpoint of the zip format.`,
    );
  const root = pickleName.slice(0, -"data.pkl".length);
  const state = unpickle(entries.get(pickleName)!, file);
  const dict = state instanceof Map && state.has("state_dict") ? state.get("state_dict") : state;
  if (!(dict instanceof Map))
    throw new CheckpointError(`${file} holds a pickled ${describe(state)}, not a state_dict of tensors.`);
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, value] of dict) {
    if (typeof name !== "string" || !isTensor(value))
      throw new CheckpointError(
        `${file}: state_dict entry ${String(name)} is a ${describe(value)}, not a tensor.`,
      );
    const storage = entries.get(`${root}data/${value.storage.key}`);
    if (!storage)
      throw new CheckpointError(`${file}: the storage of ${name} (data/${value.storage.key}) is missing.`);
    tensors.set(name, materialise(value, storage, `${file}: ${name}`));
  }
  return tensors;
}

function isTensor(value: unknown): value is TensorRef {
  return typeof value === "object" && value !== null && (value as TensorRef).kind === "tensor";
}

function describe(value: unknown): string {
  if (value instanceof Map) return "dict";
  if (Array.isArray(value)) return "tuple or list";
  if (typeof value === "object" && value !== null && "kind" in value) return (value as { kind: string }).kind;
  return typeof value;
}

/** A tensor's values in row-major order from its storage, offset and strides. */
function materialise(tensor: TensorRef, storage: Uint8Array, where: string): CheckpointTensor {
  const { dtype } = tensor.storage;
  const itemBytes = dtype === "F32" ? 4 : 8;
  const count = tensor.shape.reduce((product, dim) => product * dim, 1);
  const available = Math.floor(storage.byteLength / itemBytes);
  const copy = new Uint8Array(storage.byteLength);
  copy.set(storage);
  const values =
    dtype === "F32"
      ? new Float32Array(copy.buffer, 0, available)
      : new BigInt64Array(copy.buffer, 0, available);
  const out = dtype === "F32" ? new Float32Array(count) : new BigInt64Array(count);
  const index = new Array<number>(tensor.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = tensor.offset;
    for (let d = 0; d < index.length; d++) at += index[d]! * tensor.stride[d]!;
    if (at >= available)
      throw new CheckpointError(`${where} reaches past its storage's ${available} values.`);
    out[i] = values[at]!;
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d]! < tensor.shape[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype, shape: tensor.shape, data: out };
}

const mark = Symbol("mark");

/** The pickle machine: the opcodes of protocols 2-4 that torch.save emits for a state_dict. */
function unpickle(bytes: Uint8Array, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  const fail = (what: string): never => {
    throw new CheckpointError(
      `${file}: data.pkl ${what} (at byte ${at}); it is not a state_dict hrpipe can read.`,
    );
  };
  const need = (n: number) => {
    if (at + n > bytes.length) fail("ends early");
  };
  const u8 = () => {
    need(1);
    return bytes[at++]!;
  };
  const u16 = () => {
    need(2);
    at += 2;
    return view.getUint16(at - 2, true);
  };
  const u32 = () => {
    need(4);
    at += 4;
    return view.getUint32(at - 4, true);
  };
  const i32 = () => {
    need(4);
    at += 4;
    return view.getInt32(at - 4, true);
  };
  const text = (n: number) => {
    need(n);
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail("has an unterminated line");
    const value = new TextDecoder().decode(bytes.subarray(at, end));
    at = end + 1;
    return value;
  };
  const pop = () => (stack.length === 0 ? fail("pops an empty stack") : stack.pop());
  const popMark = () => {
    const start = stack.lastIndexOf(mark);
    if (start < 0) fail("has no mark to pop to");
    return stack.splice(start).slice(1);
  };
  const top = () => (stack.length === 0 ? fail("reads an empty stack") : stack[stack.length - 1]);
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail(`sets items on a ${describe(target)}`);
    for (let i = 0; i + 1 < items.length; i += 2)
      (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        need(8);
        at += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(mark);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: {
        // LONG1: a little-endian two's-complement integer of n bytes
        const n = u8();
        need(n);
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
        if (n > 0 && bytes[at + n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
        at += n;
        stack.push(Number(value));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push({ kind: "global", module, name: line() } satisfies Global);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        stack.push({ kind: "global", module: String(module), name: String(name) } satisfies Global);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(`reads memo ${key}, never written`);
        stack.push(memo.get(key));
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        (top() as unknown[]).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const values = popMark();
        (top() as unknown[]).push(...values);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', storage class, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== "storage")
          fail("names a persistent object that is not a storage");
        const [, type, key] = pid as [string, Global, string];
        const dtype = storageTypes[type.name];
        if (!dtype) fail(`holds a ${type.module}.${type.name}; only float32 and int64 storages are read`);
        stack.push({ kind: "storage", dtype: dtype!, key: String(key) } satisfies StorageRef);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop() as Global;
        stack.push(call(callable, args as unknown[], fail));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop() as Global;
        stack.push(call(cls, args as unknown[], fail));
        break;
      }
      case 0x62: // BUILD: an ordered dict's attributes (a state_dict's _metadata), not needed
        pop();
        break;
      default:
        fail(`uses pickle opcode 0x${op.toString(16)}`);
    }
  }
}

/** The callables a state_dict's pickle names; any other is refused. */
function call(callable: Global, args: unknown[], fail: (what: string) => never): unknown {
  if (callable?.kind !== "global") return fail("calls something that is not a named global");
  const name = `${callable.module}.${callable.name}`;
  if (name === "collections.OrderedDict") return new Map();
  if (name === "torch._utils._rebuild_tensor_v2") {
    const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
    if (storage?.kind !== "storage") return fail("rebuilds a tensor without a storage");
    return { kind: "tensor", storage, offset, shape: [...shape], stride: [...stride] } satisfies TensorRef;
  }
  if (name === "torch._utils._rebuild_parameter") return args[0];
  return fail(`calls ${name}, which a state_dict of tensors does not need`);
}
