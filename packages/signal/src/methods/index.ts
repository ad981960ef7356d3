import { chromPulse } from "./chrom.ts";
import type { RgbTrace } from "./common.ts";
import { greenPulse } from "./green.ts";
import { icaPulse } from "./ica.ts";
import { lgiPulse } from "./lgi.ts";
import { omitPulse } from "./omit.ts";
import { pbvPulse } from "./pbv.ts";
import { posPulse } from "./pos.ts";

export { bandpassPulse, channel, pulseBandHz, type RgbTrace, standardised } from "./common.ts";
/**
 * The classical rPPG methods, one file each as rPPG-Toolbox keeps them: each a pure function from a
 * mean-skin-colour trace to a pulse signal, written after its paper and checked against the toolbox's
 * implementation of it (the same RGB in gives the same pulse out, test/rppg-methods.test.ts).
 */
export { chromPulse, greenPulse, icaPulse, lgiPulse, omitPulse, pbvPulse, posPulse };

/** Every method, registered once, in the order reports list them: its raw pulse, before the post-processing every method shares. */
const registry = {
  pos: posPulse,
  chrom: chromPulse,
  omit: omitPulse,
  lgi: lgiPulse,
  pbv: pbvPulse,
  ica: icaPulse,
  green: greenPulse,
} satisfies Record<string, (rgb: RgbTrace, fsHz: number) => Float64Array>;

export type RppgMethod = keyof typeof registry;

/**
 * The sign that makes each method's pulse rise with blood volume, as a PPG's does (its systolic peaks
 * are maxima): GREEN is the skin's green intensity, which falls as blood absorbs more light, and
 * CHROM's X - alpha Y as the toolbox writes it falls too; POS, OMIT and LGI rise. ICA's component has
 * no sign of its own (+1 is a convention) and PBV's correlation with a PPG is weak either way. The
 * heart rate does not depend on it; beat times do. Checked against the PPG of every UBFC-rPPG
 * development video and PhysRecorder (`pnpm bench hrv`).
 */
export const bloodVolumeSign: Record<RppgMethod, 1 | -1> = {
  pos: 1,
  chrom: -1,
  omit: 1,
  lgi: 1,
  pbv: 1,
  ica: 1,
  green: -1,
};
/** Every method, in the order reports list them. */
export const rppgMethods = Object.keys(registry) as RppgMethod[];

/** A method's raw pulse signal, before the post-processing every method shares. */
export function methodPulse(method: RppgMethod, rgb: RgbTrace, fsHz: number): Float64Array {
  return registry[method](rgb, fsHz);
}
