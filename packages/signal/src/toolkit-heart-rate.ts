import { detrendSmoothnessPriors } from "./detrend.ts";
import { butterworthBandpass, sosFiltFilt } from "./filters.ts";
import { periodogram } from "./spectrum.ts";

/**
 * A whole video's heart rate the way the field's peer toolkit reports it (rPPG-Toolbox's
 * evaluation/post_process.py, `calculate_metric_per_video` with FFT): smoothness-priors detrending
 * (lambda 100), a first-order Butterworth band-pass 0.75-2.5 Hz run forward and backward, a
 * periodogram of the next power of two with no taper, and the highest bin in 0.75-2.5 Hz. Its bins
 * are fsHz / 2^k apart (0.88 bpm for a minute at 30 fps), and it is reproduced exactly so that
 * published per-video numbers and hrpipe's mean the same thing.
 */
export function toolkitVideoHeartRateBpm(pulse: Float64Array, fsHz: number): number {
  const band = { low: 0.6, high: 3.3 };
  const filtered = sosFiltFilt(
    butterworthBandpass(1, band.low, band.high, fsHz),
    detrendSmoothnessPriors(pulse, 100),
  );
  const spectrum = periodogram(filtered, fsHz, { minBins: 1, taper: "none" });
  let best = -1;
  for (let k = 0; k < spectrum.freqHz.length; k++) {
    const hz = spectrum.freqHz[k]!;
    if (hz < band.low || hz > band.high) continue;
    if (best < 0 || spectrum.power[k]! > spectrum.power[best]!) best = k;
  }
  return best < 0 ? Number.NaN : spectrum.freqHz[best]! * 60;
}
