import { type EpochCurve, seededPermutation, type TrainOptions } from "@hrpipe/contracts";
import type * as tfTypes from "@tensorflow/tfjs";
import { selectTfjsBackend, type TfjsBackendName } from "./tfjs-backend.ts";

/** The study's regression head: 2208-16-32-16-1 with ReLU. */
export const headHiddenUnits = [16, 32, 16] as const;

export interface TrainedHead {
  model: tfTypes.LayersModel;
  tf: typeof tfTypes;
  backend: TfjsBackendName;
  inputDim: number;
  /** Labels are standardised for training; predictions are mapped back with these. */
  labelMean: number;
  labelStd: number;
  curves: EpochCurve[];
  /** The epoch (1-based) whose weights were kept: the lowest validation loss. */
  bestEpoch: number;
  trainIndices: number[];
  valIndices: number[];
  /** Validation RMSE in label units (bpm) of the kept weights. */
  valRmse: number;
}

export type HeadTrainingOptions = TrainOptions & {
  onEpoch?: (curve: EpochCurve) => void;
};

/** Rows `indices` of a row-major [n, dim] matrix, in that order. */
export function gatherRows(matrix: Float32Array, indices: number[], dim: number): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++)
    out.set(matrix.subarray(indices[i]! * dim, (indices[i]! + 1) * dim), i * dim);
  return out;
}

function buildHead(tf: typeof tfTypes, inputDim: number, seed: number): tfTypes.Sequential {
  const model = tf.sequential();
  headHiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: "relu",
        inputShape: i === 0 ? [inputDim] : undefined,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      }),
    );
  });
  model.add(
    tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }),
  );
  return model;
}

/**
 * Trains the head on features [n, inputDim] against labels [n] (bpm): a seeded random split into
 * training and validation, standardised labels, MSE with Adam, and the weights of the best
 * validation epoch kept.
 */
export async function trainHead(
  features: Float32Array,
  labels: Float32Array,
  options: HeadTrainingOptions,
): Promise<TrainedHead> {
  const n = labels.length;
  if (n < 2 || features.length % n !== 0) {
    throw new Error(
      `training needs at least 2 samples and features of n x dim values; got ${n} labels and ${features.length} feature values.`,
    );
  }
  const inputDim = features.length / n;
  const { tf, name: backend } = await selectTfjsBackend();
  const order = seededPermutation(n, options.seed);
  const valCount = Math.max(1, Math.round(n * options.validationSplit));
  const valIndices = order.slice(0, valCount).sort((a, b) => a - b);
  const trainIndices = order.slice(valCount).sort((a, b) => a - b);
  const trainLabels = trainIndices.map((i) => labels[i]!);
  const labelMean = trainLabels.reduce((s, v) => s + v, 0) / trainLabels.length;
  const labelStd =
    Math.sqrt(trainLabels.reduce((s, v) => s + (v - labelMean) ** 2, 0) / trainLabels.length) || 1;

  const gather = (indices: number[]) => {
    const y = Float32Array.from(indices, (row) => (labels[row]! - labelMean) / labelStd);
    return {
      x: tf.tensor2d(gatherRows(features, indices, inputDim), [indices.length, inputDim]),
      y: tf.tensor2d(y, [indices.length, 1]),
    };
  };
  const val = gather(valIndices);
  const model = buildHead(tf, inputDim, options.seed);
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: "meanSquaredError" });

  const curves: EpochCurve[] = [];
  let best: { loss: number; epoch: number; weights: tfTypes.Tensor[] } | undefined;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    // Batches in a seeded order per epoch (tfjs's own shuffle draws on Math.random), so that the same
    // data, options and seed train the same head.
    const epochOrder = seededPermutation(trainIndices.length, options.seed * 1000 + epoch).map(
      (i) => trainIndices[i]!,
    );
    const train = gather(epochOrder);
    const history = await model.fit(train.x, train.y, {
      epochs: 1,
      batchSize: options.batchSize,
      shuffle: false,
      validationData: [val.x, val.y],
      verbose: 0,
    });
    tf.dispose([train.x, train.y]);
    const curve = {
      epoch,
      trainLoss: Number(history.history.loss?.[0]),
      valLoss: Number(history.history.val_loss?.[0]),
    };
    curves.push(curve);
    if (!best || curve.valLoss < best.loss) {
      for (const w of best?.weights ?? []) w.dispose();
      best = { loss: curve.valLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
    }
    options.onEpoch?.(curve);
  }
  model.setWeights(best!.weights);
  for (const w of best!.weights) w.dispose();
  tf.dispose([val.x, val.y]);

  const head: TrainedHead = {
    model,
    tf,
    backend,
    inputDim,
    labelMean,
    labelStd,
    curves,
    bestEpoch: best!.epoch,
    trainIndices,
    valIndices,
    valRmse: 0,
  };
  const predicted = predictHead(head, gatherRows(features, valIndices, inputDim));
  head.valRmse = Math.sqrt(
    valIndices.reduce((s, row, i) => s + (predicted[i]! - labels[row]!) ** 2, 0) / valIndices.length,
  );
  return head;
}

/** Heart rate (bpm) for features [n, inputDim]. */
export function predictHead(
  head: Pick<TrainedHead, "model" | "tf" | "inputDim" | "labelMean" | "labelStd">,
  features: Float32Array,
): Float32Array {
  const n = features.length / head.inputDim;
  if (n === 0) return new Float32Array(0);
  return head.tf.tidy(() => {
    const out = head.model.predict(head.tf.tensor2d(features, [n, head.inputDim])) as tfTypes.Tensor;
    const standardised = out.dataSync() as Float32Array;
    return Float32Array.from(standardised, (v) => v * head.labelStd + head.labelMean);
  });
}
