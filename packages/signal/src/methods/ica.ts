import { detrendSmoothnessPriors } from "../detrend.ts";
import { jadeSources } from "../jade.ts";
import { bandpassPulse, channel, type RgbTrace, standardised } from "./common.ts";

/**
 * ICA (Poh, McDuff & Picard 2011, "Advancements in noncontact, multiparameter physiological
 * measurements using a webcam"): each channel detrended (smoothness priors, lambda 100) and
 * standardised, separated by JADE, and the source whose power spectrum has the highest normalised peak
 * taken as the pulse (the sign and scale of an ICA source are arbitrary).
 */
export function icaPulse(rgb: RgbTrace, fsHz: number): Float64Array {
  const sources = jadeSources(
    [0, 1, 2].map((k) => standardised(detrendSmoothnessPriors(channel(rgb, k), 100))),
  );
  let best = sources[0]!;
  let bestPeak = -1;
  for (const source of sources) {
    const peak = normalisedSpectralPeak(source);
    if (peak > bestPeak) [best, bestPeak] = [source, peak];
  }
  return bandpassPulse(best, fsHz, 3);
}

/** The largest share of power held by one DFT bin (DC excluded), as ICA_POH ranks its sources. */
function normalisedSpectralPeak(x: Float64Array): number {
  const n = x.length;
  const cos = Float64Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * i) / n));
  const sin = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / n));
  let total = 0;
  let peak = 0;
  for (let k = 1; k <= Math.floor((n - 1) / 2); k++) {
    let re = 0;
    let im = 0;
    for (let i = 0, phase = 0; i < n; i++, phase = (phase + k) % n) {
      re += x[i]! * cos[phase]!;
      im -= x[i]! * sin[phase]!;
    }
    const power = re * re + im * im;
    total += power;
    peak = Math.max(peak, power);
  }
  return total > 0 ? peak / total : 0;
}
