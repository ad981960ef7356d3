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

/** What planning needs of a probed video (VideoInfo). */
export interface FrameGrid {
  frameCount: number;
  fps: number;
  keyframeTimesS: number[];
  longestFrameGapS: number;
}

/**
 * Splits a video's frames into segments of `segmentS` seconds; each segment's chunk starts at the
 * last keyframe at or before its first frame and runs past its last frame by the longest gap between
 * coded frames, so that it holds the coded frame that decodes into each of its frames. Times are
 * frame k at k / fps.
 */
export function planSegments(video: FrameGrid, segmentS: number): SegmentPlan[] {
  const { frameCount, fps } = video;
  const framesPerSegment = Math.max(1, Math.round(segmentS * fps));
  const keyframes = video.keyframeTimesS.length > 0 ? video.keyframeTimesS : [0];
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
      chunkDurationS: endS - keyframe + Math.max(1 / fps, video.longestFrameGapS),
    });
  }
  return plans;
}
