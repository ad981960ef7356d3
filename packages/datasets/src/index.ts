import type { LayoutName } from "@hrpipe/contracts";
import { amigos } from "./amigos.ts";
import { generic, parseFrameTimes } from "./generic.ts";
import { type DatasetLayout, type ReferenceSignal, type ReferenceSource, utf8 } from "./layout.ts";
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
  contents: { reference: Uint8Array; frameTimes?: Uint8Array },
): { signal: ReferenceSignal; frameTimeS?: Float64Array } {
  const layout = layouts[reference.layout];
  if (!layout.parseReference)
    throw new Error(
      `${reference.file}: the ${layout.name} layout has no references; plan the folder with the layout it is.`,
    );
  const signal = layout.parseReference(reference, contents.reference);
  const frameTimeS =
    signal.frameTimeS ??
    (reference.frameTimes && contents.frameTimes !== undefined
      ? parseFrameTimes(reference.frameTimes, utf8(contents.frameTimes))
      : undefined);
  return frameTimeS ? { signal, frameTimeS } : { signal };
}

export * from "./reference-rate.ts";
