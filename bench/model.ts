import { seededNormal } from "@hrpipe/contracts";
import {
  type BackboneWeights,
  backboneTensors,
  type DenseNetConfig,
  densenet161,
  FeatureExtractor,
  imagenetMean,
  imagenetStd,
  randomBackboneWeights,
  selectTfjsBackend,
  trainHead,
} from "@hrpipe/model";
import type { Tensor4D } from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { type BenchResult, machineDescription } from "./report.ts";

const size = 128;
const batch = 8;

/** The same DenseNet in TensorFlow.js ops, for the reference row (tfjs wasm is what a pure-JS stack would use). */
async function tfjsDenseNet(config: DenseNetConfig, weights: BackboneWeights) {
  const { tf } = await selectTfjsBackend(undefined, "wasm");
  const shapes = new Map(backboneTensors(config).map((t) => [t.name, t.shape]));
  const w = (name: string) => tf.tensor(weights.get(name)!, shapes.get(name)!);
  const conv = (x: Tensor4D, name: string, stride: number, pad: number) => {
    // torchvision stores OIHW; tfjs wants HWIO.
    const kernel = tf.transpose(w(name), [2, 3, 1, 0]) as Tensor4D;
    const padded = pad
      ? tf.pad(x, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ])
      : x;
    return tf.conv2d(padded, kernel, stride, "valid");
  };
  const bn = (x: Tensor4D, p: string) =>
    tf.relu(
      tf.batchNorm(x, w(`${p}.running_mean`), w(`${p}.running_var`), w(`${p}.bias`), w(`${p}.weight`), 1e-5),
    ) as Tensor4D;
  return (images: Uint8Array, n: number) =>
    tf.tidy(() => {
      let x = tf
        .tensor4d(images, [n, size, size, 3], "int32")
        .toFloat()
        .div(255)
        .sub(tf.tensor1d([...imagenetMean]))
        .div(tf.tensor1d([...imagenetStd])) as Tensor4D;
      x = bn(conv(x, "features.conv0.weight", 2, 3), "features.norm0");
      x = tf.maxPool(
        tf.pad(
          x,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          Number.NEGATIVE_INFINITY,
        ),
        3,
        2,
        "valid",
      );
      config.blockConfig.forEach((layers, b) => {
        for (let l = 0; l < layers; l++) {
          const p = `features.denseblock${b + 1}.denselayer${l + 1}`;
          const y = conv(
            bn(conv(bn(x, `${p}.norm1`), `${p}.conv1.weight`, 1, 0), `${p}.norm2`),
            `${p}.conv2.weight`,
            1,
            1,
          );
          x = tf.concat([x, y], 3);
        }
        if (b < config.blockConfig.length - 1)
          x = tf.avgPool(
            conv(bn(x, `features.transition${b + 1}.norm`), `features.transition${b + 1}.conv.weight`, 1, 0),
            2,
            2,
            "valid",
          );
      });
      return tf.mean(bn(x, "features.norm5"), [1, 2]).dataSync();
    });
}

export async function benchModel(): Promise<BenchResult> {
  const count = 48;
  const images = Uint8Array.from({ length: count * size * size * 3 }, (_, i) => (i * 2654435761) >>> 24);
  const extractor = await FeatureExtractor.create({ batchSize: batch });
  await extractor.embed(images.subarray(0, batch * size * size * 3), {
    count: batch,
    height: size,
    width: size,
  });
  let started = performance.now();
  await extractor.embed(images, { count, height: size, width: size });
  const projectImgS = count / ((performance.now() - started) / 1000);

  const bare = await ort.InferenceSession.create(extractor.onnxModel, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
  });
  const run = (from: number) =>
    bare.run({
      images: new ort.Tensor(
        "uint8",
        images.subarray(from * size * size * 3, (from + batch) * size * size * 3),
        [batch, size, size, 3],
      ),
    });
  await run(0);
  started = performance.now();
  for (let from = 0; from < count; from += batch) await run(from);
  const bareImgS = count / ((performance.now() - started) / 1000);
  await bare.release();
  await extractor.close();

  const tfjs = await tfjsDenseNet(densenet161, randomBackboneWeights(densenet161, 1));
  tfjs(images.subarray(0, 2 * size * size * 3), 2);
  started = performance.now();
  tfjs(images.subarray(0, batch * size * size * 3), batch);
  const tfjsImgS = batch / ((performance.now() - started) / 1000);

  const n = 3000;
  const dim = 2208;
  const normal = seededNormal(3);
  const features = Float32Array.from({ length: n * dim }, () => normal());
  const labels = Float32Array.from({ length: n }, (_, i) => 80 + 10 * features[i * dim]!);
  const epochs = 5;
  started = performance.now();
  const head = await trainHead(features, labels, {
    epochs,
    batchSize: 32,
    learningRate: 1e-3,
    validationSplit: 0.2,
    seed: 1,
  });
  const trainSamplesS = (head.trainIndices.length * epochs) / ((performance.now() - started) / 1000);
  head.model.dispose();

  return {
    name: "model",
    title: "DenseNet-161 features and head training",
    method:
      `DenseNet-161 (random weights; speed does not depend on them) on ${size}x${size} RGB, batch ${batch}, ${count} images after a warm-up batch. ` +
      "The project's embed path (FeatureExtractor: u8 in, preprocessing in the graph) against a bare onnxruntime-node session on the same " +
      "serialised graph and inputs, and the same network in TensorFlow.js ops on the wasm backend, all in the same run. Head: the study's " +
      `2208-16-32-16-1 regressor, batch 32, ${epochs} epochs over ${n} samples (80% trained), backend ${head.backend}.`,
    rows: [
      {
        metric: "DenseNet-161 features (embed path)",
        value: projectImgS,
        unit: "img/s",
        reference: { what: "bare onnxruntime-node session", value: bareImgS },
        target: ">= 0.9x reference",
        met: projectImgS >= 0.9 * bareImgS,
      },
      {
        metric: "DenseNet-161 features, tfjs wasm",
        value: tfjsImgS,
        unit: "img/s",
        reference: { what: "bare onnxruntime-node session", value: bareImgS },
      },
      { metric: "head training", value: trainSamplesS, unit: "samples/s" },
    ],
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
