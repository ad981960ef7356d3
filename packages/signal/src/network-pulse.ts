/**
 * A temporal network's tail, from the last activations hrpipe caches to the pulse: what fine-tuning
 * trains (packages/model), and what a fine-tuned network's pulse is computed with from the
 * activations the neural stage cached. Activations are [frames, channels, positions].
 */
export type NetworkTail = NormalisedMeanTail | TemporalConvTail;

/**
 * PhysNet's tail: its last normalisation (upsample2's BatchNorm as a per-channel scale and shift, then
 * ELU), the mean over the feature map's positions (AdaptiveAvgPool3d) and the last layer (ConvBlock10,
 * a 1x1x1 convolution over the channels).
 */
export interface NormalisedMeanTail {
  kind: "normalised-mean";
  scale: Float64Array;
  shift: Float64Array;
  weight: Float64Array;
  bias: number;
}

/**
 * FactorizePhys's tail: its last layer, a convolution without bias over every channel and position
 * and `taps` frames centred on each (zero beyond the video), weights [channels, taps, positions] as
 * PyTorch's [1, C, taps, H, W] holds them.
 */
export interface TemporalConvTail {
  kind: "temporal-conv";
  weight: Float64Array;
  taps: number;
}

/** The mean over positions of ELU(scale * activation + shift) for one frame's channel. */
export function normalisedChannelMean(
  activations: ArrayLike<number>,
  offset: number,
  positions: number,
  scale: number,
  shift: number,
): number {
  let sum = 0;
  for (let p = offset; p < offset + positions; p++) {
    const z = scale * activations[p]! + shift;
    sum += z > 0 ? z : Math.expm1(z);
  }
  return sum / positions;
}

/** The channels of the activations a tail reads per position. */
export function tailChannels(tail: NetworkTail, positions: number): number {
  return tail.kind === "normalised-mean" ? tail.weight.length : tail.weight.length / (tail.taps * positions);
}

/**
 * Where a temporal-conv tail's weights and the activations they meet start for its output at frame t,
 * run by run (one per tap and channel, `positions` long), frames beyond the video left out.
 */
export function temporalConvRuns(
  frames: number,
  positions: number,
  tail: TemporalConvTail,
  t: number,
  visit: (weightAt: number, activationAt: number) => void,
): void {
  const { taps } = tail;
  const channels = tail.weight.length / (taps * positions);
  const half = (taps - 1) / 2;
  for (let k = 0; k < taps; k++) {
    const frame = t + k - half;
    if (frame < 0 || frame >= frames) continue;
    for (let c = 0; c < channels; c++) visit((c * taps + k) * positions, (frame * channels + c) * positions);
  }
}

/** A temporal-conv tail's output at frame t of activations holding `frames` frames. */
export function temporalConvAt(
  activations: ArrayLike<number>,
  frames: number,
  positions: number,
  tail: TemporalConvTail,
  t: number,
): number {
  let x = 0;
  temporalConvRuns(frames, positions, tail, t, (w, a) => {
    for (let p = 0; p < positions; p++) x += tail.weight[w + p]! * activations[a + p]!;
  });
  return x;
}

/** The pulse a tail gives from cached activations [frames, channels, positions]. */
export function tailPulse(
  activations: ArrayLike<number>,
  positions: number,
  tail: NetworkTail,
): Float64Array {
  const channels = tailChannels(tail, positions);
  const frames = activations.length / (channels * positions);
  const pulse = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    if (tail.kind === "temporal-conv") {
      pulse[t] = temporalConvAt(activations, frames, positions, tail, t);
      continue;
    }
    let x = tail.bias;
    for (let c = 0; c < channels; c++)
      x +=
        tail.weight[c]! *
        normalisedChannelMean(
          activations,
          (t * channels + c) * positions,
          positions,
          tail.scale[c]!,
          tail.shift[c]!,
        );
    pulse[t] = x;
  }
  return pulse;
}
