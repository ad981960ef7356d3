/** In-place iterative radix-2 FFT of (re, im); the length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`FFT length ${n} is not a power of two.`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const angle = (-2 * Math.PI) / size;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < size / 2; k++) {
        const a = start + k;
        const b = a + size / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
        const next = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = next;
      }
    }
  }
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

export interface PowerSpectrum {
  /** Frequency of bin k, Hz. */
  freqHz: Float64Array;
  power: Float64Array;
}

export interface PeriodogramOptions {
  /** Zero-pad to at least this many points, so that a peak can be located finer than 1 / duration. */
  minBins?: number;
  /** "hann" (the default) tapers the edges; "none" is scipy.signal.periodogram's boxcar. */
  taper?: "hann" | "none";
}

/** Periodogram of a mean-removed signal, Hann-tapered and zero-padded to 4096 points unless told otherwise. */
export function periodogram(
  signal: Float64Array,
  fsHz: number,
  options: PeriodogramOptions = {},
): PowerSpectrum {
  const n = signal.length;
  const minBins = options.minBins ?? 4096;
  const hann = (options.taper ?? "hann") === "hann";
  const size = nextPowerOfTwo(Math.max(minBins, n));
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  const mean = signal.reduce((s, v) => s + v, 0) / n;
  for (let i = 0; i < n; i++)
    re[i] = (signal[i]! - mean) * (hann ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / Math.max(1, n - 1)) : 1);
  fft(re, im);
  const bins = size / 2 + 1;
  const freqHz = new Float64Array(bins);
  const power = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    freqHz[k] = (k * fsHz) / size;
    power[k] = re[k]! ** 2 + im[k]! ** 2;
  }
  return { freqHz, power };
}

/** The frequency of the largest peak within [lowHz, highHz], refined by parabolic interpolation of log power. */
export function peakFrequency(spectrum: PowerSpectrum, lowHz: number, highHz: number): number {
  const { freqHz, power } = spectrum;
  let best = -1;
  for (let k = 1; k < freqHz.length - 1; k++) {
    if (freqHz[k]! < lowHz || freqHz[k]! > highHz) continue;
    if (best < 0 || power[k]! > power[best]!) best = k;
  }
  if (best < 0) return Number.NaN;
  const [a, b, c] = [
    Math.log(power[best - 1]! + 1e-300),
    Math.log(power[best]! + 1e-300),
    Math.log(power[best + 1]! + 1e-300),
  ];
  const curvature = a - 2 * b + c;
  const offset = curvature < 0 ? (0.5 * (a - c)) / curvature : 0;
  return freqHz[best]! + offset * (freqHz[1]! - freqHz[0]!);
}

/**
 * SNR as de Haan & Jeanne define it for rPPG: power within +/-0.1 Hz of the heart rate and +/-0.2 Hz of
 * its first harmonic against all other power in [lowHz, highHz], in dB.
 */
export function pulseSnrDb(spectrum: PowerSpectrum, hrHz: number, lowHz: number, highHz: number): number {
  let signal = 0;
  let noise = 0;
  for (let k = 0; k < spectrum.freqHz.length; k++) {
    const f = spectrum.freqHz[k]!;
    if (f < lowHz || f > highHz) continue;
    if (Math.abs(f - hrHz) <= 0.1 || Math.abs(f - 2 * hrHz) <= 0.2) signal += spectrum.power[k]!;
    else noise += spectrum.power[k]!;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1e-300));
}
