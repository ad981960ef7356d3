import {
  type FeatureExtractor,
  loadFrameSet,
  saveHead,
  trainHead,
  type WeightsProvenance,
} from "@hrpipe/model";
import {
  artifactKeys,
  BadInputError,
  type Logger,
  type ProtocolName,
  putJson,
  readManifest,
  type Storage,
  type TrainOptions,
  videoRef,
} from "@hrpipe/queue";

export interface TrainJobInput {
  runId: string;
  protocol: ProtocolName;
  fold: number;
  options: TrainOptions;
}

export interface TrainJobResult {
  modelPrefix: string;
  trainVideos: number;
  samples: number;
  trainSamples: number;
  valSamples: number;
  valRmseBpm: number;
  bestEpoch: number;
  backend: string;
  featureShards: { cached: number; computed: number };
  weights: WeightsProvenance;
}

export interface TrainJobContext {
  storage: Storage;
  /** The backbone, created on first use (building DenseNet-161 takes seconds). */
  extractor: () => Promise<FeatureExtractor>;
  logger?: Logger;
  progress?: (stage: string, done: number, total: number) => void;
}

/**
 * Trains the regression head of one protocol: the training videos' face crops joined with their
 * per-frame ECG labels, DenseNet features (cached by weights hash), the head trained and saved with
 * its curves and the list of samples it saw.
 */
export async function processTrainJob(
  input: TrainJobInput,
  context: TrainJobContext,
): Promise<TrainJobResult> {
  const { storage } = context;
  const manifest = await readManifest(storage, input.runId);
  const split = manifest.splits[input.protocol];
  if (!split)
    throw new BadInputError(
      `run ${input.runId} has no ${input.protocol} split in its manifest; re-run the ingest.`,
    );
  const wanted = new Set(split.train);
  const videos = manifest.artifacts.filter((v) => wanted.has(videoRef(v.participant, v.videoId)));
  if (videos.length === 0) {
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: no training video has both labels and faces (see the manifest's exclusions).`,
    );
  }
  const extractor = await context.extractor();
  const frames = await loadFrameSet(storage, extractor, videos, (done, total) =>
    context.progress?.("features", done, total),
  );
  if (frames.hrBpm.length < 10) {
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: only ${frames.hrBpm.length} labelled face frames to train on.`,
    );
  }
  const head = await trainHead(frames.features, frames.hrBpm, {
    ...input.options,
    onEpoch: (curve) => {
      context.progress?.("epochs", curve.epoch, input.options.epochs);
      context.logger?.debug(curve, "epoch");
    },
  });
  const modelPrefix = `runs/${input.runId}/models/${input.protocol}`;
  await saveHead(head, storage, modelPrefix);
  await putJson(storage, artifactKeys.model(input.runId, input.protocol, "curves.json"), {
    bestEpoch: head.bestEpoch,
    valRmseBpm: head.valRmse,
    lossUnits: "mean squared error of standardised labels",
    epochs: head.curves,
  });
  const valSet = new Set(head.valIndices);
  await putJson(storage, artifactKeys.model(input.runId, input.protocol, "samples.json"), {
    columns: ["participant", "videoId", "frameIndex", "hrBpm", "split"],
    rows: frames.frameIndex.map((frame, i) => [
      frames.participant[i],
      frames.videoId[i],
      frame,
      frames.hrBpm[i],
      valSet.has(i) ? "validation" : "train",
    ]),
  });
  await putJson(storage, artifactKeys.model(input.runId, input.protocol, "provenance.json"), {
    weights: extractor.provenance,
    backend: head.backend,
    options: input.options,
    trainVideos: videos.map((v) => videoRef(v.participant, v.videoId)),
  });
  context.logger?.info(
    { samples: frames.hrBpm.length, valRmseBpm: head.valRmse, bestEpoch: head.bestEpoch },
    "head trained",
  );
  head.model.dispose();
  return {
    modelPrefix,
    trainVideos: videos.length,
    samples: frames.hrBpm.length,
    trainSamples: head.trainIndices.length,
    valSamples: head.valIndices.length,
    valRmseBpm: head.valRmse,
    bestEpoch: head.bestEpoch,
    backend: head.backend,
    featureShards: { cached: frames.cachedShards, computed: frames.computedShards },
    weights: extractor.provenance,
  };
}
