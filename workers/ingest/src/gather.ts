import {
  artifactKeys,
  type DecodeJobResult,
  decodeResultSchema,
  type Exclusion,
  type FaceJobResult,
  type FeaturesJobResult,
  faceResultSchema,
  featuresResultSchema,
  gatheredStages,
  hasReference,
  labelsResultSchema,
  neuralResultSchema,
  parseJobId,
  parseResult,
  protocolSplit,
  type RunManifest,
  type StageName,
  type VideoArtifacts,
  videoRef,
  type WeightsProvenance,
} from "@hrpipe/contracts";
import { BadInputError } from "@hrpipe/runtime";

/** Children results by job key (`prefix:queue:jobId`), as BullMQ's getChildrenValues returns them. */
export type ChildResults = Record<string, unknown>;
/** Failed children by job key, with their failure reason (getIgnoredChildrenFailures). */
export type ChildFailures = Record<string, string>;

/**
 * Folds the finished and failed jobs of a run into its manifest: which videos have labels and face
 * shards for every usable segment (the artifacts training reads), what was excluded and why, what
 * was reused from earlier runs, and the split of every protocol.
 */
export function gatherRun(
  manifest: RunManifest,
  results: ChildResults,
  failures: ChildFailures,
  /** The provenance of every backbone the features jobs name (backbones/<hash>.json). */
  backbones: Record<string, WeightsProvenance> = {},
): RunManifest {
  const excluded: Exclusion[] = [...manifest.excluded];
  const labels = new Map<string, string>();
  const decoded = new Map<string, DecodeJobResult>();
  const faces = new Map<string, FaceJobResult>();
  const features = new Map<string, FeaturesJobResult>();
  let reusedLabels = 0;
  let reusedSegments = 0;
  for (const [jobKey, value] of Object.entries(results)) {
    const queue = parseJobId(jobKey).stage;
    if (queue === "labels") {
      const labelled = parseResult(labelsResultSchema, value, jobKey);
      if (labelled.reused) reusedLabels += labelled.labels.length;
      for (const label of labelled.labels)
        labels.set(videoRef(labelled.participant, label.videoId), label.key);
      for (const trial of labelled.excluded)
        excluded.push({
          stage: "labels",
          participant: labelled.participant,
          videoId: trial.videoId,
          reason: trial.reason,
        });
    } else if (queue === "decode") {
      const decode = parseResult(decodeResultSchema, value, jobKey);
      decoded.set(videoRef(decode.participant, decode.videoId), decode);
      reusedSegments += decode.done.length;
      for (const { segment, reason } of decode.faceless)
        excluded.push({
          stage: "face",
          participant: decode.participant,
          videoId: decode.videoId,
          segment,
          reason,
        });
    } else if (queue === "face") {
      const face = parseResult(faceResultSchema, value, jobKey);
      faces.set(`${videoRef(face.participant, face.videoId)}#${face.segment}`, face);
    } else if (queue === "features") {
      const shard = parseResult(featuresResultSchema, value, jobKey);
      features.set(`${videoRef(shard.participant, shard.videoId)}#${shard.segment}`, shard);
    }
  }
  for (const [jobKey, reason] of Object.entries(failures)) {
    const { stage, participant = "?", videoId, segment } = parseJobId(jobKey);
    if (!gatheredStages.includes(stage as StageName)) continue;
    excluded.push({ stage: stage as Exclusion["stage"], participant, videoId, segment, reason });
  }

  const artifacts: VideoArtifacts[] = [];
  for (const video of manifest.videos) {
    const ref = videoRef(video.participant, video.videoId);
    const labelsKey = labels.get(ref);
    const decode = decoded.get(ref);
    // A video without a reference of its own (an inference run) needs no labels: rPPG reports it.
    const needsLabels = hasReference(manifest, video);
    if ((needsLabels && !labelsKey) || !decode) {
      const failedAlready = excluded.some(
        (e) =>
          e.participant === video.participant && (e.videoId === video.videoId || e.videoId === undefined),
      );
      if (!failedAlready) {
        excluded.push({
          stage: labelsKey ? "decode" : "labels",
          participant: video.participant,
          videoId: video.videoId,
          key: video.videoKey,
          reason: labelsKey
            ? `${video.videoKey} was not segmented.`
            : `no labels for video ${video.videoId} of ${video.participant} from ${video.reference?.file ?? "its ECG"}.`,
        });
      }
      continue;
    }
    const segments = decode.segments.flatMap((segment) => {
      const featuresKey = features.get(`${ref}#${segment.segment}`)?.featuresKey ?? null;
      const face = faces.get(`${ref}#${segment.segment}`);
      if (face)
        return [
          {
            segment: segment.segment,
            facesKey: face.facesKey,
            tracesKey: face.tracesKey,
            featuresKey,
            frames: segment.frameCount,
          },
        ];
      if (decode.done.includes(segment.segment)) {
        return [
          {
            segment: segment.segment,
            facesKey: artifactKeys.faces(decode.facesHash, video.participant, video.videoId, segment.segment),
            tracesKey: artifactKeys.traces(
              decode.facesHash,
              video.participant,
              video.videoId,
              segment.segment,
            ),
            featuresKey,
            frames: segment.frameCount,
          },
        ];
      }
      return [];
    });
    if (segments.length === 0) {
      const reasons = excluded.filter(
        (e) => e.stage === "face" && e.participant === video.participant && e.videoId === video.videoId,
      );
      excluded.push({
        stage: "face",
        participant: video.participant,
        videoId: video.videoId,
        key: video.videoKey,
        reason: `no face anywhere in ${video.videoKey} (${decode.frameCount} frames${reasons.length ? `; ${reasons.length} segments failed` : ""}); the video is excluded.`,
      });
      continue;
    }
    artifacts.push({
      participant: video.participant,
      videoId: video.videoId,
      labelsKey: labelsKey ?? null,
      fps: decode.fps,
      frameCount: decode.frameCount,
      segments,
      pulses: {},
    });
  }
  const labelled = artifacts.filter((video) => video.labelsKey !== null);
  const splits = Object.fromEntries(
    manifest.options.protocols.map((protocol) => [
      protocol,
      protocolSplit(protocol, labelled, { seed: manifest.options.train.seed }),
    ]),
  );
  const trainedOn = manifest.options.trainedOn;
  if (splits["cross-dataset"] && trainedOn)
    splits["cross-dataset"].rule =
      `every video with a reference is tested by the head of run ${trainedOn.runId} (${trainedOn.protocol})`;
  const notEvaluated = manifest.options.protocols.flatMap((protocol) => {
    const split = splits[protocol]!;
    const trainsHere = protocol !== "cross-dataset";
    if ((split.train.length > 0 || !trainsHere) && split.test.length > 0) return [];
    return [
      {
        protocol,
        reason:
          labelled.length === 0 && artifacts.length > 0
            ? `no video has a reference to train or test the CNN on (${artifacts.length} videos, layout ${manifest.layout}); the rPPG methods report heart rate over time for each.`
            : `not enough usable videos to train and test: ${split.train.length} for training and ${split.test.length} for testing (${labelled.length} usable with labels of ${manifest.videos.length} planned; see the exclusions).`,
      },
    ];
  });
  return {
    ...manifest,
    state: "ingested",
    artifacts,
    splits,
    features: backboneOf(manifest.runId, [...features.values()], backbones),
    excluded,
    reused: { labels: reusedLabels, faceSegments: reusedSegments },
    notEvaluated,
  };
}

/**
 * Folds a run's network jobs into its gathered manifest: each video's pulse key per network, and a
 * network that failed on a video as an exclusion of that video for that network alone.
 */
export function gatherPulses(
  manifest: RunManifest,
  results: ChildResults,
  failures: ChildFailures,
): RunManifest {
  const pulses = new Map<string, Record<string, string>>();
  for (const [jobKey, value] of Object.entries(results)) {
    if (parseJobId(jobKey).stage !== "neural") continue;
    const result = parseResult(neuralResultSchema, value, jobKey);
    const ref = videoRef(result.participant, result.videoId);
    pulses.set(ref, { ...pulses.get(ref), [result.model]: result.pulseKey });
  }
  const excluded = [...manifest.excluded];
  for (const [jobKey, reason] of Object.entries(failures)) {
    const { stage, participant = "?", videoId } = parseJobId(jobKey);
    if (stage === "neural") excluded.push({ stage: "neural", participant, videoId, reason });
  }
  return {
    ...manifest,
    artifacts: manifest.artifacts.map((video) => ({
      ...video,
      pulses: pulses.get(videoRef(video.participant, video.videoId)) ?? {},
    })),
    excluded,
  };
}

/**
 * The one backbone a run's features came from, and where they were computed. Features of two
 * backbones cannot train one head: the run fails with the remedy rather than mixing them.
 */
function backboneOf(
  runId: string,
  shards: FeaturesJobResult[],
  backbones: Record<string, WeightsProvenance>,
): RunManifest["features"] {
  const first = shards[0];
  if (!first) return null;
  const name = (hash: string) => `${backbones[hash]?.source ?? "unknown weights"}, hash ${hash}`;
  const other = shards.find((shard) => shard.weightsHash !== first.weightsHash);
  if (other)
    throw new BadInputError(
      `run ${runId}: features workers ran two backbones (${name(first.weightsHash)}, and ${name(other.weightsHash)}); give every features worker the same HRPIPE_DENSENET_WEIGHTS and run again (shards already computed are reused).`,
    );
  const weights = backbones[first.weightsHash];
  if (!weights)
    throw new Error(
      `run ${runId}: ${artifactKeys.backbone(first.weightsHash)}, which every features job writes, is missing; run the ingest again.`,
    );
  const distinct = <T>(values: T[]) => [...new Set(values)].sort();
  return {
    weights,
    executionProviders: distinct(shards.map((shard) => shard.executionProvider)),
    batchSizes: distinct(shards.map((shard) => shard.batchSize)),
  };
}

/** The backbones a run's features jobs name, as gatherRun needs them. */
export function backboneHashes(results: ChildResults): string[] {
  const hashes = new Set<string>();
  for (const [jobKey, value] of Object.entries(results))
    if (parseJobId(jobKey).stage === "features")
      hashes.add(parseResult(featuresResultSchema, value, jobKey).weightsHash);
  return [...hashes];
}
