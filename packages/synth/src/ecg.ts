import { seededNormal } from "@hrpipe/contracts";
import type { MatWritable } from "@hrpipe/matfile";

export const ecgSampleRateHz = 128;

interface Wave {
  offsetS: number;
  amplitude: number;
  widthS: number;
}

/** Sum-of-Gaussians PQRST around an R peak at 0 s (McSharry-style), in mV. */
function pqrst(rrS: number): Wave[] {
  const qt = 0.4 * Math.sqrt(rrS); // Bazett: the T wave moves with the rate
  return [
    { offsetS: -0.17, amplitude: 0.12, widthS: 0.025 },
    { offsetS: -0.03, amplitude: -0.12, widthS: 0.01 },
    { offsetS: 0, amplitude: 1.1, widthS: 0.011 },
    { offsetS: 0.03, amplitude: -0.25, widthS: 0.012 },
    { offsetS: qt * 0.7, amplitude: 0.3, widthS: 0.045 },
  ];
}

export interface EcgTrialSpec {
  beatTimesS: number[];
  durationS: number;
  seed: number;
  /** Standard deviation of white noise, mV. */
  noiseMv?: number;
}

/**
 * One AMIGOS-style trial: joined_data T x 17 at 128 Hz (column-major), EEG-like noise in 0-13, the
 * ECG on the right (14) and left (15) arm leads with baseline wander and 50 Hz mains, GSR in 16.
 */
export function ecgTrial(spec: EcgTrialSpec): { dims: [number, number]; data: Float64Array } {
  const rows = Math.round(spec.durationS * ecgSampleRateHz);
  const normal = seededNormal(spec.seed);
  const ecg = new Float64Array(rows);
  spec.beatTimesS.forEach((beatS, i) => {
    const rrS = i > 0 ? beatS - spec.beatTimesS[i - 1]! : (spec.beatTimesS[1] ?? beatS + 1) - beatS;
    for (const wave of pqrst(rrS)) {
      const centre = (beatS + wave.offsetS) * ecgSampleRateHz;
      const reach = Math.ceil(4 * wave.widthS * ecgSampleRateHz);
      for (
        let n = Math.max(0, Math.floor(centre - reach));
        n <= Math.min(rows - 1, Math.ceil(centre + reach));
        n++
      ) {
        const z = (n - centre) / (wave.widthS * ecgSampleRateHz);
        ecg[n]! += wave.amplitude * Math.exp(-0.5 * z * z);
      }
    }
  });
  const noiseMv = spec.noiseMv ?? 0.03;
  const data = new Float64Array(rows * 17);
  for (let n = 0; n < rows; n++) {
    const t = n / ecgSampleRateHz;
    const wander =
      0.25 * Math.sin(2 * Math.PI * 0.25 * t + spec.seed) + 0.1 * Math.sin(2 * Math.PI * 0.07 * t);
    const mains = 0.04 * Math.sin(2 * Math.PI * 50 * t);
    for (let c = 0; c < 14; c++) data[c * rows + n] = 8 * normal();
    data[14 * rows + n] = 0.8 * ecg[n]! + wander + mains + noiseMv * normal();
    data[15 * rows + n] = ecg[n]! + 0.8 * wander + mains + noiseMv * normal();
    data[16 * rows + n] = 2 + 0.2 * Math.sin(2 * Math.PI * 0.01 * t + spec.seed) + 0.005 * normal();
  }
  return { dims: [rows, 17], data };
}

/** The other variables of an AMIGOS Data_Preprocessed file, so the layout is complete. */
export function amigosMatVariables(
  trials: { videoId: string; joined: { dims: [number, number]; data: Float64Array } }[],
): Record<string, MatWritable> {
  return {
    joined_data: trials.map((t) => t.joined),
    VideoIDs: trials.map((t) => t.videoId),
    labels_selfassessment: trials.map(() => ({
      dims: [1, 12] as [number, number],
      data: new Float64Array(12).fill(5),
    })),
    labels_ext_annotation: trials.map(() => ({
      dims: [1, 3] as [number, number],
      data: new Float64Array(3).fill(0),
    })),
  };
}
