/**
 * A temporal network's tail, from the last activations hrpipe caches to the pulse: PhysNet's last
 * normalisation (upsample2's BatchNorm as a per-channel scale and shift, then ELU), the mean over the
 * feature map's positions (AdaptiveAvgPool3d) and the last layer (ConvBlock10, a 1x1x1 convolution
 * over the channels). What fine-tuning trains (packages/model), and what a fine-tuned network's pulse
 * is computed with from the activations the neural stage cached.
 */
export interface NetworkTail {
  scale: Float64Array;
  shift: Float64Array;
  weight: Float64Array;
  bias: number;
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

/** The pulse a tail gives from cached activations [frames, channels, positions] (channels = weight's length). */
export function tailPulse(
  activations: ArrayLike<number>,
  positions: number,
  tail: NetworkTail,
): Float64Array {
  const channels = tail.weight.length;
  const frames = activations.length / (channels * positions);
  const pulse = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
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
