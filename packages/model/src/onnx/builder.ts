import type { CheckpointTensor } from "../torch/checkpoint.ts";
import type { OnnxInitializer, OnnxModel, OnnxNode, OnnxTypeName, OnnxValueInfo } from "./graph.ts";

/**
 * A graph built node by node, as the network builders (DenseNet, PhysNet, FactorizePhys) write their
 * forward pass: each node's output gets a fresh name, constants and weights become initializers.
 */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxInitializer[] = [];
  private counter = 0;

  /** A node of `op`; its output's name, fresh unless given (a graph output). */
  node(op: string, inputs: string[], attributes?: OnnxNode["attributes"], output?: string): string {
    const name = output ?? `${op.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ op, inputs, outputs: [name], attributes });
    return name;
  }

  /** An initializer under `name` (a weight or a constant); its name. */
  constant(name: string, dims: number[], type: OnnxTypeName, data: OnnxInitializer["data"]): string {
    this.initializers.push({ name, dims, type, data });
    return name;
  }

  /** `x` reshaped to `dims` (-1 for the batch) as the node named `output`. */
  reshape(x: string, dims: number[], output?: string): string {
    const shape = this.constant(
      `${output ?? x}.shape`,
      [dims.length],
      "int64",
      BigInt64Array.from(dims, BigInt),
    );
    return this.node("Reshape", [x, shape], undefined, output);
  }

  /** A weight of a PyTorch state_dict as an initializer under its own name, refused unless float. */
  checkpointWeight(weights: Map<string, CheckpointTensor>, name: string, network: string): string {
    const tensor = weights.get(name);
    if (tensor?.dtype !== "F32") throw new Error(`${network} weights lack float tensor ${name}.`);
    return this.constant(name, tensor.shape, "float", tensor.data as Float32Array);
  }

  model(inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): OnnxModel {
    return { nodes: this.nodes, initializers: this.initializers, inputs, outputs };
  }
}

/**
 * A temporal network's tail activations [N, C, T, H, W] as the graph output `activations`
 * [N, C x H x W, T]: a row per channel and position, what the tail turns into the pulse.
 */
export function tailActivations(graph: OnnxGraphBuilder, x: string, rows: number, frames: number): string {
  return graph.reshape(
    graph.node("Transpose", [x], { perm: [0, 1, 3, 4, 2] }),
    [-1, rows, frames],
    "activations",
  );
}
