import { butterworthBandpass, sosFiltFilt } from "../filters.ts";

/** What every rPPG method shares: the trace's layout, the pulse band, the band-pass, mean and spread. */

/** Mean skin colour per frame, [frames, 3] row-major (R, G, B), as the traces shards hold it. */
export type RgbTrace = Float32Array | Float64Array;

/** The band heart rates live in: 0.7-3 Hz = 42-180 bpm. */
export const pulseBandHz = { low: 0.7, high: 3 } as const;

export function channel(rgb: RgbTrace, c: number): Float64Array {
  return Float64Array.from({ length: rgb.length / 3 }, (_, i) => rgb[i * 3 + c]!);
}

/** A zero-phase Butterworth band-pass over the pulse band (or `band`), its top kept below Nyquist. */
export function bandpassPulse(
  x: Float64Array,
  fsHz: number,
  order = 2,
  band: { low: number; high: number } = pulseBandHz,
): Float64Array {
  if (x.length < 16) return x;
  return sosFiltFilt(butterworthBandpass(order, band.low, Math.min(band.high, fsHz / 2 - 0.1), fsHz), x);
}

export function mean(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]!;
  return sum / (to - from);
}

export function std(x: ArrayLike<number>): number {
  const m = mean(x);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i]! - m) ** 2;
  return Math.sqrt(sum / x.length);
}

/**
 * x centred on its mean and divided by its standard deviation (by 1 where it has none); NaN values
 * are left out of both and stay NaN (a label with frames the reference does not cover).
 */
export function standardised(x: ArrayLike<number>): Float64Array {
  const values = Array.from(x).filter(Number.isFinite);
  const m = mean(values);
  const s = std(values) || 1;
  return Float64Array.from(x, (v) => (v - m) / s);
}
