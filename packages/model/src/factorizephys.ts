import { OnnxGraphBuilder, tailActivations } from "./onnx/builder.ts";
import type { OnnxModel } from "./onnx/graph.ts";
import type { CheckpointTensor } from "./torch/checkpoint.ts";

/**
 * FactorizePhys (Joshi, Agaian and Cho, NeurIPS 2024) as rPPG-Toolbox releases it: 3-D convolutions,
 * each followed by tanh and instance normalisation, over a clip of face crops to a pulse [N, T]. Its
 * factorisation module (FSAM) shapes the features in training only: the toolbox's inference configs
 * run the network without it (MD_FSAM False), and so does this graph; a checkpoint's FSAM tensors are
 * accepted and left out. The network's first step, the frames' differences, is the input hrpipe
 * gives it (`videoClips`, `frame-differences`), so that the difference into a new face segment can be zero rather
 * than a jump; the graph starts at the instance normalisation of those differences.
 */
export interface FactorizePhysConfig {
  /** Frames per clip (the toolbox: 160). */
  frames: number;
  /** Crop side in pixels: 72, which the layers below take down to one position. */
  size: number;
}

export const factorizephysDefaults: FactorizePhysConfig = { frames: 160, size: 72 };

/** PyTorch's InstanceNorm3d default (no affine parameters, no running statistics). */
const instanceNormEpsilon = 1e-5;

/** [state_dict prefix, input channels, output channels, stride (T, H, W), padding (T, H, W)]; kernels are 3x3x3. */
const convBlocks: [string, number, number, number[], number[]][] = [
  ["rppg_feature_extractor.FeatureExtractor.0", 3, 8, [1, 1, 1], [1, 1, 1]],
  ["rppg_feature_extractor.FeatureExtractor.1", 8, 12, [1, 2, 2], [1, 0, 0]],
  ["rppg_feature_extractor.FeatureExtractor.2", 12, 12, [1, 1, 1], [1, 0, 0]],
  ["rppg_feature_extractor.FeatureExtractor.4", 12, 12, [1, 1, 1], [1, 0, 0]],
  ["rppg_feature_extractor.FeatureExtractor.5", 12, 16, [1, 2, 2], [1, 0, 0]],
  ["rppg_feature_extractor.FeatureExtractor.6", 16, 16, [1, 1, 1], [1, 0, 0]],
  ["rppg_head.conv_block.0", 16, 16, [1, 1, 1], [1, 0, 0]],
  ["rppg_head.conv_block.1", 16, 16, [1, 1, 1], [1, 0, 0]],
  ["rppg_head.conv_block.2", 16, 16, [1, 1, 1], [1, 0, 0]],
  ["rppg_head.final_layer.0", 16, 12, [1, 1, 1], [1, 0, 0]],
  ["rppg_head.final_layer.1", 12, 8, [1, 1, 1], [1, 0, 0]],
];

const lastLayer = "rppg_head.final_layer.2.weight";

/**
 * FactorizePhys's tail, what fine-tuning trains: the last layer, a 3x3x3 convolution (216 weights, no
 * bias) over the 8 channels of the last block's normalised output at its 3x3 positions. Those
 * activations are what its graph gives per frame: they are normalised over each whole clip, so the
 * normalisation cannot be part of a per-frame tail.
 */
export const factorizephysTailChannels = 8;
export const factorizephysTailPositions = 9;
/** The last layer's taps along time: frames t - 1, t and t + 1. */
export const factorizephysTailTaps = 3;

/** Every tensor the inference network takes from a FactorizePhys state_dict, with its shape. */
export function factorizephysTensors(): { name: string; shape: number[] }[] {
  return [
    ...convBlocks.map(([prefix, input, output]) => ({
      name: `${prefix}.conv_block_3d.0.weight`,
      shape: [output, input, 3, 3, 3],
    })),
    {
      name: lastLayer,
      shape: [1, factorizephysTailChannels, factorizephysTailTaps, 3, 3],
    },
  ];
}

/** The FSAM module's tensors (and its residual bias): trained with the network, not used at inference. */
export const factorizephysTrainingOnly = /^rppg_head\.(fsam\.|bias1$)/;

/**
 * The graph of FactorizePhys's inference pass with these weights: input `input` F32 [N, 3, T, 72, 72],
 * the clip's frame differences (the last one zero, as the toolbox's repeated last frame gives), output
 * `output` F32 [N, T], and `activations` F32 [N, 8 x 9, T], the last block's output channel by channel
 * and position by position, which the last layer (the tail) turns into `output`.
 */
export function buildFactorizePhysGraph(
  weights: Map<string, CheckpointTensor>,
  config: FactorizePhysConfig = factorizephysDefaults,
): OnnxModel {
  const graph = new OnnxGraphBuilder();
  const param = (name: string) => graph.checkpointWeight(weights, name, "FactorizePhys");
  const node = graph.node.bind(graph);
  const epsilon = graph.constant("epsilon", [], "float", Float32Array.of(instanceNormEpsilon));
  // InstanceNorm3d without affine parameters. Its statistics are means over a whole clip (830,000
  // values a channel at the first layer): ONNX Runtime's InstanceNormalization sums them in float and
  // gave PyTorch's output to 2.4e-4 only (PyTorch sums in double); means over each frame, then over
  // the frames, give it to 1.1e-5 at 90% of the speed.
  const clipMean = (x: string) =>
    node("ReduceMean", [node("ReduceMean", [x], { axes: [3, 4], keepdims: 1 })], { axes: [2], keepdims: 1 });
  const instanceNorm = (x: string) => {
    const centred = node("Sub", [x, clipMean(x)]);
    const variance = clipMean(node("Mul", [centred, centred]));
    return node("Div", [centred, node("Sqrt", [node("Add", [variance, epsilon])])]);
  };
  const conv = (x: string, weight: string, stride: number[], pad: number[]) =>
    node("Conv", [x, param(weight)], { kernel_shape: [3, 3, 3], strides: stride, pads: [...pad, ...pad] });

  let x = instanceNorm("input");
  for (const [prefix, , , stride, pad] of convBlocks)
    x = instanceNorm(node("Tanh", [conv(x, `${prefix}.conv_block_3d.0.weight`, stride, pad)]));
  const rows = factorizephysTailChannels * factorizephysTailPositions;
  tailActivations(graph, x, rows, config.frames);
  graph.reshape(conv(x, lastLayer, [1, 1, 1], [1, 0, 0]), [-1, config.frames], "output");
  return graph.model(
    [{ name: "input", type: "float", shape: ["batch", 3, config.frames, config.size, config.size] }],
    [
      { name: "output", type: "float", shape: ["batch", config.frames] },
      { name: "activations", type: "float", shape: ["batch", rows, config.frames] },
    ],
  );
}
