import { channel, type RgbTrace } from "./common.ts";

/** GREEN (Verkruysse, Svaasand & Nelson 2008): the green channel, where haemoglobin absorbs most. */
export function greenPulse(rgb: RgbTrace): Float64Array {
  return channel(rgb, 1);
}
