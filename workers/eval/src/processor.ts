import {
  artifactKeys,
  cnnWindowsSchema,
  type EvalJobResult,
  type EvalOptions,
  headSummarySchema,
  layersModelSchema,
  modelProvenanceSchema,
  type ProtocolName,
  type ProtocolReport,
  protocolReportSchema,
  referenceKindsOf,
  reportVersion,
  splitVideos,
  type TrainingCurves,
  trainingCurvesSchema,
  trialLabelsSchema,
} from "@hrpipe/contracts";
import { type LoadedHead, loadHead, predictHead } from "@hrpipe/model";
import { publishedRmse, renderHtml, renderSvg } from "@hrpipe/report";
import {
  BadInputError,
  type FrameSet,
  type Logger,
  loadFrameSet,
  loadVideoTraces,
  readArtifact,
  readManifest,
  type Storage,
  writeArtifact,
} from "@hrpipe/runtime";
import { compareWindows, protocolMetrics, type TestVideo, type WindowComparison } from "./evaluate.ts";
import { blandAltmanSpec, rmseBarsSpec, scatterSpec, trainingCurvesSpec } from "./figures.ts";

export interface EvalJobInput {
  runId: string;
  protocol: ProtocolName;
  options: EvalOptions;
}

export interface EvalJobContext {
  storage: Storage;
  logger?: Logger;
}

async function renderFigures(report: ProtocolReport, windows: WindowComparison[], curves: TrainingCurves) {
  return {
    "rmse-by-participant.svg": await renderSvg(rmseBarsSpec(report.metrics, report.protocol)),
    "scatter.svg": await renderSvg(scatterSpec(windows, report.protocol)),
    "bland-altman.svg": await renderSvg(blandAltmanSpec(windows, report.metrics, report.protocol)),
    "training-curves.svg": await renderSvg(trainingCurvesSpec(curves.epochs, report.protocol)),
  };
}

/**
 * Evaluates one protocol on its test split: CNN frame predictions and every rPPG method on the same
 * windows, metrics per participant and overall, report.json, report.html and SVG figures. When every
 * protocol of the run has a report, the run-level report combining them is (re)written too.
 */
export async function processEvalJob(input: EvalJobInput, context: EvalJobContext): Promise<EvalJobResult> {
  const { storage } = context;
  const manifest = await readManifest(storage, input.runId);
  const split = manifest.splits[input.protocol];
  if (!split)
    throw new BadInputError(`run ${input.runId} has no ${input.protocol} split; re-run the ingest.`);
  const videos = splitVideos(manifest, split.test);
  if (videos.length === 0)
    throw new BadInputError(
      `run ${input.runId}, ${input.protocol}: no test video has both labels and faces.`,
    );
  const modelKey = (file: Parameters<typeof artifactKeys.model>[2]) =>
    artifactKeys.model(input.runId, input.protocol, file);
  const info = await readArtifact(storage, modelKey("head.json"), headSummarySchema);
  const head: LoadedHead = await loadHead({
    modelJson: await readArtifact(storage, modelKey("model.json"), layersModelSchema),
    weightsBin: await storage.get(modelKey("weights.bin")),
    info,
  });
  const provenance = await readArtifact(storage, modelKey("provenance.json"), modelProvenanceSchema);
  const curves = await readArtifact(storage, modelKey("curves.json"), trainingCurvesSchema);
  const backbone = manifest.features?.weights;
  if (backbone?.weightsHash !== provenance.weights.weightsHash) {
    throw new BadInputError(
      backbone
        ? `the head of run ${input.runId}, ${input.protocol} was trained on backbone ${provenance.weights.weightsHash} but this run's features come from ${backbone.weightsHash}; give the features workers the same HRPIPE_DENSENET_WEIGHTS as the run that trained it.`
        : `run ${input.runId}, ${input.protocol}: the manifest names no features to test on (every features job failed; see its exclusions).`,
    );
  }
  const frames: FrameSet = await loadFrameSet(storage, videos);
  const predicted = predictHead(head, frames.features);
  head.model.dispose();

  const windows: WindowComparison[] = [];
  for (const video of videos) {
    const labels = await readArtifact(storage, video.labelsKey, trialLabelsSchema);
    const traces = await loadVideoTraces(storage, video);
    const test: TestVideo = { ...video, labels, ...traces };
    const rows = frames.participant.flatMap((p, i) =>
      p === video.participant && frames.videoId[i] === video.videoId ? [i] : [],
    );
    windows.push(
      ...compareWindows(
        test,
        {
          frameIndex: rows.map((i) => frames.frameIndex[i]!),
          predictedBpm: rows.map((i) => predicted[i]!),
          fps: manifest.options.features.fps ?? video.fps,
        },
        input.options,
      ),
    );
  }
  const metrics = protocolMetrics(frames, predicted, windows);
  const report: ProtocolReport = {
    reportVersion,
    runId: input.runId,
    protocol: input.protocol,
    createdAt: new Date().toISOString(),
    split,
    options: manifest.options,
    weights: provenance.weights,
    training: {
      samples: info.samples,
      bestEpoch: curves.bestEpoch,
      valRmseBpm: curves.valRmseBpm,
      backend: provenance.backend,
    },
    testFrames: frames.hrBpm.length,
    windows: { count: windows.length, ...input.options },
    metrics,
    published: publishedRmse[input.protocol]
      ? { meanRmse: publishedRmse[input.protocol]!.mean, medianRmse: publishedRmse[input.protocol]!.median }
      : null,
    exclusions: manifest.excluded,
    figures: {},
  };
  const figures = await renderFigures(report, windows, curves);
  for (const [name, svg] of Object.entries(figures)) {
    const key = artifactKeys.report(input.runId, input.protocol, name);
    await storage.put(key, svg);
    report.figures[name] = key;
  }
  await writeArtifact(
    storage,
    artifactKeys.report(input.runId, input.protocol, "windows.json"),
    cnnWindowsSchema,
    {
      protocol: input.protocol,
      windows: windows.map(({ participant, videoId, startS, endS, estimates }) => ({
        participant,
        videoId,
        startS,
        endS,
        hrBpm: estimates.cnn,
      })),
    },
  );
  const reportKey = artifactKeys.report(input.runId, input.protocol, "report.json");
  const htmlKey = artifactKeys.report(input.runId, input.protocol, "report.html");
  await writeArtifact(storage, reportKey, protocolReportSchema, report);
  await storage.put(
    htmlKey,
    renderHtml(
      {
        reportVersion,
        runId: input.runId,
        createdAt: report.createdAt,
        state: "done",
        protocols: { [input.protocol]: report },
        notEvaluated: [],
        exclusions: manifest.excluded,
        layout: manifest.layout,
        features: manifest.features,
        videos: [],
        videoMetrics: {},
        referenceKinds: referenceKindsOf(manifest),
      },
      { [input.protocol]: figures },
    ),
  );

  context.logger?.info(
    { protocol: input.protocol, windows: windows.length, cnnMeanRmse: metrics.headline.cnnFrames.meanRmse },
    "report written",
  );
  return {
    reportKey,
    htmlKey,
    windows: windows.length,
    featureShards: frames.shards,
    reused: false,
  };
}
