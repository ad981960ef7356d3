import { symmetricEigen } from "../linalg.ts";
import type { RgbTrace } from "./common.ts";

/** The green row of (I - u u') X: the colour trace with its component along the unit vector u removed. */
export function greenOrthogonalTo(rgb: RgbTrace, u: readonly [number, number, number]): Float64Array {
  const n = rgb.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const along = u[0] * rgb[i * 3]! + u[1] * rgb[i * 3 + 1]! + u[2] * rgb[i * 3 + 2]!;
    out[i] = rgb[i * 3 + 1]! - u[1] * along;
  }
  return out;
}

/**
 * LGI (Pilz, Zaunseder, Krajewski & Blazek 2018, "Local group invariance for heart rate estimation
 * from face videos in the wild"): the colour trace projected away from its principal direction (the
 * first left singular vector of the 3 x T trace, the skin tone and the light's intensity), green row.
 */
export function lgiPulse(rgb: RgbTrace): Float64Array {
  const gram = new Float64Array(9);
  const n = rgb.length / 3;
  for (let i = 0; i < n; i++)
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) gram[a * 3 + b]! += rgb[i * 3 + a]! * rgb[i * 3 + b]!;
  const { values, vectors } = symmetricEigen(gram, 3);
  const top = values.indexOf(Math.max(...values));
  return greenOrthogonalTo(rgb, [vectors[top]!, vectors[3 + top]!, vectors[6 + top]!]);
}
