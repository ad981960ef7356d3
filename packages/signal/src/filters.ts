/**
 * IIR filters as cascades of second-order sections (SOS), the numerically robust form scipy uses.
 * A section is [b0, b1, b2, a0, a1, a2] with a0 = 1; frequencies are in Hz with the sampling rate fsHz.
 */
export type Section = readonly [number, number, number, number, number, number];
export type Sos = readonly Section[];

interface Complex {
  re: number;
  im: number;
}

function bilinear(s: Complex, fsHz: number): Complex {
  // z = (2fs + s) / (2fs - s)
  const k = 2 * fsHz;
  const numRe = k + s.re;
  const denRe = k - s.re;
  const denIm = -s.im;
  const den = denRe * denRe + denIm * denIm;
  return { re: (numRe * denRe + s.im * denIm) / den, im: (s.im * denRe - numRe * denIm) / den };
}

/** Butterworth analog prototype poles in the left half-plane, one per conjugate pair (plus the real pole). */
function prototypePoles(order: number): Complex[] {
  const poles: Complex[] = [];
  for (let k = 0; k < Math.floor(order / 2); k++) {
    const theta = (Math.PI * (2 * k + 1 + order)) / (2 * order);
    poles.push({ re: Math.cos(theta), im: Math.sin(theta) });
  }
  if (order % 2 === 1) poles.push({ re: -1, im: 0 });
  return poles;
}

function checkBand(what: string, hz: number, fsHz: number): void {
  if (!(hz > 0 && hz < fsHz / 2))
    throw new RangeError(`${what} ${hz} Hz must lie between 0 and the Nyquist frequency ${fsHz / 2} Hz.`);
}

function butterworth(order: number, cutoffHz: number, fsHz: number, kind: "lowpass" | "highpass"): Sos {
  if (!Number.isInteger(order) || order < 1 || order > 12)
    throw new RangeError(`filter order ${order} must be an integer from 1 to 12.`);
  checkBand(`${kind} cutoff`, cutoffHz, fsHz);
  const warped = 2 * fsHz * Math.tan((Math.PI * cutoffHz) / fsHz);
  const sections: Section[] = [];
  for (const p of prototypePoles(order)) {
    // lowpass: s = wc * p; highpass: s = wc / p = wc * conj(p) / |p|^2 (|p| = 1)
    const s =
      kind === "lowpass"
        ? { re: warped * p.re, im: warped * p.im }
        : { re: warped * p.re, im: -warped * p.im };
    const z = bilinear(s, fsHz);
    const zeroSign = kind === "lowpass" ? 1 : -1; // zeros at z = -1 (lowpass) or z = +1 (highpass)
    if (Math.abs(p.im) < 1e-12) sections.push([1, zeroSign, 0, 1, -z.re, 0]);
    else sections.push([1, 2 * zeroSign, 1, 1, -2 * z.re, z.re * z.re + z.im * z.im]);
  }
  // Unit gain where the filter passes: DC for a lowpass, Nyquist for a highpass.
  return normalise(sections, kind === "lowpass" ? 0 : fsHz / 2, fsHz);
}

function normalise(sections: Section[], atHz: number, fsHz: number): Sos {
  const gain = sosGain(sections, atHz, fsHz);
  const [b0, b1, b2, a0, a1, a2] = sections[0]!;
  sections[0] = [b0 / gain, b1 / gain, b2 / gain, a0, a1, a2];
  return sections;
}

export function butterworthLowpass(order: number, cutoffHz: number, fsHz: number): Sos {
  return butterworth(order, cutoffHz, fsHz, "lowpass");
}

export function butterworthHighpass(order: number, cutoffHz: number, fsHz: number): Sos {
  return butterworth(order, cutoffHz, fsHz, "highpass");
}

function complexSqrt(z: Complex): Complex {
  const modulus = Math.hypot(z.re, z.im);
  const re = Math.sqrt((modulus + z.re) / 2);
  const im = Math.sqrt(Math.max(0, (modulus - z.re) / 2));
  return { re, im: z.im < 0 ? -im : im };
}

/**
 * Butterworth band-pass of prototype order `order` (2 x order poles), designed as scipy.signal.butter
 * designs it (low-pass prototype, low-pass to band-pass transform, bilinear transform with
 * pre-warped edges), so that filters named in a paper's or a toolkit's Python code mean the same here.
 * Unit gain at the band's (warped) geometric centre and 1/sqrt(2) at both edges.
 */
export function butterworthBandpass(order: number, lowHz: number, highHz: number, fsHz: number): Sos {
  if (!Number.isInteger(order) || order < 1 || order > 12)
    throw new RangeError(`filter order ${order} must be an integer from 1 to 12.`);
  if (!(lowHz < highHz)) throw new RangeError(`band-pass edges ${lowHz}-${highHz} Hz must be increasing.`);
  checkBand("band-pass low edge", lowHz, fsHz);
  checkBand("band-pass high edge", highHz, fsHz);
  const low = 2 * fsHz * Math.tan((Math.PI * lowHz) / fsHz);
  const high = 2 * fsHz * Math.tan((Math.PI * highHz) / fsHz);
  const bandwidth = high - low;
  const centre2 = low * high;
  // Every section takes one zero at z = 1 (s = 0) and one at z = -1 (s = infinity): b = [1, 0, -1].
  const sections: Section[] = [];
  for (const p of prototypePoles(order)) {
    // Each prototype pole p maps to the roots of s^2 - p B s + w0^2: s = pB/2 +/- sqrt((pB/2)^2 - w0^2).
    const half = { re: (p.re * bandwidth) / 2, im: (p.im * bandwidth) / 2 };
    const root = complexSqrt({ re: half.re ** 2 - half.im ** 2 - centre2, im: 2 * half.re * half.im });
    const poles = [
      { re: half.re + root.re, im: half.im + root.im },
      { re: half.re - root.re, im: half.im - root.im },
    ];
    if (Math.abs(p.im) < 1e-12 && Math.abs(root.im) < 1e-12) {
      // A real prototype pole with two real band-pass poles: one section holds both.
      const [z1, z2] = poles.map((s) => bilinear(s, fsHz).re) as [number, number];
      sections.push([1, 0, -1, 1, -(z1 + z2), z1 * z2]);
    } else if (Math.abs(p.im) < 1e-12) {
      const z = bilinear(poles[0]!, fsHz);
      sections.push([1, 0, -1, 1, -2 * z.re, z.re * z.re + z.im * z.im]);
    } else {
      // A conjugate pair of prototype poles gives two conjugate pairs of band-pass poles.
      for (const s of poles) {
        const z = bilinear(s, fsHz);
        sections.push([1, 0, -1, 1, -2 * z.re, z.re * z.re + z.im * z.im]);
      }
    }
  }
  const centreHz = (fsHz / Math.PI) * Math.atan(Math.sqrt(centre2) / (2 * fsHz));
  return normalise(sections, centreHz, fsHz);
}

/** Second-order notch at notchHz with quality factor q (bandwidth notchHz / q), as scipy.signal.iirnotch. */
export function notch(notchHz: number, q: number, fsHz: number): Sos {
  checkBand("notch frequency", notchHz, fsHz);
  const w0 = (2 * Math.PI * notchHz) / fsHz;
  const beta = Math.tan(w0 / q / 2);
  const gain = 1 / (1 + beta);
  const c = -2 * Math.cos(w0);
  return [[gain, gain * c, gain, 1, gain * c, 2 * gain - 1]];
}

/**
 * A notch at 0 Hz (a DC blocker, y[n] = g (x[n] - x[n-1]) + r y[n-1]) whose -3 dB point is cutoffHz:
 * the classic notch-filter removal of ECG baseline wander, with unit gain at Nyquist.
 */
export function dcNotch(cutoffHz: number, fsHz: number): Sos {
  checkBand("baseline cutoff", cutoffHz, fsHz);
  const r = Math.exp((-2 * Math.PI * cutoffHz) / fsHz);
  const g = (1 + r) / 2;
  return [[g, -g, 0, 1, -r, 0]];
}

/** |H(e^{jw})| of a cascade at frequency hz. */
export function sosGain(sos: Sos, hz: number, fsHz: number): number {
  const w = (2 * Math.PI * hz) / fsHz;
  const c1 = Math.cos(w);
  const s1 = Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = Math.sin(2 * w);
  let gain = 1;
  for (const [b0, b1, b2, a0, a1, a2] of sos) {
    const numRe = b0 + b1 * c1 + b2 * c2;
    const numIm = -(b1 * s1 + b2 * s2);
    const denRe = a0 + a1 * c1 + a2 * c2;
    const denIm = -(a1 * s1 + a2 * s2);
    gain *= Math.hypot(numRe, numIm) / Math.hypot(denRe, denIm);
  }
  return gain;
}

/** Causal filtering, transposed direct form II per section; `initialInput` starts every section at its steady state for that input. */
export function sosFilter(sos: Sos, x: Float64Array, initialInput?: number): Float64Array {
  const y = Float64Array.from(x);
  let steadyIn = initialInput ?? 0;
  for (const [b0, b1, b2, , a1, a2] of sos) {
    let z1 = 0;
    let z2 = 0;
    if (initialInput !== undefined) {
      const dcGain = (b0 + b1 + b2) / (1 + a1 + a2);
      const out = dcGain * steadyIn;
      z1 = out - b0 * steadyIn;
      z2 = b2 * steadyIn - a2 * out;
      steadyIn = out;
    }
    for (let n = 0; n < y.length; n++) {
      const input = y[n]!;
      const output = b0 * input + z1;
      z1 = b1 * input - a1 * output + z2;
      z2 = b2 * input - a2 * output;
      y[n] = output;
    }
  }
  return y;
}

/**
 * Zero-phase filtering (forward, then backward), as scipy.signal.sosfiltfilt: the signal is extended at
 * both ends by odd reflection and each pass starts at its steady state, so edges carry no transient.
 * The magnitude response is the filter's squared. Input must be finite.
 */
export function sosFiltFilt(sos: Sos, x: Float64Array, padLength = 3 * (2 * sos.length + 1)): Float64Array {
  const n = x.length;
  if (n === 0) return new Float64Array(0);
  const pad = Math.min(padLength, n - 1);
  const extended = new Float64Array(n + 2 * pad);
  const first = x[0]!;
  const last = x[n - 1]!;
  for (let i = 0; i < pad; i++) {
    extended[i] = 2 * first - x[pad - i]!;
    extended[n + pad + i] = 2 * last - x[n - 2 - i]!;
  }
  extended.set(x, pad);
  const forward = sosFilter(sos, extended, extended[0]);
  forward.reverse();
  const backward = sosFilter(sos, forward, forward[0]);
  backward.reverse();
  return backward.slice(pad, pad + n);
}
