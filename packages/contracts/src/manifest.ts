import { z } from "zod";
import { weightsProvenanceSchema } from "./backbone.ts";
import { neuralArchitectures } from "./neural.ts";
import {
  cnnNames,
  datasetLayoutNames,
  decodeOptionsSchema,
  ecgOffsetsSchema,
  evalOptionsSchema,
  faceOptionsSchema,
  featuresOptionsSchema,
  labelOptionsSchema,
  type Payload,
  protocolNames,
  stageNames,
  trainedOnSchema,
  trainOptionsSchema,
  type VideoReference,
  videoReferenceSchema,
} from "./payloads.ts";

/**
 * Manifests written before the labels stage had that name (rounds 1-3) call it ecg, in their
 * exclusions and options: they are read as labels, so `hrpipe runs`, `status` and reports still open them.
 */
const formerEcgStage = (value: unknown) => (value === "ecg" ? "labels" : value);
const formerEcgOptions = (value: unknown) => {
  if (value === null || typeof value !== "object" || !("ecg" in value) || "labels" in value) return value;
  const { ecg, ...rest } = value as Record<string, unknown>;
  return { ...rest, labels: ecg };
};

/** An item the run could not use, and why; carried into every report. */
export const exclusionSchema = z.object({
  stage: z.preprocess(formerEcgStage, z.enum(stageNames)),
  participant: z.string(),
  videoId: z.string().optional(),
  segment: z.number().int().optional(),
  key: z.string().optional(),
  /** The file's path in the dataset, where its key does not say it (uploaded folders store files by content). */
  path: z.string().optional(),
  reason: z.string(),
});
export type Exclusion = z.infer<typeof exclusionSchema>;

const segmentArtifactSchema = z.object({
  segment: z.number().int(),
  facesKey: z.string(),
  tracesKey: z.string(),
  /** The segment's DenseNet features; null where the CNN does not use the video or its features job failed. */
  featuresKey: z.string().nullable().default(null),
  frames: z.number().int(),
});

/** An imported network as a run uses it: the name and the content address it pointed at. */
export const networkRefSchema = z.object({
  name: z.string(),
  hash: z.string(),
  architecture: z.enum(neuralArchitectures),
  trainedOn: z.string().nullable(),
});
export type NetworkRef = z.infer<typeof networkRefSchema>;

/** One video that reached the end of ingest: its labels and its face and trace shards. */
export const videoArtifactsSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  /** null for a video without a reference (an inference run): rPPG reports it, the CNN cannot train on it. */
  labelsKey: z.string().nullable(),
  fps: z.number(),
  frameCount: z.number().int(),
  segments: z.array(segmentArtifactSchema),
  /** Each network's pulse over the video (model name -> pulses/<hash>/... key), where it ran. */
  pulses: z.record(z.string(), z.string()).default({}),
});
export type VideoArtifacts = z.infer<typeof videoArtifactsSchema>;
/** A video with labels: what training and evaluation read. */
export type LabelledVideo = VideoArtifacts & { labelsKey: string };

export const splitSchema = z.object({
  /** "Pxx/videoId" references. */
  train: z.array(z.string()),
  test: z.array(z.string()),
  rule: z.string(),
});
export type Split = z.infer<typeof splitSchema>;

export const runManifestSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  createdAt: z.string(),
  /** done, failed and cancelled are final: every run ends in one of them. */
  state: z.enum(["planned", "ingested", "training", "done", "failed", "cancelled"]),
  storageUrl: z.string(),
  datasetPrefix: z.string(),
  /** The layout the plan read the dataset with (detected when the ingest said auto). */
  layout: z.enum(datasetLayoutNames).default("amigos"),
  options: z.preprocess(
    formerEcgOptions,
    z.object({
      protocols: z.array(z.enum(protocolNames)),
      labels: labelOptionsSchema,
      ecgOffsetsS: ecgOffsetsSchema.default({}),
      decode: decodeOptionsSchema,
      face: faceOptionsSchema,
      /** Runs from before --cnn existed embedded every face: they read as densenet. */
      cnn: z.enum(cnnNames).default("densenet"),
      features: featuresOptionsSchema.default(featuresOptionsSchema.parse({})),
      train: trainOptionsSchema,
      eval: evalOptionsSchema,
      trainedOn: trainedOnSchema.optional(),
      neural: z.array(z.string()).default([]),
    }),
  ),
  /** The imported networks the run measures with, as their names pointed when it was planned. */
  networks: z.array(networkRefSchema).default([]),
  participants: z.array(z.object({ participant: z.string(), matKey: z.string() })),
  videos: z.array(
    z.object({
      participant: z.string(),
      videoId: z.string(),
      videoKey: z.string(),
      /** videoKey holds an image sequence (a frame folder, see imageSequenceSchema), not a video file. */
      imageSequence: z.boolean().optional(),
      /** The video's path in the dataset as its owner names it (uploaded folders store files by content). */
      path: z.string().optional(),
      reference: videoReferenceSchema.optional(),
    }),
  ),
  /** Filled when every labels, decode and face job has finished or failed. */
  artifacts: z.array(videoArtifactsSchema).default([]),
  splits: z.record(z.string(), splitSchema).default({}),
  /**
   * The backbone every features shard of the run came from, and where it ran; null when the run
   * embeds nothing (no video with a reference).
   */
  features: z
    .object({
      weights: weightsProvenanceSchema,
      /** ONNX Runtime execution providers and batch sizes the features workers ran with. */
      executionProviders: z.array(z.string()),
      batchSizes: z.array(z.number().int()),
    })
    .nullable()
    .default(null),
  /** Work found already done by an earlier run with the same inputs and options. */
  reused: z
    .object({ labels: z.number().int(), faceSegments: z.number().int() })
    .default({ labels: 0, faceSegments: 0 }),
  excluded: z.array(exclusionSchema).default([]),
  /** Files under the dataset that are not part of its layout, and why each is not used. */
  ignored: z.array(z.object({ key: z.string(), reason: z.string() })).default([]),
  /** Every listed file is planned, excluded or ignored: listed = planned + excluded + ignored. */
  files: z
    .object({
      listed: z.number().int(),
      planned: z.number().int(),
      excluded: z.number().int(),
      ignored: z.number().int(),
    })
    .default({ listed: 0, planned: 0, excluded: 0, ignored: 0 }),
  /**
   * The run's job counters per stage and its job failures, kept here when the run ends and its jobs
   * leave Redis (see retireRun); `hrpipe status` reads them from here from then on.
   */
  jobs: z
    .object({
      stages: z.record(
        z.string(),
        z.object({
          done: z.number().int(),
          failed: z.number().int(),
          pending: z.number().int(),
          computed: z.number().int(),
          reused: z.number().int(),
        }),
      ),
      failures: z.array(z.object({ stage: z.string(), job: z.string(), reason: z.string() })),
    })
    .nullable()
    .default(null),
  /** Protocols that could not be trained or evaluated, and why (the run report shows them). */
  notEvaluated: z.array(z.object({ protocol: z.enum(protocolNames), reason: z.string() })).default([]),
});
export type RunManifest = z.infer<typeof runManifestSchema>;

/** Whether a run has ended: every run ends done, failed (the report job says why) or cancelled. */
export function isFinalRunState(state: RunManifest["state"] | undefined): boolean {
  return state === "done" || state === "failed" || state === "cancelled";
}

/** The options a run records in its manifest: everything an ingest payload says besides where. */
export function runOptionsOf(payload: Payload<"ingest">): RunManifest["options"] {
  const {
    protocols,
    labels,
    ecgOffsetsS,
    decode,
    face,
    cnn,
    features,
    train,
    eval: evaluation,
    trainedOn,
    neural,
  } = payload;
  return {
    protocols,
    labels,
    ecgOffsetsS,
    decode,
    face,
    cnn,
    features,
    train,
    eval: evaluation,
    ...(trainedOn ? { trainedOn } : {}),
    neural,
  };
}

/** An ingest payload's dataset prefix as a manifest records it: no trailing '/', '' for the root. */
export function datasetPrefixOf(payload: Payload<"ingest">): string {
  return payload.datasetPrefix.replace(/\/+$/, "");
}

export function videoRef(participant: string, videoId: string): string {
  return `${participant}/${videoId}`;
}

/** The run's labelled videos named by a split ("participant/videoId" references). */
export function splitVideos(manifest: RunManifest, refs: string[]): LabelledVideo[] {
  const wanted = new Set(refs);
  return manifest.artifacts.filter(
    (v): v is LabelledVideo => v.labelsKey !== null && wanted.has(videoRef(v.participant, v.videoId)),
  );
}

/**
 * Whether a planned video has a reference: a file of its own (UBFC's ground truth, a manifest's
 * column), or its trial in a file of its participant's (AMIGOS's .mat, labelled once per participant).
 */
export function hasReference(
  manifest: Pick<RunManifest, "participants">,
  video: RunManifest["videos"][number],
): boolean {
  return (
    video.reference !== undefined || manifest.participants.some((p) => p.participant === video.participant)
  );
}

/** The kinds of reference a run's videos are scored against: their own files', and ECG for AMIGOS's per-participant .mat files. */
export function referenceKindsOf(manifest: RunManifest): VideoReference["kind"][] {
  const kinds = new Set(manifest.videos.flatMap((video) => (video.reference ? [video.reference.kind] : [])));
  if (manifest.participants.length > 0) kinds.add("ecg");
  return [...kinds].sort();
}
