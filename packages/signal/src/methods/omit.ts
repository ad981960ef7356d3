import type { RgbTrace } from "./common.ts";
import { greenOrthogonalTo } from "./lgi.ts";

/**
 * OMIT (Casado & Lopez 2023, "Face2PPG: An unsupervised pipeline for blood volume pulse extraction
 * from faces"): orthogonal projection away from the first column of the QR decomposition of the
 * 3 x T trace, that is the direction of the first frame's colour, green row.
 */
export function omitPulse(rgb: RgbTrace): Float64Array {
  const norm = Math.hypot(rgb[0]!, rgb[1]!, rgb[2]!) || 1;
  return greenOrthogonalTo(rgb, [rgb[0]! / norm, rgb[1]! / norm, rgb[2]! / norm]);
}
