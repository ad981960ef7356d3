import { seededPermutation, type TensorMap, type TunableArchitecture } from "@hrpipe/contracts";
import { type NetworkTail, normalisedChannelMean } from "@hrpipe/signal";

/**
 * Fine-tuning a network's tail on cached activations: what CPUs allow, since the layers below it stay
 * frozen and their activations are computed once. For PhysNet the tail is the last upsampling block's
 * normalisation (a per-channel scale and shift before its ELU: 128 numbers) and the last layer
 * (ConvBlock10, 64 weights), trained on the block's transposed convolution output: adapting a
 * network's normalisation to a new domain is the cheapest change that moves every channel's operating
 * point on the ELU (AdaBN, TENT). On the UBFC-rPPG development videos it took PhysNet-PURE's errors
 * left by the last layer alone from 3.55 to 2.52 bpm per video and from 8.06 to 5.68 per window
 * (docs/neural.md). The loss is the one PhysNet was trained with: the negative Pearson correlation
 * between the pulse and the target waveform over chunks of consecutive frames (rPPG-Toolbox's 128),
 * averaged over each batch of chunks. Pearson's r does not see the last layer's bias, so the bias is
 * kept as imported.
 */

/** Each architecture's tail: the modules fine-tuning trains, and their tensors in the weights. */
export const tailModules: Record<
  TunableArchitecture,
  { normalisation: string; lastLayer: string; epsilon: number }
> = {
  // PyTorch's BatchNorm3d default epsilon.
  physnet: { normalisation: "upsample2.1", lastLayer: "ConvBlock10", epsilon: 1e-5 },
};

/** A network's tail as imported, from its stored weights (models/<hash>/weights.safetensors): BatchNorm in inference form. */
export function importedTail(architecture: TunableArchitecture, weights: TensorMap): NetworkTail {
  const { normalisation, lastLayer, epsilon } = tailModules[architecture];
  const read = (name: string) => {
    const found = weights[name];
    if (!found) throw new Error(`the ${architecture} weights hold no ${name}; import the model again.`);
    return found.data as Float32Array;
  };
  const gamma = read(`${normalisation}.weight`);
  const beta = read(`${normalisation}.bias`);
  const mean = read(`${normalisation}.running_mean`);
  const variance = read(`${normalisation}.running_var`);
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + epsilon));
  return {
    scale,
    shift: Float64Array.from(beta, (b, c) => b - mean[c]! * scale[c]!),
    weight: Float64Array.from(read(`${lastLayer}.weight`)),
    bias: read(`${lastLayer}.bias`)[0]!,
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

export interface TailTuning {
  /** The tail of the epoch with the lowest validation loss. */
  tail: NetworkTail;
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
 * into `gradient` (the bias aside).
 */
function chunkPearson(chunk: Chunk, tail: NetworkTail, gradient?: NetworkTail): number {
  const { video, start, target } = chunk;
  const { activations, positions } = video;
  const channels = tail.weight.length;
  const frames = target.length;
  const means = new Float64Array(frames * channels);
  const pulse = new Float64Array(frames);
  let pulseMean = 0;
  for (let t = 0; t < frames; t++) {
    let x = 0;
    for (let c = 0; c < channels; c++) {
      const offset = ((start + t) * channels + c) * positions;
      const m = normalisedChannelMean(activations, offset, positions, tail.scale[c]!, tail.shift[c]!);
      means[t * channels + c] = m;
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
      for (let c = 0; c < channels; c++) {
        gradient.weight[c]! += d * means[t * channels + c]!;
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

function meanLoss(chunks: Chunk[], tail: NetworkTail): number {
  if (chunks.length === 0) return Number.NaN;
  return chunks.reduce((sum, chunk) => sum + (1 - chunkPearson(chunk, tail)), 0) / chunks.length;
}

const copyTail = (tail: NetworkTail): NetworkTail => ({
  scale: Float64Array.from(tail.scale),
  shift: Float64Array.from(tail.shift),
  weight: Float64Array.from(tail.weight),
  bias: tail.bias,
});

/**
 * Adam on the tail's scale, shift and weights, from the imported ones, over shuffled batches of
 * training chunks (the order from `seed`); after every epoch the validation chunks are scored, and the
 * best epoch's tail is kept (epoch 0, the imported tail, when no epoch beats it).
 */
export function tuneTail(
  train: TuningVideo[],
  validation: TuningVideo[],
  imported: NetworkTail,
  options: Partial<TailTuningOptions> = {},
): TailTuning {
  const settings = { ...tailTuningDefaults, ...options };
  const trainChunks = tuningChunks(train, settings.chunkFrames);
  const validationChunks = tuningChunks(validation, settings.chunkFrames);
  if (trainChunks.length === 0)
    throw new Error(
      `no training chunk of ${settings.chunkFrames} usable frames; tuning needs videos with faces and references that long.`,
    );
  const tail = copyTail(imported);
  const channels = tail.weight.length;
  const parameters = [
    { values: tail.scale, rate: settings.normalisationLearningRate, key: "scale" as const },
    { values: tail.shift, rate: settings.normalisationLearningRate, key: "shift" as const },
    { values: tail.weight, rate: settings.learningRate, key: "weight" as const },
  ].map((parameter) => ({ ...parameter, m: new Float64Array(channels), v: new Float64Array(channels) }));
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const curve: TailTuning["curve"] = [
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
      const gradient: NetworkTail = {
        scale: new Float64Array(channels),
        shift: new Float64Array(channels),
        weight: new Float64Array(channels),
        bias: 0,
      };
      for (const index of batch) chunkPearson(trainChunks[index]!, tail, gradient);
      step++;
      for (const { values, rate, key, m, v } of parameters)
        for (let c = 0; c < channels; c++) {
          // The loss is 1 - r: descend along -dr/dparameter.
          const g = -gradient[key][c]! / batch.length;
          m[c] = beta1 * m[c]! + (1 - beta1) * g;
          v[c] = beta2 * v[c]! + (1 - beta2) * g * g;
          const mHat = m[c]! / (1 - beta1 ** step);
          const vHat = v[c]! / (1 - beta2 ** step);
          values[c]! -= (rate * mHat) / (Math.sqrt(vHat) + epsilon);
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
