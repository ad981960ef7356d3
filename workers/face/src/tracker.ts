import type { Box } from "./image.ts";

/** A box per frame of a window: detected on some frames, interpolated between them, null where no face. */
export type FrameBoxes = (Box | null)[];

function lerp(a: Box, b: Box, t: number): Box {
  return {
    x: a.x + (b.x - a.x) * t,
    y: a.y + (b.y - a.y) * t,
    width: a.width + (b.width - a.width) * t,
    height: a.height + (b.height - a.height) * t,
  };
}

/**
 * Fills the frames between detections: linear interpolation between two detections (faces move
 * smoothly over a fifth of a second), the detection itself held at the ends of the window. Frames
 * between a detection and a miss stay null unless detected themselves; the caller detects those.
 */
export function interpolateBoxes(detections: Map<number, Box | null>, frameCount: number): FrameBoxes {
  const keys = [...detections.keys()].sort((a, b) => a - b);
  const boxes: FrameBoxes = new Array(frameCount).fill(null);
  for (const k of keys) boxes[k] = detections.get(k) ?? null;
  for (let i = 0; i + 1 < keys.length; i++) {
    const from = detections.get(keys[i]!);
    const to = detections.get(keys[i + 1]!);
    if (!from || !to) continue;
    for (let f = keys[i]! + 1; f < keys[i + 1]!; f++)
      boxes[f] = lerp(from, to, (f - keys[i]!) / (keys[i + 1]! - keys[i]!));
  }
  const first = keys[0];
  const last = keys[keys.length - 1];
  if (first !== undefined && detections.get(first))
    for (let f = 0; f < first; f++) boxes[f] = detections.get(first)!;
  if (last !== undefined && detections.get(last))
    for (let f = last + 1; f < frameCount; f++) boxes[f] = detections.get(last)!;
  return boxes;
}
