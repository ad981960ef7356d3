import type { LayoutName } from "@hrpipe/contracts";
import { amigos } from "./amigos.ts";
import { generic, parseFrameTimes } from "./generic.ts";
import type { DatasetLayout, ReferenceSignal, ReferenceSource } from "./layout.ts";
import { pure } from "./pure.ts";
import { ubfcRppg } from "./ubfc-rppg.ts";
import { videos } from "./videos.ts";

export * from "./amigos.ts";
export * from "./generic.ts";
export * from "./layout.ts";
export * from "./pure.ts";
export * from "./rgb-trace.ts";
export * from "./ubfc-rppg.ts";
export * from "./videos.ts";

/** Every layout, in the order detection tries them: the most specific first, plain videos last. */
export const layouts: Record<LayoutName, DatasetLayout> = {
  amigos,
  generic,
  "ubfc-rppg": ubfcRppg,
  pure,
  videos,
};

/** The layout a listing looks like: AMIGOS's files, a manifest, UBFC's or PURE's reference files, else a folder of videos. */
export function detectLayout(files: string[]): DatasetLayout | undefined {
  return Object.values(layouts).find((layout) => layout.detect(files));
}

/** Where a video's reference is: its layout's file, and the frame-times table a manifest may name. */
export interface ReferenceFiles extends ReferenceSource {
  layout: LayoutName;
  frameTimes?: { file: string; column?: string };
}

/**
 * A video's reference as its layout reads it, with the frames' own times on the reference's clock
 * where the dataset records them: in the reference itself (UBFC-rPPG, PURE) or in a frame-times table.
 */
export function readReference(
  reference: ReferenceFiles,
  texts: { reference: string; frameTimes?: string },
): { signal: ReferenceSignal; frameTimeS?: Float64Array } {
  const signal = layouts[reference.layout].parseReference(reference, texts.reference);
  const frameTimeS =
    signal.frameTimeS ??
    (reference.frameTimes && texts.frameTimes !== undefined
      ? parseFrameTimes(reference.frameTimes, texts.frameTimes)
      : undefined);
  return frameTimeS ? { signal, frameTimeS } : { signal };
}

export * from "./reference-rate.ts";
