import { type NeuralArchitecture, seededPermutation, type TensorMap } from "@hrpipe/contracts";
import type { LastLayer } from "@hrpipe/signal";

/**
 * Fine-tuning a network's last layer, the linear map from per-frame features to the pulse (PhysNet's
 * ConvBlock10, a 1x1x1 convolution over 64 channels), on cached features: what CPUs allow, since the
 * layers below it stay frozen and their features are computed once. The loss is the one PhysNet was
 * trained with: the negative Pearson correlation between the pulse and the target waveform over
 * chunks of consecutive frames (rPPG-Toolbox's 128), averaged over each batch of chunks. Pearson's r
 * does not see the bias or the scale of the weights, so the bias is kept as imported.
 */

/** Each architecture's last layer: the module fine-tuning trains, and its tensors in the weights. */
export const lastLayerModules: Record<NeuralArchitecture, { module: string; weight: string; bias: string }> =
  {
    physnet: { module: "ConvBlock10", weight: "ConvBlock10.weight", bias: "ConvBlock10.bias" },
  };

/** A network's last layer as imported, from its stored weights (models/<hash>/weights.safetensors). */
export function importedLastLayer(architecture: NeuralArchitecture, weights: TensorMap): LastLayer {
  const names = lastLayerModules[architecture];
  const weight = weights[names.weight];
  const bias = weights[names.bias];
  if (!weight || !bias)
    throw new Error(
      `the ${architecture} weights hold no ${names.weight} and ${names.bias}; import the model again.`,
    );
  return { weight: Float64Array.from(weight.data as Float32Array), bias: (bias.data as Float32Array)[0]! };
}

/** One video for tuning: per-frame features [frames, channels] and the target waveform per frame. */
export interface TuningVideo {
  features: Float64Array;
  channels: number;
  /** The pulse the network should give, per frame (for PhysNet: DiffNormalized, here from the reference's beats). */
  target: Float64Array;
  /** Frames that may be used (a face, a reference); all when absent. */
  usable?: ArrayLike<number>;
}

export interface LastLayerTuningOptions {
  chunkFrames: number;
  /** Upper bound: tuning stops when the validation loss has not improved for `patience` epochs. */
  epochs: number;
  patience: number;
  learningRate: number;
  /** Chunks per Adam step. */
  batchChunks: number;
  seed: number;
}

/**
 * Adam's step: at 1e-3 most leave-subjects-out folds on the UBFC-rPPG development videos were still
 * improving at 300 epochs; at 1e-2 every fold's best epoch came before 125 (docs/neural.md).
 */
export const lastLayerTuningDefaults: LastLayerTuningOptions = {
  chunkFrames: 128,
  epochs: 300,
  patience: 30,
  learningRate: 1e-2,
  batchChunks: 8,
  seed: 1,
};

export interface LastLayerTuning {
  /** The weights of the epoch with the lowest validation loss. */
  layer: LastLayer;
  bestEpoch: number;
  /** Per epoch: mean negative Pearson on the training and validation chunks (epoch 0: as imported). */
  curve: { epoch: number; trainLoss: number; validationLoss: number }[];
  trainChunks: number;
  validationChunks: number;
  /** Training frames seen per second of tuning. */
  framesPerS: number;
}

/** A chunk with its features centred per channel and its target centred and scaled to unit norm. */
interface Chunk {
  features: Float64Array;
  target: Float64Array;
}

/** Non-overlapping chunks of usable frames, each centred (Pearson's r is unchanged by it). */
export function tuningChunks(videos: TuningVideo[], chunkFrames: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (const video of videos) {
    const frames = video.target.length;
    const { channels } = video;
    let start = 0;
    while (start + chunkFrames <= frames) {
      let bad = -1;
      for (let t = start; t < start + chunkFrames; t++)
        if ((video.usable && !video.usable[t]) || !Number.isFinite(video.target[t]!)) bad = t;
      if (bad >= 0) {
        start = bad + 1;
        continue;
      }
      const features = video.features.slice(start * channels, (start + chunkFrames) * channels);
      const target = video.target.slice(start, start + chunkFrames);
      for (let c = 0; c < channels; c++) {
        let mean = 0;
        for (let t = 0; t < chunkFrames; t++) mean += features[t * channels + c]!;
        mean /= chunkFrames;
        for (let t = 0; t < chunkFrames; t++) features[t * channels + c]! -= mean;
      }
      const targetMean = target.reduce((sum, v) => sum + v, 0) / chunkFrames;
      let norm = 0;
      for (let t = 0; t < chunkFrames; t++) {
        target[t]! -= targetMean;
        norm += target[t]! ** 2;
      }
      norm = Math.sqrt(norm);
      if (norm > 0) {
        for (let t = 0; t < chunkFrames; t++) target[t]! /= norm;
        chunks.push({ features, target });
      }
      start += chunkFrames;
    }
  }
  return chunks;
}

/** Pearson's r of a chunk's pulse with its target, and, when asked, dr/dweight added into `gradient`. */
function chunkPearson(chunk: Chunk, weight: Float64Array, gradient?: Float64Array): number {
  const channels = weight.length;
  const frames = chunk.target.length;
  const pulse = new Float64Array(frames);
  let dot = 0;
  let squares = 0;
  for (let t = 0; t < frames; t++) {
    let x = 0;
    for (let c = 0; c < channels; c++) x += chunk.features[t * channels + c]! * weight[c]!;
    pulse[t] = x;
    dot += x * chunk.target[t]!;
    squares += x * x;
  }
  const norm = Math.sqrt(squares);
  if (norm === 0) return 0;
  const r = dot / norm;
  if (gradient)
    for (let t = 0; t < frames; t++) {
      const d = chunk.target[t]! / norm - (r * pulse[t]!) / squares;
      for (let c = 0; c < channels; c++) gradient[c]! += d * chunk.features[t * channels + c]!;
    }
  return r;
}

function meanLoss(chunks: Chunk[], weight: Float64Array): number {
  if (chunks.length === 0) return Number.NaN;
  return chunks.reduce((sum, chunk) => sum + (1 - chunkPearson(chunk, weight)), 0) / chunks.length;
}

/**
 * Adam on the last layer's weights, from the imported ones, over shuffled batches of training chunks
 * (the order from `seed`); after every epoch the validation chunks are scored, and the best epoch's
 * weights are kept (epoch 0, the imported layer, when no epoch beats it).
 */
export function tuneLastLayer(
  train: TuningVideo[],
  validation: TuningVideo[],
  imported: LastLayer,
  options: Partial<LastLayerTuningOptions> = {},
): LastLayerTuning {
  const settings = { ...lastLayerTuningDefaults, ...options };
  const trainChunks = tuningChunks(train, settings.chunkFrames);
  const validationChunks = tuningChunks(validation, settings.chunkFrames);
  if (trainChunks.length === 0)
    throw new Error(
      `no training chunk of ${settings.chunkFrames} usable frames; tuning needs videos with faces and references that long.`,
    );
  const weight = Float64Array.from(imported.weight);
  const channels = weight.length;
  const [m, v] = [new Float64Array(channels), new Float64Array(channels)];
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const curve: LastLayerTuning["curve"] = [
    {
      epoch: 0,
      trainLoss: meanLoss(trainChunks, weight),
      validationLoss: meanLoss(validationChunks, weight),
    },
  ];
  const score = (entry: (typeof curve)[number]) =>
    validationChunks.length > 0 ? entry.validationLoss : entry.trainLoss;
  let best = { epoch: 0, loss: score(curve[0]!), weight: Float64Array.from(weight) };
  let step = 0;
  const started = performance.now();
  for (let epoch = 1; epoch <= settings.epochs && epoch - best.epoch <= settings.patience; epoch++) {
    const order = seededPermutation(trainChunks.length, settings.seed + epoch);
    for (let first = 0; first < order.length; first += settings.batchChunks) {
      const batch = order.slice(first, first + settings.batchChunks);
      const gradient = new Float64Array(channels);
      for (const index of batch) chunkPearson(trainChunks[index]!, weight, gradient);
      step++;
      for (let c = 0; c < channels; c++) {
        // The loss is 1 - r: descend along -dr/dw.
        const g = -gradient[c]! / batch.length;
        m[c] = beta1 * m[c]! + (1 - beta1) * g;
        v[c] = beta2 * v[c]! + (1 - beta2) * g * g;
        const mHat = m[c]! / (1 - beta1 ** step);
        const vHat = v[c]! / (1 - beta2 ** step);
        weight[c]! -= (settings.learningRate * mHat) / (Math.sqrt(vHat) + epsilon);
      }
    }
    const entry = {
      epoch,
      trainLoss: meanLoss(trainChunks, weight),
      validationLoss: meanLoss(validationChunks, weight),
    };
    curve.push(entry);
    if (score(entry) < best.loss) best = { epoch, loss: score(entry), weight: Float64Array.from(weight) };
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    layer: { weight: best.weight, bias: imported.bias },
    bestEpoch: best.epoch,
    curve,
    trainChunks: trainChunks.length,
    validationChunks: validationChunks.length,
    framesPerS: ((curve.length - 1) * trainChunks.length * settings.chunkFrames) / Math.max(seconds, 1e-9),
  };
}

/**
 * PhysNet's DiffNormalized label of a waveform per frame: each frame's difference to the next over the
 * differences' standard deviation; NaN where either frame has no value (not used in tuning).
 */
export function diffNormalizedTarget(wave: ArrayLike<number>): Float64Array {
  const diff = new Float64Array(wave.length).fill(Number.NaN);
  let [sum, squares, count] = [0, 0, 0];
  for (let frame = 0; frame + 1 < wave.length; frame++) {
    const d = wave[frame + 1]! - wave[frame]!;
    if (!Number.isFinite(d)) continue;
    diff[frame] = d;
    sum += d;
    squares += d * d;
    count++;
  }
  const mean = sum / Math.max(1, count);
  const std = Math.sqrt(Math.max(0, squares / Math.max(1, count) - mean * mean)) || 1;
  return diff.map((d) => d / std);
}

/**
 * A tuning target from a reference's beat times, for references with no pulse wave (ECG R peaks, RR
 * intervals): a wave that peaks at every beat (the cosine of the phase between consecutive beats, the
 * shape a pulse has at its fundamental), DiffNormalized. Frames not between two beats at most
 * `maxGapS` apart are NaN (not used).
 */
export function beatPulseTarget(
  beatTimesS: readonly number[],
  frames: number,
  fps: number,
  maxGapS = 2,
): Float64Array {
  const wave = new Float64Array(frames).fill(Number.NaN);
  let beat = 0;
  for (let frame = 0; frame < frames; frame++) {
    const timeS = frame / fps;
    while (beat + 1 < beatTimesS.length && beatTimesS[beat + 1]! <= timeS) beat++;
    const [from, to] = [beatTimesS[beat], beatTimesS[beat + 1]];
    if (from === undefined || to === undefined || timeS < from || to - from > maxGapS) continue;
    wave[frame] = Math.cos((2 * Math.PI * (timeS - from)) / (to - from));
  }
  return diffNormalizedTarget(wave);
}
