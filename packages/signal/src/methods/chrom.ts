import { sampleCount } from "../resample.ts";
import { bandpassPulse, channel, mean, type RgbTrace, std } from "./common.ts";

/**
 * CHROM (de Haan & Jeanne 2013, "Robust pulse rate from chrominance-based rPPG"): in 1.6-s Hann
 * windows at 50% overlap, colour normalised by its window mean, chrominance X = 3R - 2G and
 * Y = 1.5R + G - 1.5B band-passed, S = Xf - (sd Xf / sd Yf) Yf, overlap-added.
 */
export function chromPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  let length = sampleCount(windowS, fsHz, "up");
  length += length % 2;
  const half = length / 2;
  const out = new Float64Array(n);
  if (n < length) return out;
  const [r, g, b] = [channel(rgb, 0), channel(rgb, 1), channel(rgb, 2)];
  const x = new Float64Array(length);
  const y = new Float64Array(length);
  for (let start = 0; start + length <= n; start += half) {
    const end = start + length;
    const [mr, mg, mb] = [mean(r, start, end), mean(g, start, end), mean(b, start, end)];
    for (let i = 0; i < length; i++) {
      const rn = r[start + i]! / mr;
      const gn = g[start + i]! / mg;
      const bn = b[start + i]! / mb;
      x[i] = 3 * rn - 2 * gn;
      y[i] = 1.5 * rn + gn - 1.5 * bn;
    }
    const xf = bandpassPulse(x, fsHz, 3);
    const yf = bandpassPulse(y, fsHz, 3);
    const alpha = std(xf) / (std(yf) || 1);
    for (let i = 0; i < length; i++) {
      const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (length - 1));
      out[start + i]! += (xf[i]! - alpha * yf[i]!) * hann;
    }
  }
  return out;
}
