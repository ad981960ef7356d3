import { ProtoWriter } from "./protobuf.ts";

/** ONNX TensorProto.DataType values used here. */
export const OnnxType = { float: 1, uint8: 2, int64: 7 } as const;
export type OnnxTypeName = keyof typeof OnnxType;

export type AttributeValue = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  type: OnnxTypeName;
  data: Float32Array | BigInt64Array | Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  type: OnnxTypeName;
  /** A number for a fixed size, a string for a symbolic one (e.g. "batch"). */
  shape: (number | string)[];
}

export interface OnnxModel {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  metadata?: Record<string, string>;
}

// Field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ...).
const attributeType = { float: 1, int: 2, ints: 7 };

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const attribute = new ProtoWriter().string(1, name);
  if (Array.isArray(value)) {
    for (const v of value) attribute.int(8, v);
    return attribute.int(20, attributeType.ints);
  }
  if (typeof value === "object") return attribute.float(2, value.float).int(20, attributeType.float);
  return attribute.int(3, value).int(20, attributeType.int);
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    shape.message(
      1,
      typeof dim === "number" ? new ProtoWriter().int(1, dim) : new ProtoWriter().string(2, dim),
    );
  }
  const tensorType = new ProtoWriter().int(1, OnnxType[info.type]).message(2, shape);
  return new ProtoWriter().string(1, info.name).message(2, new ProtoWriter().message(1, tensorType));
}

function encodeInitializer(init: OnnxInitializer): ProtoWriter {
  const tensor = new ProtoWriter();
  for (const dim of init.dims) tensor.int(1, dim);
  tensor.int(2, OnnxType[init.type]).string(8, init.name);
  // raw_data is little-endian, as typed arrays are on every platform Node runs on here.
  return tensor.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
}

/** Serialises a graph as an ONNX ModelProto (IR version 8, default opset 17). */
export function encodeOnnxModel(model: OnnxModel, graphName = "hrpipe"): Uint8Array {
  const graph = new ProtoWriter();
  model.nodes.forEach((node, index) => {
    const proto = new ProtoWriter();
    for (const input of node.inputs) proto.string(1, input);
    for (const output of node.outputs) proto.string(2, output);
    proto.string(3, `${node.op}_${index}`).string(4, node.op);
    for (const [name, value] of Object.entries(node.attributes ?? {}))
      proto.message(5, encodeAttribute(name, value));
    graph.message(1, proto);
  });
  graph.string(2, graphName);
  for (const init of model.initializers) graph.message(5, encodeInitializer(init));
  for (const input of model.inputs) graph.message(11, encodeValueInfo(input));
  for (const output of model.outputs) graph.message(12, encodeValueInfo(output));
  const modelProto = new ProtoWriter()
    .int(1, 8)
    .string(2, "hrpipe")
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, "").int(2, 17));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    modelProto.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return modelProto.finish();
}
