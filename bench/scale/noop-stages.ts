/**
 * The pipeline's stages with their processors replaced by no-ops that return results of the real
 * shapes, which lead to the real follow-on jobs (the stages' declared links), so that the
 * scale benchmark exercises the queues, Redis, the ingest plan and the gather exactly as a run
 * does, minus the pixels. Each no-op's own time is recorded, so overhead can be told from work.
 */
import {
  artifactKeys,
  type DecodedVideo,
  type FaceJobResult,
  type FeaturesJobResult,
  type LabelsJobResult,
  segmentName,
  weightsProvenanceSchema,
} from "@hrpipe/contracts";
import {
  defineStage,
  readManifest,
  retireRun,
  type StageBinding,
  writeArtifact,
  writeManifest,
} from "@hrpipe/runtime";
import { amigosShape, videoSeconds } from "./shape.ts";

/** Milliseconds spent inside no-op processors in this process. */
export const noopTime = { ms: 0, jobs: 0 };

function timed<T>(work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    noopTime.ms += performance.now() - started;
    noopTime.jobs++;
  }
}

const fps = 25;
const segmentS = 10;

const backbone = {
  kind: "random-init" as const,
  source: "seed 1",
  weightsHash: "0123456789abcdef",
  config: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, bnSize: 4 },
  note: "scale benchmark: no backbone ran (no-op features processor)",
};

export const noopLabels = defineStage(
  "labels",
  () => async (payload) =>
    timed(
      (): LabelsJobResult => ({
        participant: payload.participant,
        hash: "bench",
        labels: amigosShape.videoIds.map((videoId) => ({
          videoId,
          key: artifactKeys.labels("bench", payload.participant, videoId),
          labelledShare: 1,
        })),
        excluded: [],
        reused: false,
      }),
    ),
);

export const noopDecode = defineStage(
  "decode",
  () => async (payload) =>
    timed((): DecodedVideo => {
      const frameCount = Math.round(videoSeconds(payload.participant, payload.videoId) * fps);
      const perSegment = segmentS * fps;
      const segments = Array.from({ length: Math.ceil(frameCount / perSegment) }, (_, segment) => ({
        segment,
        firstFrame: segment * perSegment,
        frameCount: Math.min(perSegment, frameCount - segment * perSegment),
      }));
      return {
        participant: payload.participant,
        videoId: payload.videoId,
        facesHash: "bench",
        fps,
        frameCount,
        width: 1280,
        height: 720,
        segments,
        done: [],
        faceless: [],
        chunkCount: segments.length,
        chunks: segments.map((segment) => ({
          ...segment,
          chunkKey: `frames/bench/${payload.participant}/${payload.videoId}/${segmentName(segment.segment)}.mkv`,
          chunkSha256: "0".repeat(64),
          bytes: 0,
        })),
        chunkBytesPerVideoS: 0,
        reused: false,
      };
    }),
);

export const noopFace = defineStage(
  "face",
  () => async (payload) =>
    timed(
      (): FaceJobResult => ({
        participant: payload.participant,
        videoId: payload.videoId,
        segment: payload.segment,
        facesKey: artifactKeys.faces(
          payload.facesHash,
          payload.participant,
          payload.videoId,
          payload.segment,
        ),
        tracesKey: artifactKeys.traces(
          payload.facesHash,
          payload.participant,
          payload.videoId,
          payload.segment,
        ),
        frames: payload.frameCount,
        facesFound: payload.frameCount,
        reused: false,
      }),
    ),
);

export const noopFeatures = defineStage("features", ({ storage }) => async (payload) => {
  // As the real stage does: the backbone's provenance once, which the gather reads.
  const key = artifactKeys.backbone(backbone.weightsHash);
  if (!(await storage.exists(key))) await writeArtifact(storage, key, weightsProvenanceSchema, backbone);
  return timed(
    (): FeaturesJobResult => ({
      participant: payload.participant,
      videoId: payload.videoId,
      segment: payload.segment,
      featuresKey: artifactKeys.features("bench", payload.participant, payload.videoId, payload.segment),
      frames: segmentS * fps,
      weightsHash: backbone.weightsHash,
      executionProvider: "cpu",
      batchSize: 16,
      reused: false,
    }),
  );
});

export const noopTrain = defineStage(
  "train",
  () => async () =>
    timed(() => ({
      modelPrefix: "bench",
      head: null,
      networks: [],
      reused: false,
    })),
);

export const noopEval = defineStage(
  "eval",
  () => async () =>
    timed(() => ({
      reportKey: "bench",
      htmlKey: "bench",
      windows: 0,
      featureShards: 0,
      reused: false as const,
    })),
);

/** Ends the run as the report stage does: the manifest's final state, then the run's jobs retired. */
export const noopReport = defineStage("report", ({ storage, queues }) => async (payload) => {
  const manifest = await readManifest(storage, payload.runId);
  await writeManifest(storage, { ...manifest, state: "done" });
  await retireRun(queues, storage, payload.runId);
  return {
    runId: payload.runId,
    state: "done" as const,
    evaluated: [],
    notEvaluated: [],
    reused: false as const,
  };
});

/** The no-op stages by name. */
export const noopStages: Record<string, StageBinding> = {
  labels: noopLabels,
  decode: noopDecode,
  face: noopFace,
  features: noopFeatures,
  train: noopTrain,
  eval: noopEval,
  report: noopReport,
};
