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
  type RunManifest,
  referenceKindsOf,
  reportVersion,
  splitVideos,
  type TrainingCurves,
  trainingCurvesSchema,
  trialLabelsSchema,
  tunedName,
  videoRef,
} from "@hrpipe/contracts";
import { loadNetworkPulses, type ProtocolTunedNetworks, readTunedNetworks } from "@hrpipe/estimation";
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
import {
  type CnnFramePredictions,
  compareWindows,
  protocolMetrics,
  type TestVideo,
  type WindowComparison,
} from "./evaluate.ts";
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

async function renderFigures(
  report: ProtocolReport,
  windows: WindowComparison[],
  curves: TrainingCurves | null,
): Promise<Record<string, string>> {
  return {
    "rmse-by-participant.svg": await renderSvg(rmseBarsSpec(report.metrics, report.protocol)),
    "scatter.svg": await renderSvg(scatterSpec(windows, report.protocol)),
    "bland-altman.svg": await renderSvg(blandAltmanSpec(windows, report.metrics, report.protocol)),
    ...(curves
      ? { "training-curves.svg": await renderSvg(trainingCurvesSpec(curves.epochs, report.protocol)) }
      : {}),
  };
}

/** The CNN head a protocol trained (or a cross-dataset run names), run on the test videos' features. */
async function testCnn(
  storage: Storage,
  input: EvalJobInput,
  manifest: RunManifest,
  videos: ReturnType<typeof splitVideos>,
) {
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
    head.model.dispose();
    throw new BadInputError(
      backbone
        ? `the head of run ${input.runId}, ${input.protocol} was trained on backbone ${provenance.weights.weightsHash} but this run's features come from ${backbone.weightsHash}; give the features workers the same HRPIPE_DENSENET_WEIGHTS as the run that trained it.`
        : `run ${input.runId}, ${input.protocol}: the manifest names no features to test on (every features job failed; see its exclusions).`,
    );
  }
  const frames: FrameSet = await loadFrameSet(storage, videos);
  const predictedBpm = predictHead(head, frames.features);
  head.model.dispose();
  return {
    info,
    provenance,
    curves,
    frames,
    predictedBpm,
    videoPredictions(video: { participant: string; videoId: string; fps: number }): CnnFramePredictions {
      const rows = frames.participant.flatMap((p, i) =>
        p === video.participant && frames.videoId[i] === video.videoId ? [i] : [],
      );
      return {
        frameIndex: rows.map((i) => frames.frameIndex[i]!),
        predictedBpm: rows.map((i) => predictedBpm[i]!),
        fps: manifest.options.features.fps ?? video.fps,
      };
    },
  };
}

/** The run's networks, and what this protocol's train stage fine-tuned of each (the report says it). */
function protocolNetworks(
  manifest: RunManifest,
  tunedNetworks: ProtocolTunedNetworks,
): ProtocolReport["networks"] {
  const { protocol, documents } = tunedNetworks;
  return manifest.networks.map(({ name, architecture, trainedOn }) => {
    const tuned = documents[name] ?? null;
    return {
      name,
      architecture,
      trainedOn,
      tuned: tuned && {
        layers: tuned.layers,
        loss: tuned.loss,
        target: tuned.target,
        bestEpoch: tuned.bestEpoch,
        epochs: tuned.curve.length - 1,
        trainVideos: tuned.trainVideos.length,
        validationVideos: tuned.validationVideos.length,
        trainChunks: tuned.trainChunks,
        framesPerS: tuned.framesPerS,
        device: tuned.device,
        from: protocol === "cross-dataset" ? (manifest.options.trainedOn?.runId ?? null) : null,
      },
    };
  });
}

/**
 * Evaluates one protocol on its test split: every rPPG method, and the CNN's frame predictions where
 * the run has one, on the same windows, metrics per participant and overall, report.json, report.html and SVG figures. When every
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
  const cnn = manifest.options.cnn === "densenet" ? await testCnn(storage, input, manifest, videos) : null;
  const tuned = await readTunedNetworks(storage, manifest, input.protocol);
  const networkNames = manifest.networks.flatMap(({ name }) =>
    tuned.tails[name] ? [name, tunedName(name)] : [name],
  );

  const windows: WindowComparison[] = [];
  for (const video of videos) {
    const labels = await readArtifact(storage, video.labelsKey, trialLabelsSchema);
    const traces = await loadVideoTraces(storage, video);
    const networks = await loadNetworkPulses(storage, video, [tuned]);
    const missing = networkNames.filter((name) => !networks[name]);
    if (missing.length > 0) {
      // Every estimator is scored on the same windows: a video a network could not measure is left out.
      context.logger?.warn(
        { video: videoRef(video.participant, video.videoId), missing },
        "no network pulse",
      );
      continue;
    }
    const test: TestVideo = { ...video, labels, ...traces, networks };
    windows.push(...compareWindows(test, cnn?.videoPredictions(video) ?? null, input.options));
  }
  const metrics = protocolMetrics(cnn, windows, networkNames);
  const report: ProtocolReport = {
    reportVersion,
    runId: input.runId,
    protocol: input.protocol,
    createdAt: new Date().toISOString(),
    split,
    options: manifest.options,
    cnn: cnn && {
      weights: cnn.provenance.weights,
      training: {
        samples: cnn.info.samples,
        bestEpoch: cnn.curves.bestEpoch,
        valRmseBpm: cnn.curves.valRmseBpm,
        backend: cnn.provenance.backend,
      },
      testFrames: cnn.frames.hrBpm.length,
    },
    networks: protocolNetworks(manifest, tuned),
    windows: { count: windows.length, ...input.options },
    metrics,
    published: publishedRmse[input.protocol]
      ? { meanRmse: publishedRmse[input.protocol]!.mean, medianRmse: publishedRmse[input.protocol]!.median }
      : null,
    exclusions: manifest.excluded,
    figures: {},
  };
  const figures = await renderFigures(report, windows, cnn?.curves ?? null);
  for (const [name, svg] of Object.entries(figures)) {
    const key = artifactKeys.report(input.runId, input.protocol, name);
    await storage.put(key, svg);
    report.figures[name] = key;
  }
  if (cnn)
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
          hrBpm: estimates.cnn!,
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
        hrvAgreement: {},
        referenceKinds: referenceKindsOf(manifest),
      },
      { [input.protocol]: figures },
    ),
  );

  context.logger?.info(
    { protocol: input.protocol, windows: windows.length, cnnMeanRmse: metrics.headline.cnnFrames?.meanRmse },
    "report written",
  );
  return {
    reportKey,
    htmlKey,
    windows: windows.length,
    featureShards: cnn?.frames.shards ?? 0,
    reused: false,
  };
}
