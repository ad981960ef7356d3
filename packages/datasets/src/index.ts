import { amigos } from "./amigos.ts";
import { generic } from "./generic.ts";
import type { DatasetLayout, LayoutName } from "./layout.ts";
import { pure } from "./pure.ts";
import { ubfcRppg } from "./ubfc-rppg.ts";
import { videos } from "./videos.ts";

export * from "./amigos.ts";
export * from "./generic.ts";
export * from "./layout.ts";
export * from "./pure.ts";
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
export * from "./reference-rate.ts";
