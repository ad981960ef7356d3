import { seededNormal } from "@hrpipe/contracts";
import { OnnxGraphBuilder } from "./onnx/builder.ts";
import type { OnnxModel } from "./onnx/graph.ts";

/** A DenseNet in torchvision's layout (torchvision.models.densenet.DenseNet). */
export interface DenseNetConfig {
  growthRate: number;
  blockConfig: number[];
  numInitFeatures: number;
  bnSize: number;
}

export const densenet161: DenseNetConfig = {
  growthRate: 48,
  blockConfig: [6, 12, 36, 24],
  numInitFeatures: 96,
  bnSize: 4,
};

export const imagenetMean = [0.485, 0.456, 0.406] as const;
export const imagenetStd = [0.229, 0.224, 0.225] as const;
const batchNormEpsilon = 1e-5;

/** The number of features after norm5, ReLU and global average pooling (2208 for DenseNet-161). */
export function featureDim(config: DenseNetConfig): number {
  let features = config.numInitFeatures;
  config.blockConfig.forEach((layers, i) => {
    features += layers * config.growthRate;
    if (i < config.blockConfig.length - 1) features = Math.floor(features / 2);
  });
  return features;
}

export type TensorRole = "conv" | "bn-weight" | "bn-bias" | "bn-mean" | "bn-var";

export interface BackboneTensor {
  name: string;
  shape: number[];
  role: TensorRole;
}

function batchNorm(prefix: string, channels: number): BackboneTensor[] {
  return [
    { name: `${prefix}.weight`, shape: [channels], role: "bn-weight" },
    { name: `${prefix}.bias`, shape: [channels], role: "bn-bias" },
    { name: `${prefix}.running_mean`, shape: [channels], role: "bn-mean" },
    { name: `${prefix}.running_var`, shape: [channels], role: "bn-var" },
  ];
}

/** Every tensor of `features` under torchvision's names, in model order (num_batches_tracked aside). */
export function backboneTensors(config: DenseNetConfig): BackboneTensor[] {
  const { growthRate, bnSize, numInitFeatures } = config;
  const tensors: BackboneTensor[] = [
    { name: "features.conv0.weight", shape: [numInitFeatures, 3, 7, 7], role: "conv" },
    ...batchNorm("features.norm0", numInitFeatures),
  ];
  let features = numInitFeatures;
  config.blockConfig.forEach((layers, b) => {
    for (let l = 0; l < layers; l++) {
      const prefix = `features.denseblock${b + 1}.denselayer${l + 1}`;
      const inner = bnSize * growthRate;
      tensors.push(
        ...batchNorm(`${prefix}.norm1`, features + l * growthRate),
        { name: `${prefix}.conv1.weight`, shape: [inner, features + l * growthRate, 1, 1], role: "conv" },
        ...batchNorm(`${prefix}.norm2`, inner),
        { name: `${prefix}.conv2.weight`, shape: [growthRate, inner, 3, 3], role: "conv" },
      );
    }
    features += layers * growthRate;
    if (b < config.blockConfig.length - 1) {
      const prefix = `features.transition${b + 1}`;
      tensors.push(...batchNorm(`${prefix}.norm`, features), {
        name: `${prefix}.conv.weight`,
        shape: [Math.floor(features / 2), features, 1, 1],
        role: "conv",
      });
      features = Math.floor(features / 2);
    }
  });
  tensors.push(...batchNorm("features.norm5", features));
  return tensors;
}

/** Learnable parameters of `features` (conv weights, batch-norm scale and shift), as torchvision counts them. */
export function backboneParameterCount(config: DenseNetConfig): number {
  return backboneTensors(config)
    .filter((t) => t.role === "conv" || t.role === "bn-weight" || t.role === "bn-bias")
    .reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

export type BackboneWeights = Map<string, Float32Array>;

/**
 * torchvision's initialisation: Kaiming-normal convolutions (fan-in, ReLU gain), batch norm scale 1
 * and shift 0, running statistics 0 and 1. Features from such a network carry no ImageNet knowledge.
 */
export function randomBackboneWeights(config: DenseNetConfig, seed = 1): BackboneWeights {
  const normal = seededNormal(seed);
  const weights: BackboneWeights = new Map();
  for (const tensor of backboneTensors(config)) {
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (tensor.role === "conv") {
      const fanIn = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) data[i] = normal() * std;
    } else if (tensor.role === "bn-weight" || tensor.role === "bn-var") data.fill(1);
    weights.set(tensor.name, data);
  }
  return weights;
}

/** Builds the ONNX graph of preprocessing + `features` + ReLU + global average pool from the given weights. */
export function buildDenseNetGraph(config: DenseNetConfig, weights: BackboneWeights): OnnxModel {
  const graph = new OnnxGraphBuilder();
  const shapes = new Map(backboneTensors(config).map((t) => [t.name, t.shape]));
  const param = (name: string): string => {
    const data = weights.get(name);
    if (!data) throw new Error(`DenseNet weights lack ${name}.`);
    return graph.constant(name, shapes.get(name)!, "float", data);
  };
  const node = graph.node.bind(graph);
  const bn = (x: string, prefix: string) =>
    node(
      "BatchNormalization",
      [
        x,
        param(`${prefix}.weight`),
        param(`${prefix}.bias`),
        param(`${prefix}.running_mean`),
        param(`${prefix}.running_var`),
      ],
      {
        epsilon: { float: batchNormEpsilon },
      },
    );
  const conv = (x: string, name: string, kernel: number, stride = 1, pad = 0) =>
    node("Conv", [x, param(name)], {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
    });
  const relu = (x: string) => node("Relu", [x]);

  // u8 NHWC -> float NCHW, (x / 255 - mean) / std folded into one scale and one shift per channel.
  const scale = Float32Array.from(imagenetStd, (std) => 1 / (255 * std));
  const shift = Float32Array.from(imagenetMean, (mean, c) => -mean / imagenetStd[c]!);
  let x = node("Cast", ["images"], { to: 1 });
  x = node("Transpose", [x], { perm: [0, 3, 1, 2] });
  x = node("Add", [
    node("Mul", [x, graph.constant("preprocess.scale", [1, 3, 1, 1], "float", scale)]),
    graph.constant("preprocess.shift", [1, 3, 1, 1], "float", shift),
  ]);

  x = relu(bn(conv(x, "features.conv0.weight", 7, 2, 3), "features.norm0"));
  x = node("MaxPool", [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  config.blockConfig.forEach((layers, b) => {
    for (let l = 0; l < layers; l++) {
      const prefix = `features.denseblock${b + 1}.denselayer${l + 1}`;
      let y = conv(relu(bn(x, `${prefix}.norm1`)), `${prefix}.conv1.weight`, 1);
      y = conv(relu(bn(y, `${prefix}.norm2`)), `${prefix}.conv2.weight`, 3, 1, 1);
      x = node("Concat", [x, y], { axis: 1 });
    }
    if (b < config.blockConfig.length - 1) {
      const prefix = `features.transition${b + 1}`;
      x = conv(relu(bn(x, `${prefix}.norm`)), `${prefix}.conv.weight`, 1);
      x = node("AveragePool", [x], { kernel_shape: [2, 2], strides: [2, 2] });
    }
  });
  x = relu(bn(x, "features.norm5"));
  x = node("GlobalAveragePool", [x]);
  node("Flatten", [x], { axis: 1 }, "features");
  return graph.model(
    [{ name: "images", type: "uint8", shape: ["batch", "height", "width", 3] }],
    [{ name: "features", type: "float", shape: ["batch", featureDim(config)] }],
  );
}
