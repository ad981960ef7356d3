/** A run of consecutive frames, the unit of a face job. */
export interface SegmentPlan {
  segment: number;
  firstFrame: number;
  frameCount: number;
  /** The keyframe the segment's chunk starts at (decoding must start there). */
  chunkStartS: number;
  /** Length of the chunk from chunkStartS to the end of the segment's last frame. */
  chunkDurationS: number;
}

/**
 * Splits `frameCount` frames into segments of `segmentS` seconds; each segment's chunk starts at the
 * last keyframe at or before its first frame. Times are frame k at k / fps.
 */
export function planSegments(
  frameCount: number,
  fps: number,
  segmentS: number,
  keyframesS: number[],
): SegmentPlan[] {
  const framesPerSegment = Math.max(1, Math.round(segmentS * fps));
  const keyframes = keyframesS.length > 0 ? keyframesS : [0];
  const plans: SegmentPlan[] = [];
  for (let first = 0, segment = 0; first < frameCount; first += framesPerSegment, segment++) {
    const count = Math.min(framesPerSegment, frameCount - first);
    const firstS = first / fps;
    // Half a frame of tolerance: container timestamps are rounded.
    const keyframe = keyframes.filter((t) => t <= firstS + 0.5 / fps).pop() ?? keyframes[0]!;
    const endS = (first + count) / fps;
    plans.push({
      segment,
      firstFrame: first,
      frameCount: count,
      chunkStartS: keyframe,
      chunkDurationS: endS - keyframe + 1 / fps,
    });
  }
  return plans;
}
