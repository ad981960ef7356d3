import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { encodeOnnxModel, type OnnxInitializer, type OnnxModel, type OnnxNode } from "./onnx/graph.ts";

/**
 * face-api's small face networks (@vladmandic/face-api, weights shipped in its `model` folder as
 * tfjs weight manifests) as ONNX graphs built here, so that ONNX Runtime runs them: through tfjs's
 * WebAssembly backend every op is a JavaScript call, and the face stage spent most of its time there.
 * The graphs follow face-api's own forward passes op for op (tests compare their outputs with
 * face-api's on its sample photos).
 */

/** A tensor of a tfjs weight file, dequantized, in tfjs's layout (convolutions HWIO). */
export interface FaceNetTensor {
  shape: number[];
  data: Float32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale: number; min: number };
}

/**
 * The weights of one of face-api's models (`<model>-weights_manifest.json` and its `.bin` in `dir`),
 * dequantized as tfjs does (value = byte * scale + min).
 */
export function readFaceApiWeights(dir: string, model: string): Map<string, FaceNetTensor> {
  const manifestFile = path.join(dir, `${model}-weights_manifest.json`);
  const groups = JSON.parse(readFileSync(manifestFile, "utf8")) as {
    paths: string[];
    weights: ManifestEntry[];
  }[];
  const weights = new Map<string, FaceNetTensor>();
  for (const group of groups) {
    const bytes = Buffer.concat(group.paths.map((file) => readFileSync(path.join(dir, file))));
    let offset = 0;
    for (const entry of group.weights) {
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      const quantization = entry.quantization;
      if (quantization?.dtype === "uint8") {
        for (let i = 0; i < size; i++) data[i] = bytes[offset + i]! * quantization.scale + quantization.min;
        offset += size;
      } else if (entry.dtype === "float32" && !quantization) {
        data.set(
          new Float32Array(
            bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * size),
          ),
        );
        offset += 4 * size;
      } else {
        throw new Error(
          `${manifestFile}: weight ${entry.name} is stored as ${quantization?.dtype ?? entry.dtype}, which hrpipe does not read; reinstall @vladmandic/face-api.`,
        );
      }
      weights.set(entry.name, { shape: entry.shape, data });
    }
    if (offset !== bytes.length)
      throw new Error(
        `${manifestFile}: its weights fill ${offset} of ${bytes.length} bytes; reinstall @vladmandic/face-api.`,
      );
  }
  return weights;
}

/** Builds an NCHW graph from tfjs-layout weights: convolutions, TF's "same" padding, separable blocks. */
class FaceNetGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private counter = 0;

  constructor(
    private readonly weights: Map<string, FaceNetTensor>,
    private readonly model: string,
  ) {}

  node(op: string, inputs: string[], attributes?: OnnxNode["attributes"], output?: string): string {
    const name = output ?? `${op.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ op, inputs, outputs: [name], attributes });
    return name;
  }

  constant(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, type: "float", data });
    return name;
  }

  private tensor(name: string, shape: number[]): FaceNetTensor {
    const tensor = this.weights.get(name);
    if (!tensor || tensor.shape.join(",") !== shape.join(","))
      throw new Error(
        `face-api model ${this.model}: weight ${name} is ${tensor ? `[${tensor.shape}]` : "missing"}, expected [${shape}]; reinstall @vladmandic/face-api.`,
      );
    return tensor;
  }

  /** A tfjs HWIO filter [kh, kw, in, out] as an ONNX OIHW one; `depthwise` reads [kh, kw, C, 1] as [C, 1, kh, kw]. */
  filter(name: string, shape: number[], depthwise = false): string {
    const [kh, kw, input, output] = shape as [number, number, number, number];
    const { data } = this.tensor(name, shape);
    const [outs, ins] = depthwise ? [input, 1] : [output, input];
    const oihw = new Float32Array(data.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < input; i++)
          for (let o = 0; o < output; o++) {
            const [oo, ii] = depthwise ? [i, 0] : [o, i];
            oihw[((oo * ins + ii) * kh + y) * kw + x] = data[((y * kw + x) * input + i) * output + o]!;
          }
    return this.constant(name, [outs, ins, kh, kw], oihw);
  }

  /** A weight used as stored (a bias, a fully connected layer's [in, out] matrix). */
  weight(name: string, shape: number[]): string {
    return this.constant(name, shape, this.tensor(name, shape).data);
  }

  bias(name: string, channels: number): string {
    return this.weight(name, [channels]);
  }

  /** TensorFlow's "same" padding for a square input of `size`: the odd pixel goes after (at stride 1 the side does not matter). */
  private samePads(size: number, kernel: number, stride: number): number[] {
    if (stride === 1) return Array(4).fill((kernel - 1) / 2);
    const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
    const [begin, end] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    return [begin, begin, end, end];
  }

  /** tf.conv2d(x, filters, stride, "same") + bias. */
  conv(
    x: string,
    prefix: string,
    size: number,
    input: number,
    output: number,
    stride: number,
    kernel = 3,
  ): string {
    return this.node(
      "Conv",
      [
        x,
        this.filter(`${prefix}/filters`, [kernel, kernel, input, output]),
        this.bias(`${prefix}/bias`, output),
      ],
      {
        kernel_shape: [kernel, kernel],
        strides: [stride, stride],
        pads: this.samePads(size, kernel, stride),
      },
    );
  }

  /** tf.separableConv2d(x, depthwise, pointwise, stride, "same") + bias. */
  separable(x: string, prefix: string, size: number, input: number, output: number, stride: number): string {
    const depthwise = this.node(
      "Conv",
      [x, this.filter(`${prefix}/depthwise_filter`, [3, 3, input, 1], true)],
      {
        kernel_shape: [3, 3],
        strides: [stride, stride],
        pads: this.samePads(size, 3, stride),
        group: input,
      },
    );
    return this.node(
      "Conv",
      [
        depthwise,
        this.filter(`${prefix}/pointwise_filter`, [1, 1, input, output]),
        this.bias(`${prefix}/bias`, output),
      ],
      {
        kernel_shape: [1, 1],
      },
    );
  }

  /** Pixels 0-255, NHWC as frames are, less a mean colour and scaled, as NCHW. */
  normalisedInput(input: string, meanRgb: number[], scale: number): string {
    const nchw = this.node("Transpose", [input], { perm: [0, 3, 1, 2] });
    const centred = this.node("Sub", [
      nchw,
      this.constant(`${input}.mean`, [1, 3, 1, 1], Float32Array.from(meanRgb)),
    ]);
    return this.node("Div", [centred, this.constant(`${input}.scale`, [], Float32Array.of(scale))]);
  }
}

/** The landmark net's input side: a 112 x 112 image of the face. */
export const landmarkNetInputSize = 112;

/**
 * face-api's FaceLandmark68Net: four dense blocks of separable convolutions over a 112 x 112 face, a
 * 7 x 7 average and a fully connected layer. Input `input` F32 [N, 112, 112, 3] (RGB 0-255), output
 * `landmarks` F32 [N, 136]: x0, y0, ... x67, y67 as fractions of the input's side.
 */
export function buildLandmarkNetGraph(weights: Map<string, FaceNetTensor>): OnnxModel {
  const graph = new FaceNetGraph(weights, "face_landmark_68_model");
  let x = graph.normalisedInput("input", [122.782, 117.001, 104.298], 255);
  let [size, channels] = [landmarkNetInputSize, 3];
  for (const [block, output] of [32, 64, 128, 256].entries()) {
    // denseBlock4: out1 scales down by 2; each further output adds to the sum the next one reads.
    const prefix = `dense${block}`;
    const first =
      block === 0
        ? graph.conv(x, `${prefix}/conv0`, size, channels, output, 2)
        : graph.separable(x, `${prefix}/conv0`, size, channels, output, 2);
    size = Math.ceil(size / 2);
    const out1 = graph.node("Relu", [first]);
    let sum = out1;
    for (let k = 1; k <= 3; k++) {
      const input = k === 1 ? out1 : graph.node("Relu", [sum]);
      const out = graph.separable(input, `${prefix}/conv${k}`, size, output, output, 1);
      sum = graph.node("Add", [sum, out]);
    }
    x = graph.node("Relu", [sum]);
    channels = output;
  }
  // tf.avgPool([7, 7], [2, 2], "valid") on the 7 x 7 map: its mean.
  const pooled = graph.node("GlobalAveragePool", [x]);
  const flat = graph.node("Flatten", [pooled]);
  graph.node(
    "Gemm",
    [flat, graph.weight("fc/weights", [256, 136]), graph.bias("fc/bias", 136)],
    undefined,
    "landmarks",
  );
  return {
    nodes: graph.nodes,
    initializers: graph.initializers,
    inputs: [
      { name: "input", type: "float", shape: ["batch", landmarkNetInputSize, landmarkNetInputSize, 3] },
    ],
    outputs: [{ name: "landmarks", type: "float", shape: ["batch", 136] }],
  };
}

/**
 * face-api's TinyFaceDetector (a Tiny-YOLOv2 of separable convolutions): input `input` F32
 * [N, S, S, 3] (RGB 0-255, S a multiple of 32), output `cells` F32 [N, S/32, S/32, 25], per cell
 * and anchor the box offsets and the face score before their sigmoid (@hrpipe/face decodes them).
 */
export function buildTinyFaceDetectorGraph(weights: Map<string, FaceNetTensor>): OnnxModel {
  const graph = new FaceNetGraph(weights, "tiny_face_detector_model");
  // leaky(x) = relu(x - 0.1x) + 0.1x: a leaky ReLU of slope 0.1.
  const leaky = (x: string) => graph.node("LeakyRelu", [x], { alpha: { float: 0.1 } });
  // tf.maxPool(x, [2, 2], stride, "same") on even or odd sides: the odd row and column go after.
  const maxPool = (x: string, stride: number) =>
    graph.node("MaxPool", [x], { kernel_shape: [2, 2], strides: [stride, stride], pads: [0, 0, 1, 1] });
  let x = graph.normalisedInput("input", [117.001, 114.697, 97.404], 255);
  x = leaky(
    graph.node("Conv", [x, graph.filter("conv0/filters", [3, 3, 3, 16]), graph.bias("conv0/bias", 16)], {
      kernel_shape: [3, 3],
    }),
  );
  const channels = [16, 32, 64, 128, 256, 512];
  for (let k = 1; k <= 5; k++) {
    x = maxPool(x, 2);
    // depthwiseSeparableConv pads by one pixel and convolves "valid": "same" at stride 1.
    x = leaky(graph.separable(x, `conv${k}`, 0, channels[k - 1]!, channels[k]!, 1));
  }
  x = maxPool(x, 1);
  x = graph.node("Conv", [x, graph.filter("conv8/filters", [1, 1, 512, 25]), graph.bias("conv8/bias", 25)], {
    kernel_shape: [1, 1],
  });
  graph.node("Transpose", [x], { perm: [0, 2, 3, 1] }, "cells");
  return {
    nodes: graph.nodes,
    initializers: graph.initializers,
    inputs: [{ name: "input", type: "float", shape: ["batch", "side", "side", 3] }],
    outputs: [{ name: "cells", type: "float", shape: ["batch", "cells", "cells", 25] }],
  };
}

/**
 * One of the face networks in an ONNX Runtime session on one thread: the face stage scales out by
 * processes (one per core), and a net this small gains little from more threads per call.
 */
export class FaceNetSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly output: string,
  ) {}

  static async create(graph: OnnxModel): Promise<FaceNetSession> {
    const session = await ort.InferenceSession.create(encodeOnnxModel(graph), {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new FaceNetSession(session, graph.outputs[0]!.name);
  }

  /** The input's float copy, kept between calls (the nets run several times a frame), so calls queue. */
  private input = new Float32Array(0);
  private previous: Promise<unknown> = Promise.resolve();

  /** The net's output for RGB images 0-255 [N, side, side, 3]. */
  run(images: Uint8Array, count: number, side: number): Promise<Float32Array> {
    const output = this.previous.then(async () => {
      if (this.input.length !== images.length) this.input = new Float32Array(images.length);
      this.input.set(images);
      const input = new ort.Tensor("float32", this.input, [count, side, side, 3]);
      return (await this.session.run({ input }))[this.output]!.data as Float32Array;
    });
    this.previous = output.catch(() => undefined);
    return output;
  }
}
