/**
 * A temporal network's last layer as a linear map from per-frame features to the pulse (PhysNet's
 * ConvBlock10, a 1x1x1 convolution over 64 channels): what fine-tuning trains (packages/model) and
 * what a fine-tuned network's pulse is computed with from the features the neural stage cached.
 */
export interface LastLayer {
  weight: Float64Array;
  bias: number;
}

/** The pulse a last layer gives from per-frame features [frames, channels]. */
export function lastLayerPulse(features: Float64Array, channels: number, layer: LastLayer): Float64Array {
  const frames = features.length / channels;
  const pulse = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    let x = layer.bias;
    for (let c = 0; c < channels; c++) x += features[t * channels + c]! * layer.weight[c]!;
    pulse[t] = x;
  }
  return pulse;
}
