import { sampleCount } from "../resample.ts";
import { channel, mean, type RgbTrace, std } from "./common.ts";

/**
 * POS (Wang, den Brinker, Stuijk & de Haan 2017, "Algorithmic principles of remote PPG"): in sliding
 * 1.6-s windows, colour normalised by its window mean is projected on the plane orthogonal to skin
 * tone, S1 = G - B and S2 = -2R + G + B, combined as h = S1 + (sd S1 / sd S2) S2 and overlap-added.
 */
export function posPulse(rgb: RgbTrace, fsHz: number, windowS = 1.6): Float64Array {
  const n = rgb.length / 3;
  const length = sampleCount(windowS, fsHz, "up");
  const h = new Float64Array(n);
  if (n < length) return h;
  const [r, g, b] = [channel(rgb, 0), channel(rgb, 1), channel(rgb, 2)];
  const s1 = new Float64Array(length);
  const s2 = new Float64Array(length);
  for (let end = length; end <= n; end++) {
    const start = end - length;
    const [mr, mg, mb] = [mean(r, start, end), mean(g, start, end), mean(b, start, end)];
    for (let i = 0; i < length; i++) {
      const rn = r[start + i]! / mr;
      const gn = g[start + i]! / mg;
      const bn = b[start + i]! / mb;
      s1[i] = gn - bn;
      s2[i] = -2 * rn + gn + bn;
    }
    const alpha = std(s1) / (std(s2) || 1);
    let hm = 0;
    for (let i = 0; i < length; i++) hm += s1[i]! + alpha * s2[i]!;
    hm /= length;
    for (let i = 0; i < length; i++) h[start + i]! += s1[i]! + alpha * s2[i]! - hm;
  }
  return h;
}
