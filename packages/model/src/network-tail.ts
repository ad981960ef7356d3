import { type NeuralArchitecture, seededPermutation, type TensorMap } from "@hrpipe/contracts";
import {
  type NetworkTail,
  normalisedChannelMean,
  standardised,
  type TemporalConvTail,
  tailChannels,
  temporalConvAt,
  temporalConvRuns,
} from "@hrpipe/signal";
import { factorizephysTailTaps } from "./factorizephys.ts";

/**
 * Fine-tuning a network's tail on cached activations: what CPUs allow, since the layers below it stay
 * frozen and their activations are computed once. For PhysNet the tail is the last upsampling block's
 * normalisation (a per-channel scale and shift before its ELU: 128 numbers) and the last layer
 * (ConvBlock10, 64 weights), trained on the block's transposed convolution output: adapting a
 * network's normalisation to a new domain is the cheapest change that moves every channel's operating
 * point on the ELU (AdaBN, TENT). On the UBFC-rPPG development videos it took PhysNet-PURE's errors
 * left by the last layer alone from 3.55 to 2.52 bpm per video and from 8.06 to 5.68 per window
 * (docs/neural.md). For FactorizePhys it is the last layer (216 weights) on the last block's
 * normalised output. The loss is the one both were trained with: the negative Pearson correlation
 * between the pulse and the target waveform over chunks of consecutive frames (rPPG-Toolbox's 128),
 * averaged over each batch of chunks. Pearson's r does not see a last layer's bias, so the bias is
 * kept as imported.
 */

/** How a target waveform is labelled for a network: as its training labels were. */
export type TargetForm = "diff-normalized" | "standardized";

/** Each architecture's tail: the modules fine-tuning trains, and the form of its training labels. */
export const tailModules: Record<NeuralArchitecture, { layers: string[]; target: TargetForm }> = {
  physnet: { layers: ["upsample2.1", "ConvBlock10"], target: "diff-normalized" },
  factorizephys: { layers: ["rppg_head.final_layer.2"], target: "standardized" },
};

/** PyTorch's BatchNorm3d default epsilon, PhysNet's upsample2.1 in inference form. */
const batchNormEpsilon = 1e-5;

/** A network's tail as imported, from its stored weights (models/<hash>/weights.safetensors). */
export function importedTail(architecture: NeuralArchitecture, weights: TensorMap): NetworkTail {
  const read = (name: string) => {
    const found = weights[name];
    if (!found) throw new Error(`the ${architecture} weights hold no ${name}; import the model again.`);
    return found.data as Float32Array;
  };
  if (architecture === "factorizephys")
    return {
      kind: "temporal-conv",
      weight: Float64Array.from(read("rppg_head.final_layer.2.weight")),
      taps: factorizephysTailTaps,
    };
  const gamma = read("upsample2.1.weight");
  const variance = read("upsample2.1.running_var");
  const mean = read("upsample2.1.running_mean");
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + batchNormEpsilon));
  return {
    kind: "normalised-mean",
    scale,
    shift: Float64Array.from(read("upsample2.1.bias"), (b, c) => b - mean[c]! * scale[c]!),
    weight: Float64Array.from(read("ConvBlock10.weight")),
    bias: read("ConvBlock10.bias")[0]!,
  };
}

/** One video for tuning: cached tail activations [frames, channels, positions] and the target waveform per frame. */
export interface TuningVideo {
  activations: Float32Array;
  positions: number;
  /** The pulse the network should give, per frame (for PhysNet: DiffNormalized, here from the reference). */
  target: Float64Array;
  /** Frames that may be used (a face, a reference); all when absent. */
  usable?: ArrayLike<number>;
}

export interface TailTuningOptions {
  chunkFrames: number;
  /** Upper bound: tuning stops when the validation loss has not improved for `patience` epochs. */
  epochs: number;
  patience: number;
  /** Adam's step for the last layer's weights. */
  learningRate: number;
  /** Adam's step for the normalisation's scale and shift. */
  normalisationLearningRate: number;
  /** Chunks per Adam step. */
  batchChunks: number;
  seed: number;
}

/**
 * Adam's steps: for the last layer, at 1e-3 most leave-subjects-out folds on the UBFC-rPPG development
 * videos were still improving at 300 epochs, and at 1e-2 every fold's best epoch came before 125; the
 * normalisation, whose scale and shift move every position of a channel at once, takes Adam's own
 * default 1e-3 (3e-3 overshot on one development subject: docs/neural.md).
 */
export const tailTuningDefaults: TailTuningOptions = {
  chunkFrames: 128,
  epochs: 300,
  patience: 30,
  learningRate: 1e-2,
  normalisationLearningRate: 1e-3,
  batchChunks: 8,
  seed: 1,
};

export interface TailTuning<Tail extends NetworkTail = NetworkTail> {
  /** The tail of the epoch with the lowest validation loss. */
  tail: Tail;
  bestEpoch: number;
  /** Per epoch: mean negative Pearson on the training and validation chunks (epoch 0: as imported). */
  curve: { epoch: number; trainLoss: number; validationLoss: number }[];
  trainChunks: number;
  validationChunks: number;
  /** Training frames seen per second of tuning. */
  framesPerS: number;
}

/** A chunk of a video's usable frames, with its target centred and scaled to unit norm. */
interface Chunk {
  video: TuningVideo;
  start: number;
  target: Float64Array;
}

/** Non-overlapping chunks of usable frames with a target that varies. */
export function tuningChunks(videos: TuningVideo[], chunkFrames: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (const video of videos) {
    const frames = video.target.length;
    let start = 0;
    while (start + chunkFrames <= frames) {
      let bad = -1;
      for (let t = start; t < start + chunkFrames; t++)
        if ((video.usable && !video.usable[t]) || !Number.isFinite(video.target[t]!)) bad = t;
      if (bad >= 0) {
        start = bad + 1;
        continue;
      }
      const target = video.target.slice(start, start + chunkFrames);
      const targetMean = target.reduce((sum, v) => sum + v, 0) / chunkFrames;
      let norm = 0;
      for (let t = 0; t < chunkFrames; t++) {
        target[t]! -= targetMean;
        norm += target[t]! ** 2;
      }
      norm = Math.sqrt(norm);
      if (norm > 0) {
        for (let t = 0; t < chunkFrames; t++) target[t]! /= norm;
        chunks.push({ video, start, target });
      }
      start += chunkFrames;
    }
  }
  return chunks;
}

/**
 * Pearson's r of a chunk's pulse with its target, and, when asked, dr/d(every tail parameter) added
 * into `gradient` (a tail of the same kind; the bias aside).
 */
function chunkPearson(chunk: Chunk, tail: NetworkTail, gradient?: NetworkTail): number {
  const { video, start, target } = chunk;
  const { activations, positions } = video;
  const channels = tailChannels(tail, positions);
  const videoFrames = activations.length / (channels * positions);
  const frames = target.length;
  // PhysNet's per-channel means, kept for its gradient.
  const means = tail.kind === "normalised-mean" ? new Float64Array(frames * channels) : undefined;
  const pulse = new Float64Array(frames);
  let pulseMean = 0;
  for (let t = 0; t < frames; t++) {
    let x = 0;
    if (tail.kind === "temporal-conv")
      x = temporalConvAt(activations, videoFrames, positions, tail, start + t);
    else
      for (let c = 0; c < channels; c++) {
        const offset = ((start + t) * channels + c) * positions;
        const m = normalisedChannelMean(activations, offset, positions, tail.scale[c]!, tail.shift[c]!);
        means![t * channels + c] = m;
        x += tail.weight[c]! * m;
      }
    pulse[t] = x;
    pulseMean += x / frames;
  }
  let dot = 0;
  let squares = 0;
  for (let t = 0; t < frames; t++) {
    pulse[t]! -= pulseMean;
    dot += pulse[t]! * target[t]!;
    squares += pulse[t]! ** 2;
  }
  const norm = Math.sqrt(squares);
  if (norm === 0) return 0;
  const r = dot / norm;
  if (gradient)
    for (let t = 0; t < frames; t++) {
      // dr/dpulse[t]; the target is centred, so the pulse's centring passes it through unchanged.
      const d = target[t]! / norm - (r * pulse[t]!) / squares;
      if (tail.kind === "temporal-conv" && gradient.kind === "temporal-conv")
        temporalConvGradient(activations, videoFrames, positions, tail, start + t, d, gradient);
      else if (tail.kind === "normalised-mean" && gradient.kind === "normalised-mean")
        for (let c = 0; c < channels; c++) {
          gradient.weight[c]! += d * means![t * channels + c]!;
          const perPosition = (d * tail.weight[c]!) / positions;
          const [scale, shift] = [tail.scale[c]!, tail.shift[c]!];
          const offset = ((start + t) * channels + c) * positions;
          let dScale = 0;
          let dShift = 0;
          for (let p = offset; p < offset + positions; p++) {
            const a = activations[p]!;
            const z = scale * a + shift;
            const dz = z > 0 ? perPosition : perPosition * Math.exp(z);
            dScale += dz * a;
            dShift += dz;
          }
          gradient.scale[c]! += dScale;
          gradient.shift[c]! += dShift;
        }
    }
  return r;
}

/** d(output at frame t)/d(weight) of a temporal-conv tail, times `d`, added into `gradient`. */
function temporalConvGradient(
  activations: ArrayLike<number>,
  frames: number,
  positions: number,
  tail: TemporalConvTail,
  t: number,
  d: number,
  gradient: TemporalConvTail,
): void {
  temporalConvRuns(frames, positions, tail, t, (w, a) => {
    for (let p = 0; p < positions; p++) gradient.weight[w + p]! += d * activations[a + p]!;
  });
}

function meanLoss(chunks: Chunk[], tail: NetworkTail): number {
  if (chunks.length === 0) return Number.NaN;
  return chunks.reduce((sum, chunk) => sum + (1 - chunkPearson(chunk, tail)), 0) / chunks.length;
}

/** A copy of a tail; zeroed, a gradient of its shape. */
function copyTail<Tail extends NetworkTail>(tail: Tail, zero = false): Tail {
  const copy = (values: Float64Array) => (zero ? new Float64Array(values.length) : Float64Array.from(values));
  return tail.kind === "temporal-conv"
    ? { ...tail, weight: copy(tail.weight) }
    : { ...tail, scale: copy(tail.scale), shift: copy(tail.shift), weight: copy(tail.weight) };
}

/** A tail's trained arrays, each with its gradient's and its Adam step. */
function trainedArrays(tail: NetworkTail, gradient: NetworkTail, settings: TailTuningOptions) {
  const pairs: { values: Float64Array; gradient: Float64Array; rate: number }[] = [
    { values: tail.weight, gradient: gradient.weight, rate: settings.learningRate },
  ];
  if (tail.kind === "normalised-mean" && gradient.kind === "normalised-mean")
    pairs.push(
      { values: tail.scale, gradient: gradient.scale, rate: settings.normalisationLearningRate },
      { values: tail.shift, gradient: gradient.shift, rate: settings.normalisationLearningRate },
    );
  return pairs;
}

/**
 * Adam on the tail's scale, shift and weights, from the imported ones, over shuffled batches of
 * training chunks (the order from `seed`); after every epoch the validation chunks are scored, and the
 * best epoch's tail is kept (epoch 0, the imported tail, when no epoch beats it).
 */
export function tuneTail<Tail extends NetworkTail>(
  train: TuningVideo[],
  validation: TuningVideo[],
  imported: Tail,
  options: Partial<TailTuningOptions> = {},
): TailTuning<Tail> {
  const settings = { ...tailTuningDefaults, ...options };
  const trainChunks = tuningChunks(train, settings.chunkFrames);
  const validationChunks = tuningChunks(validation, settings.chunkFrames);
  if (trainChunks.length === 0)
    throw new Error(
      `no training chunk of ${settings.chunkFrames} usable frames; tuning needs videos with faces and references that long.`,
    );
  const tail = copyTail(imported);
  const gradient = copyTail(imported, true);
  const parameters = trainedArrays(tail, gradient, settings).map((parameter) => ({
    ...parameter,
    m: new Float64Array(parameter.values.length),
    v: new Float64Array(parameter.values.length),
  }));
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const curve: TailTuning<Tail>["curve"] = [
    {
      epoch: 0,
      trainLoss: meanLoss(trainChunks, tail),
      validationLoss: meanLoss(validationChunks, tail),
    },
  ];
  const score = (entry: (typeof curve)[number]) =>
    validationChunks.length > 0 ? entry.validationLoss : entry.trainLoss;
  let best = { epoch: 0, loss: score(curve[0]!), tail: copyTail(tail) };
  let step = 0;
  const started = performance.now();
  for (let epoch = 1; epoch <= settings.epochs && epoch - best.epoch <= settings.patience; epoch++) {
    const order = seededPermutation(trainChunks.length, settings.seed + epoch);
    for (let first = 0; first < order.length; first += settings.batchChunks) {
      const batch = order.slice(first, first + settings.batchChunks);
      for (const { gradient: g } of parameters) g.fill(0);
      for (const index of batch) chunkPearson(trainChunks[index]!, tail, gradient);
      step++;
      for (const { values, gradient: g, rate, m, v } of parameters)
        for (let i = 0; i < values.length; i++) {
          // The loss is 1 - r: descend along -dr/dparameter.
          const descent = -g[i]! / batch.length;
          m[i] = beta1 * m[i]! + (1 - beta1) * descent;
          v[i] = beta2 * v[i]! + (1 - beta2) * descent * descent;
          const mHat = m[i]! / (1 - beta1 ** step);
          const vHat = v[i]! / (1 - beta2 ** step);
          values[i]! -= (rate * mHat) / (Math.sqrt(vHat) + epsilon);
        }
    }
    const entry = {
      epoch,
      trainLoss: meanLoss(trainChunks, tail),
      validationLoss: meanLoss(validationChunks, tail),
    };
    curve.push(entry);
    if (score(entry) < best.loss) best = { epoch, loss: score(entry), tail: copyTail(tail) };
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    tail: best.tail,
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
 * A waveform per frame labelled as a network's training labels were: PhysNet's DiffNormalized, or
 * FactorizePhys's Standardized (centred, unit deviation); NaN where it has no value (not used in tuning).
 */
export function pulseTarget(wave: ArrayLike<number>, form: TargetForm): Float64Array {
  return form === "diff-normalized" ? diffNormalizedTarget(wave) : standardised(wave);
}

/**
 * A tuning target from a reference's beat times, for references with no pulse wave (ECG R peaks, RR
 * intervals): a wave that peaks at every beat (the cosine of the phase between consecutive beats, the
 * shape a pulse has at its fundamental), labelled in `form`. Frames not between two beats at most
 * `maxGapS` apart are NaN (not used).
 */
export function beatPulseTarget(
  beatTimesS: readonly number[],
  frames: number,
  fps: number,
  form: TargetForm = "diff-normalized",
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
  return pulseTarget(wave, form);
}
