import { OnnxGraphBuilder, tailActivations } from "./onnx/builder.ts";
import type { OnnxModel } from "./onnx/graph.ts";
import type { CheckpointTensor } from "./torch/checkpoint.ts";

/**
 * PhysNet (Yu, Li and Zhao, BMVC 2019) as rPPG-Toolbox releases it, `PhysNet_padding_Encoder_Decoder_MAX`:
 * 3-D convolutions over a clip of face crops [N, 3, T, 72, 72] to a pulse [N, T]. The ONNX graph is
 * built here from the layer list below, as the toolbox's module defines it, so any checkpoint of that
 * module (trained on PURE, SCAMPS or a user's data) runs in ONNX Runtime without Python.
 */
export interface PhysNetConfig {
  /** Frames per clip (the toolbox: 128). */
  frames: number;
  /** Crop side in pixels (the toolbox: 72). */
  size: number;
}

export const physnetDefaults: PhysNetConfig = { frames: 128, size: 72 };

/** PyTorch's BatchNorm3d default. */
const batchNormEpsilon = 1e-5;

/** The convolution blocks: [input channels, output channels, kernel (T, H, W), padding (T, H, W)]. */
const convBlocks: [number, number, number[], number[]][] = [
  [3, 16, [1, 5, 5], [0, 2, 2]],
  [16, 32, [3, 3, 3], [1, 1, 1]],
  [32, 64, [3, 3, 3], [1, 1, 1]],
  ...Array.from({ length: 6 }, (): [number, number, number[], number[]] => [64, 64, [3, 3, 3], [1, 1, 1]]),
];

/** Every tensor a PhysNet state_dict holds, with its shape (num_batches_tracked, a counter, is not used). */
export function physnetTensors(): { name: string; shape: number[] }[] {
  const bn = (prefix: string, channels: number) =>
    ["weight", "bias", "running_mean", "running_var"].map((p) => ({
      name: `${prefix}.${p}`,
      shape: [channels],
    }));
  return [
    ...convBlocks.flatMap(([input, output, kernel], i) => [
      { name: `ConvBlock${i + 1}.0.weight`, shape: [output, input, ...kernel] },
      { name: `ConvBlock${i + 1}.0.bias`, shape: [output] },
      ...bn(`ConvBlock${i + 1}.1`, output),
    ]),
    ...["upsample", "upsample2"].flatMap((block) => [
      { name: `${block}.0.weight`, shape: [64, 64, 4, 1, 1] },
      { name: `${block}.0.bias`, shape: [64] },
      ...bn(`${block}.1`, 64),
    ]),
    { name: "ConvBlock10.weight", shape: [1, 64, 1, 1, 1] },
    { name: "ConvBlock10.bias", shape: [1] },
  ];
}

/** Tensors of a state_dict that carry no weight (BatchNorm's update counter). */
export const ignoredTensor = /\.num_batches_tracked$/;

/** Channels of PhysNet's tail (upsample2's normalisation and ConvBlock10), what fine-tuning trains. */
export const physnetTailChannels = 64;

/** Positions of the feature map the tail averages over: the crop side halved by each of the four spatial poolings. */
export function physnetTailPositions(size: number): number {
  let side = size;
  for (let pooling = 0; pooling < 4; pooling++) side = Math.floor(side / 2);
  return side * side;
}

/**
 * The graph of PhysNet's forward pass with these weights: input `input` F32 [N, 3, T, size, size],
 * output `output` F32 [N, T], and `activations` F32 [N, 64 x positions, T], upsample2's transposed
 * convolution before its normalisation, channel by channel and position by position: what the tail
 * (signal's tailPulse) turns into `output`, and what fine-tuning trains it on. The weights must be a
 * PhysNet state_dict (see physnetTensors).
 */
export function buildPhysNetGraph(
  weights: Map<string, CheckpointTensor>,
  config: PhysNetConfig = physnetDefaults,
): OnnxModel {
  const graph = new OnnxGraphBuilder();
  const param = (name: string) => graph.checkpointWeight(weights, name, "PhysNet");
  const node = graph.node.bind(graph);
  const bn = (x: string, prefix: string) =>
    node(
      "BatchNormalization",
      [x, ...["weight", "bias", "running_mean", "running_var"].map((p) => param(`${prefix}.${p}`))],
      { epsilon: { float: batchNormEpsilon } },
    );
  const block = (x: string, index: number) => {
    const [, , kernel, pad] = convBlocks[index - 1]!;
    const conv = node("Conv", [x, param(`ConvBlock${index}.0.weight`), param(`ConvBlock${index}.0.bias`)], {
      kernel_shape: kernel,
      pads: [...pad, ...pad],
    });
    return node("Relu", [bn(conv, `ConvBlock${index}.1`)]);
  };
  const maxPool = (x: string, kernel: number[]) =>
    node("MaxPool", [x], { kernel_shape: kernel, strides: kernel });
  // Doubles the time axis: ConvTranspose3d(kernel [4, 1, 1], stride [2, 1, 1], padding [1, 0, 0]).
  const transposed = (x: string, prefix: string) =>
    node("ConvTranspose", [x, param(`${prefix}.0.weight`), param(`${prefix}.0.bias`)], {
      kernel_shape: [4, 1, 1],
      strides: [2, 1, 1],
      pads: [1, 0, 0, 1, 0, 0],
    });
  const normalisedElu = (x: string, prefix: string) =>
    node("Elu", [bn(x, `${prefix}.1`)], { alpha: { float: 1 } });

  let x = block("input", 1);
  x = maxPool(x, [1, 2, 2]);
  x = block(x, 2);
  x = block(x, 3);
  x = maxPool(x, [2, 2, 2]);
  x = block(x, 4);
  x = block(x, 5);
  x = maxPool(x, [2, 2, 2]);
  x = block(x, 6);
  x = block(x, 7);
  x = maxPool(x, [1, 2, 2]);
  x = block(x, 8);
  x = block(x, 9);
  x = normalisedElu(transposed(x, "upsample"), "upsample");
  const tail = transposed(x, "upsample2");
  const rows = physnetTailChannels * physnetTailPositions(config.size);
  tailActivations(graph, tail, rows, config.frames);
  x = normalisedElu(tail, "upsample2");
  // AdaptiveAvgPool3d((T, 1, 1)) on a clip whose time axis is back to T: the spatial mean.
  x = node("ReduceMean", [x], { axes: [3, 4], keepdims: 1 });
  x = node("Conv", [x, param("ConvBlock10.weight"), param("ConvBlock10.bias")], { kernel_shape: [1, 1, 1] });
  graph.reshape(x, [-1, config.frames], "output");
  return graph.model(
    [{ name: "input", type: "float", shape: ["batch", 3, config.frames, config.size, config.size] }],
    [
      { name: "output", type: "float", shape: ["batch", config.frames] },
      { name: "activations", type: "float", shape: ["batch", rows, config.frames] },
    ],
  );
}
