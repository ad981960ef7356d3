import { solve } from "../linalg.ts";
import { channel, mean, type RgbTrace, std } from "./common.ts";

/**
 * PBV (de Haan & van Leest 2014, "Improved motion robustness of remote-PPG by using the blood volume
 * pulse signature"): colour normalised by its mean over the trace; the signature P is each channel's
 * standard deviation over their root sum of variances; the pulse is C' W / (P' W) with W = (C C')^-1 P.
 */
export function pbvPulse(rgb: RgbTrace): Float64Array {
  const n = rgb.length / 3;
  const c = [0, 1, 2].map((k) => {
    const x = channel(rgb, k);
    const m = mean(x);
    return x.map((v) => v / m);
  });
  const deviations = c.map(std);
  const norm = Math.sqrt(deviations.reduce((s, d) => s + d * d, 0)) || 1;
  const signature = Float64Array.from(deviations, (d) => d / norm);
  const q = new Float64Array(9);
  for (let a = 0; a < 3; a++)
    for (let b = 0; b < 3; b++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += c[a]![i]! * c[b]![i]!;
      q[a * 3 + b] = sum;
    }
  const w = solve(q, signature, 3);
  const scale = signature[0]! * w[0]! + signature[1]! * w[1]! + signature[2]! * w[2]!;
  return Float64Array.from(
    { length: n },
    (_, i) => (c[0]![i]! * w[0]! + c[1]![i]! * w[1]! + c[2]![i]! * w[2]!) / scale,
  );
}
