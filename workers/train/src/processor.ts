import {
  addresses,
  artifactKeys,
  headFiles,
  headSummarySchema,
  layersModelSchema,
  modelProvenanceSchema,
  type ProtocolName,
  splitVideos,
  type TrainedOn,
  type TrainJobResult,
  type TrainOptions,
  trainingCurvesSchema,
  trainingSamplesSchema,
  videoRef,
} from "@hrpipe/contracts";
import { serialiseHead, trainHead } from "@hrpipe/model";
import {
  BadInputError,
  type Logger,
  loadFrameSet,
  readArtifact,
  readManifest,
  type Storage,
  writeArtifact,
} from "@hrpipe/runtime";

export interface TrainJobInput {
  runId: string;
  protocol: ProtocolName;
  options: TrainOptions;
  /** cross-dataset: the earlier run and protocol whose head this run tests. */
  trainedOn?: TrainedOn;
}

export interface TrainJobContext {
  storage: Storage;
  logger?: Logger;
  progress?: (stage: string, done: number, total: number) => void;
}

/**
 * Trains the regression head of one protocol: the DenseNet features the features stage wrote for the
 * training videos, joined with their per-frame labels, the head trained with its curves and the list
 * of samples it saw. Nothing is embedded here, so its time does not depend on the backbone. The head
 * is stored under a content address of everything it was trained from (labels, features, options,
 * backbone), so a re-run on the same data reuses it, and the run's models folder gets a copy.
 */
export async function processTrainJob(
  input: TrainJobInput,
  context: TrainJobContext,
): Promise<TrainJobResult> {
  if (input.protocol === "cross-dataset") return adoptHead(input, context);
  const { storage } = context;
  const manifest = await readManifest(storage, input.runId);
  const split = manifest.splits[input.protocol];
  if (!split)
    throw new BadInputError(
      `run ${input.runId} has no ${input.protocol} split in its manifest; re-run the ingest.`,
    );
  const videos = splitVideos(manifest, split.train);
  if (videos.length === 0) {
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: no training video has both labels and faces (see the manifest's exclusions).`,
    );
  }
  const backbone = manifest.features;
  if (!backbone)
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: the manifest names no features (every features job failed; see its exclusions).`,
    );
  const headHash = addresses.head({
    trainSet: videos
      .map((video) => ({
        labelsKey: video.labelsKey,
        featuresKeys: video.segments.flatMap((segment) => segment.featuresKey ?? []),
      }))
      .sort((a, b) => a.labelsKey.localeCompare(b.labelsKey)),
    weightsHash: backbone.weights.weightsHash,
    options: input.options,
  });
  const modelPrefix = `runs/${input.runId}/models/${input.protocol}`;
  const reused = await storage.exists(artifactKeys.head(headHash, "head.json"));
  let featureShards = 0;
  if (reused) {
    context.logger?.info({ headHash }, "head exists for these inputs and options; reusing it");
  } else {
    const frames = await loadFrameSet(storage, videos, (done, total) =>
      context.progress?.("features", done, total),
    );
    featureShards = frames.shards;
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
    const files = await serialiseHead(head);
    const valSet = new Set(head.valIndices);
    await storage.put(artifactKeys.head(headHash, "weights.bin"), files.weightsBin);
    await storage.put(artifactKeys.head(headHash, "head.safetensors"), files.safetensors);
    await writeArtifact(
      storage,
      artifactKeys.head(headHash, "model.json"),
      layersModelSchema,
      files.modelJson,
    );
    await writeArtifact(storage, artifactKeys.head(headHash, "curves.json"), trainingCurvesSchema, {
      bestEpoch: head.bestEpoch,
      valRmseBpm: head.valRmse,
      lossUnits: "mean squared error of standardised labels",
      epochs: head.curves,
    });
    await writeArtifact(storage, artifactKeys.head(headHash, "samples.json"), trainingSamplesSchema, {
      columns: ["participant", "videoId", "frameIndex", "hrBpm", "split"],
      rows: frames.frameIndex.map((frame, i): [string, string, number, number, "train" | "validation"] => [
        frames.participant[i]!,
        frames.videoId[i]!,
        frame,
        frames.hrBpm[i]!,
        valSet.has(i) ? "validation" : "train",
      ]),
    });
    // Last: its presence marks the head complete.
    await writeArtifact(storage, artifactKeys.head(headHash, "head.json"), headSummarySchema, {
      ...files.info,
      samples: frames.hrBpm.length,
      valRmseBpm: head.valRmse,
    });
    head.model.dispose();
    context.logger?.info(
      { samples: frames.hrBpm.length, valRmseBpm: head.valRmse, bestEpoch: head.bestEpoch },
      "head trained",
    );
  }
  for (const file of headFiles) {
    await storage.put(
      artifactKeys.model(input.runId, input.protocol, file),
      await storage.get(artifactKeys.head(headHash, file)),
    );
  }
  const info = await readArtifact(storage, artifactKeys.head(headHash, "head.json"), headSummarySchema);
  await writeArtifact(
    storage,
    artifactKeys.model(input.runId, input.protocol, "provenance.json"),
    modelProvenanceSchema,
    {
      weights: backbone.weights,
      backend: info.backend,
      options: input.options,
      trainVideos: videos.map((v) => videoRef(v.participant, v.videoId)),
      headHash,
    },
  );
  return {
    modelPrefix,
    headHash,
    trainVideos: videos.length,
    samples: info.samples,
    valRmseBpm: Number.isFinite(info.valRmseBpm) ? info.valRmseBpm : null,
    bestEpoch: info.bestEpoch,
    backend: info.backend,
    featureShards,
    reused,
  };
}

/**
 * cross-dataset: no training. The head another run trained (on another dataset or layout) is copied
 * into this run's models folder with its provenance, so eval tests it on this run's videos exactly as
 * it tests a head trained here; eval refuses it if its backbone differs from the eval worker's.
 */
async function adoptHead(input: TrainJobInput, context: TrainJobContext): Promise<TrainJobResult> {
  const { storage } = context;
  const source = input.trainedOn;
  if (!source)
    throw new BadInputError(
      `run ${input.runId}, cross-dataset: the train job names no run whose head to test.`,
    );
  const from = (file: Parameters<typeof artifactKeys.model>[2]) =>
    artifactKeys.model(source.runId, source.protocol, file);
  if (!(await storage.exists(from("head.json"))) || !(await storage.exists(from("provenance.json"))))
    throw new BadInputError(
      `run ${source.runId} has no trained head for ${source.protocol} in ${storage.url} (${from("head.json")}); train it first (hrpipe run or hrpipe ingest of that dataset), then test it here.`,
    );
  for (const file of [...headFiles, "provenance.json" as const])
    await storage.put(artifactKeys.model(input.runId, input.protocol, file), await storage.get(from(file)));
  const info = await readArtifact(storage, from("head.json"), headSummarySchema);
  const provenance = await readArtifact(storage, from("provenance.json"), modelProvenanceSchema);
  context.logger?.info({ from: source, headHash: provenance.headHash }, "head of another run adopted");
  return {
    modelPrefix: `runs/${input.runId}/models/${input.protocol}`,
    headHash: provenance.headHash,
    trainVideos: provenance.trainVideos.length,
    samples: info.samples,
    valRmseBpm: Number.isFinite(info.valRmseBpm) ? info.valRmseBpm : null,
    bestEpoch: info.bestEpoch,
    backend: info.backend,
    featureShards: 0,
    reused: true,
  };
}
