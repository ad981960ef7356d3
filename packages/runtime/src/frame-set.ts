import { decodeFeaturesShard, type LabelledVideo, trialLabelsSchema } from "@hrpipe/contracts";
import { readArtifact } from "./artifact-io.ts";
import type { Storage } from "./storage/index.ts";

/** Frames of some videos with a face crop and a reference label, joined, with their CNN features. */
export interface FrameSet {
  participant: string[];
  videoId: string[];
  frameIndex: number[];
  /** The reference label of each frame, bpm. */
  hrBpm: Float32Array;
  /** DenseNet features, [frames, featureDim]. */
  features: Float32Array;
  featureDim: number;
  /** Features shards read. */
  shards: number;
  /** Segments without features (their features job failed; the manifest's exclusions say why). */
  segmentsWithoutFeatures: number;
  /** Embedded frames without a label (null in the label file, or past its end). */
  unlabelled: number;
}

/**
 * Joins the features the features stage wrote for `videos` with their per-frame labels; frames
 * without a label are dropped. Nothing is embedded here: train and eval read cached features only.
 */
export async function loadFrameSet(
  storage: Storage,
  videos: LabelledVideo[],
  onShard?: (done: number, total: number) => void,
): Promise<FrameSet> {
  const set: FrameSet = {
    participant: [],
    videoId: [],
    frameIndex: [],
    hrBpm: new Float32Array(0),
    features: new Float32Array(0),
    featureDim: 0,
    shards: 0,
    segmentsWithoutFeatures: 0,
    unlabelled: 0,
  };
  const labels: number[] = [];
  const rows: Float32Array[] = [];
  const totalShards = videos.reduce((sum, v) => sum + v.segments.length, 0);
  let shardsDone = 0;
  for (const video of videos) {
    const videoLabels = await readArtifact(storage, video.labelsKey, trialLabelsSchema);
    for (const segment of video.segments) {
      onShard?.(++shardsDone, totalShards);
      if (!segment.featuresKey) {
        set.segmentsWithoutFeatures++;
        continue;
      }
      const shard = decodeFeaturesShard(await storage.get(segment.featuresKey), segment.featuresKey);
      if (set.featureDim !== 0 && shard.featureDim !== set.featureDim)
        throw new Error(
          `${segment.featuresKey} holds ${shard.featureDim} features per frame where the run's other shards hold ${set.featureDim}; every features worker must run the same backbone (HRPIPE_DENSENET_WEIGHTS).`,
        );
      set.featureDim = shard.featureDim;
      set.shards++;
      shard.frameIndex.forEach((frame, row) => {
        // Labels are computed at the ECG stage's fps; map the video frame to the label frame by time.
        const hr = videoLabels.hrBpm[Math.round((frame / video.fps) * videoLabels.fps)];
        if (hr === null || hr === undefined) {
          set.unlabelled++;
          return;
        }
        set.participant.push(video.participant);
        set.videoId.push(video.videoId);
        set.frameIndex.push(frame);
        labels.push(hr);
        rows.push(shard.features.subarray(row * shard.featureDim, (row + 1) * shard.featureDim));
      });
    }
  }
  set.hrBpm = Float32Array.from(labels);
  set.features = new Float32Array(rows.length * set.featureDim);
  for (const [i, row] of rows.entries()) set.features.set(row, i * set.featureDim);
  return set;
}
