import { z } from "zod";
import { layoutNames } from "./layouts.ts";
import { neuralModelName } from "./neural.ts";

/** The queues of the pipeline, one per stage, in the order of the data flow (see stages.ts). */
export const stageNames = [
  "ingest",
  "labels",
  "decode",
  "face",
  "features",
  "neural",
  "train",
  "eval",
  "report",
] as const;
export type StageName = (typeof stageNames)[number];

/**
 * The study's two protocols, run by default, and cross-dataset: the head another run trained (on
 * another dataset or layout) tested on every video of this one that has a reference.
 */
export const studyProtocols = ["unseen-participants", "unseen-videos"] as const;
export const protocolNames = [...studyProtocols, "cross-dataset"] as const;
export type ProtocolName = (typeof protocolNames)[number];

/** The colour matrices a 4:2:0 video's pictures are converted with where it is carried as 4:2:0 (YuvMatrix in @hrpipe/media). */
export const yuvMatrixSchema = z.enum(["bt601", "bt709"]);

/** Where a cross-dataset run's head comes from: a protocol of an earlier run. */
export const trainedOnSchema = z.object({
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a run id"),
  protocol: z.enum(studyProtocols).default("unseen-participants"),
});
export type TrainedOn = z.output<typeof trainedOnSchema>;

/**
 * The study's CNN, a per-frame DenseNet-161 regressor, runs only when asked: with no pretrained
 * weights on the machine its backbone is random, and embedding every face took most of a run's time
 * for a model that scored 34 bpm per-video MAE on held-out UBFC-rPPG faces (BENCHMARKS.md).
 */
export const cnnNames = ["none", "densenet"] as const;
export type CnnName = (typeof cnnNames)[number];

/** Subject and video ids appear inside job ids (`<stage>.<runId>.<participant>.<videoId>`), so they hold no '.'. */
const id = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, '-' or '_'");
/** Run ids appear inside job ids (`<stage>.<runId>....`), so they hold no '.'. */
const runIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '-' or '_'");
const key = z
  .string()
  .min(1)
  .refine((k) => !k.startsWith("/") && !k.split("/").includes(".."), "must be a relative storage key");
/** A subject: AMIGOS's zero-padded P01, or a dataset's own name made safe (subject1, 01-01). */
const participant = id;

export const labelOptionsSchema = z.object({
  /** joined_data column holding the ECG lead; AMIGOS: 14 right arm, 15 left arm. */
  column: z.number().int().min(0).max(16).default(15),
  fps: z.number().positive().max(240).default(25),
  windowS: z.number().positive().max(120).default(10),
  /**
   * Seconds added to every reference time to put it on the video's clock (positive when the
   * reference started recording after the video). AMIGOS's preprocessed ECG starts with its video: 0.
   */
  offsetS: z.number().min(-3600).max(3600).default(0),
});

/**
 * Per participant (as the plan names them: P05, subject1), seconds that replace the run's offsetS for
 * that participant's references: recordings whose ECG and video started apart by different amounts.
 */
export const ecgOffsetsSchema = z.record(z.string(), labelOptionsSchema.shape.offsetS.unwrap());

/** A participant's labelling options: the run's, with that participant's own offset where it has one. */
export function labelOptionsFor(
  labels: LabelOptions,
  offsetsS: Record<string, number>,
  participant: string,
): LabelOptions {
  return { ...labels, offsetS: offsetsS[participant] ?? labels.offsetS };
}

export const decodeOptionsSchema = z.object({
  segmentS: z.number().positive().max(600).default(10),
});

export const faceOptionsSchema = z.object({
  detector: z.enum(["tiny", "ssd"]).default("tiny"),
  /** TinyFaceDetector input size; 320 finds faces of 40+ px in 720p frames (see BENCHMARKS.md). */
  inputSize: z.number().int().min(128).max(1024).multipleOf(32).default(320),
  /**
   * Detect every K frames and track the face by its content in between. K = 8 keeps the mean IoU with
   * per-frame detection above 0.9 at over 100 frames/s per core at 720p, and the correction rhythm
   * (fps / K = 3.1 Hz) above the heart-rate band: with K = 10 (2.5 Hz, inside it) CHROM missed 3 bpm
   * on the known-pulse videos (BENCHMARKS.md). K = 1 is the study's method: whole-frame detection in
   * every frame, boxes used as detected, no tracking.
   */
  detectEvery: z.number().int().min(1).max(250).default(8),
  /**
   * Where the skin colour the rPPG methods read is measured: "landmarks", the face's skin inside its
   * 68 landmarks less eyes, brows and mouth (10-s window MAE 2.75 bpm with POS on the UBFC-rPPG
   * development videos, BENCHMARKS.md), or "box", an ellipse in the face box less the eye band and
   * mouth (7.5 bpm there, and about three times faster: no landmark net per frame), or "whole-frame"
   * for a video that is all skin (a fingertip on the lens): every frame whole, no detector.
   */
  skinArea: z.enum(["landmarks", "box", "whole-frame"]).default("landmarks"),
  /**
   * With skinArea "landmarks": run the landmark net every K frames and move the landmarks with the
   * tracked box in between. K = 2 keeps the refresh rhythm (15 Hz at 30 fps) far above the heart-rate
   * band, runs the face stage 1.6x faster than K = 1, and scored POS the same on the UBFC-rPPG
   * development videos (BENCHMARKS.md).
   */
  landmarkEvery: z.number().int().min(1).max(8).default(2),
  cropSize: z.number().int().min(16).max(512).default(128),
  /**
   * Keep a cropSize crop of every frame with a face in the faces shard: what the imported networks and
   * the CNN read. A run with neither (plannedJobs) keeps none: the rPPG methods read the traces only,
   * and the crops cost a third of the face stage's CPU and 49 KB a frame of storage.
   */
  crops: z.boolean().default(true),
  /**
   * The longer side frames are analysed at, at least: a larger video is decoded at the largest integer
   * fraction of its size that keeps its longer side at or above this (1280x720 at 640x360, 1920x1080
   * at 640x360), boxes and landmarks mapped back to its own pixels. A face filling 40% of a 640x360
   * frame's height is 144 px: more than the landmark net's 112 and the 128-px crops read, and a
   * quarter of the pixels to move and resample. 0 analyses every video at its stored size.
   */
  analysisSide: z.number().int().min(0).max(8192).default(640),
  keepChunks: z.boolean().default(false),
});

export const featuresOptionsSchema = z.object({
  /**
   * Embed at most this many frames per second of video (the first face frame of each 1/fps interval);
   * null embeds every face frame. The labels change at the heart's pace, not the camera's: 5 fps keeps
   * 50 training samples per 10-s window at a fifth of the compute of 25 fps.
   */
  fps: z.number().positive().max(240).nullable().default(null),
  /** How embeddings are stored: float16 halves the bytes of a shard (relative error below 1e-3). */
  dtype: z.enum(["float32", "float16"]).default("float32"),
});

export const trainOptionsSchema = z.object({
  epochs: z.number().int().min(1).max(1000).default(15),
  batchSize: z.number().int().min(1).max(4096).default(32),
  learningRate: z.number().positive().max(1).default(1e-3),
  validationSplit: z.number().min(0).max(0.9).default(0.2),
  seed: z.number().int().default(1),
});

export const evalOptionsSchema = z.object({
  /** Every estimator is scored on the same windows of this length... */
  windowS: z.number().positive().max(120).default(10),
  /** ...starting every this many seconds. */
  strideS: z.number().positive().max(120).default(1),
});

/**
 * The steps of an ingest job: plan the run and add its jobs, gather their results, and where the run
 * names networks, run them over every video's faces (networks) before training starts.
 */
export const ingestSteps = ["plan", "gather", "networks"] as const;

/** How a dataset's files are laid out: AMIGOS's, one of packages/datasets' layouts, or detected. */
export const datasetLayoutNames = ["auto", ...layoutNames] as const;
export type DatasetLayoutName = (typeof datasetLayoutNames)[number];

export const ingestPayloadSchema = z
  .object({
    runId: runIdSchema,
    step: z.enum(ingestSteps).default("plan"),
    /**
     * Where the dataset is: a storage key prefix ('' for the storage root) whose keys are its files, or,
     * for a folder uploaded by `hrpipe ingest ./folder`, the prefix of its index.json (see uploads.ts).
     */
    datasetPrefix: z
      .string()
      .refine((k) => !k.startsWith("/") && !k.split("/").includes(".."), "must be a relative storage prefix"),
    layout: z.enum(datasetLayoutNames).default("auto"),
    protocols: z
      .array(z.enum(protocolNames))
      .min(1)
      .default([...studyProtocols]),
    /** With the cross-dataset protocol: the run and protocol whose trained head is tested here. */
    trainedOn: trainedOnSchema.optional(),
    labels: labelOptionsSchema.default(labelOptionsSchema.parse({})),
    ecgOffsetsS: ecgOffsetsSchema.default({}),
    decode: decodeOptionsSchema.default(decodeOptionsSchema.parse({})),
    face: faceOptionsSchema.default(faceOptionsSchema.parse({})),
    cnn: z.enum(cnnNames).default("none"),
    /** Imported networks (hrpipe model list) run over every video's faces, and fine-tuned per protocol. */
    neural: z.array(neuralModelName).default([]),
    features: featuresOptionsSchema.default(featuresOptionsSchema.parse({})),
    train: trainOptionsSchema.default(trainOptionsSchema.parse({})),
    eval: evalOptionsSchema.default(evalOptionsSchema.parse({})),
  })
  .refine((payload) => payload.protocols.includes("cross-dataset") === (payload.trainedOn !== undefined), {
    message:
      "the cross-dataset protocol needs trainedOn (the run whose head it tests), and trainedOn needs it",
    path: ["trainedOn"],
  })
  .refine(
    (payload) => payload.trainedOn === undefined || payload.cnn !== "none" || payload.neural.length > 0,
    {
      message:
        "the cross-dataset protocol tests what another run trained: add --cnn densenet (its CNN head) or --neural NAME (its fine-tuned network)",
      path: ["cnn"],
    },
  );

/**
 * A recording's own reference file (PPG, ECG, HR trace or RR intervals) and how its layout reads it;
 * the decode job labels the video with it once it knows the video's clock.
 */
export const videoReferenceSchema = z.object({
  layout: z.enum(layoutNames),
  /** Storage key of the reference file, and its path in the dataset (what the layout reads and reports name). */
  key,
  file: z.string().min(1),
  kind: z.enum(["ecg", "ppg", "hr", "rr"]),
  column: z.string().optional(),
  fsHz: z.number().positive().optional(),
  timeColumn: z.string().optional(),
  offsetS: z.number().optional(),
  /** A table of every frame's time on the reference's clock, where the dataset has one. */
  frameTimes: z.object({ key, file: z.string(), column: z.string().optional() }).optional(),
});
export type VideoReference = z.output<typeof videoReferenceSchema>;

/** An AMIGOS participant: every trial of its Data_Preprocessed_Pxx.mat. */
const matLabelsPayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  matKey: key,
  options: labelOptionsSchema.default(labelOptionsSchema.parse({})),
});

/** One video with its own reference file, on the video's clock as decode measured it. */
const referenceLabelsPayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  reference: videoReferenceSchema,
  video: z.object({ fps: z.number().positive(), frameCount: z.number().int().min(1) }),
  options: labelOptionsSchema.default(labelOptionsSchema.parse({})),
});

/** The labels stage labels video frames with heart rates from a reference: AMIGOS's .mat or a recording's file. */
export const labelsPayloadSchema = z.union([matLabelsPayloadSchema, referenceLabelsPayloadSchema]);

export const decodePayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  videoKey: key,
  /** videoKey holds an image sequence (a frame folder, see imageSequenceSchema), not a video file. */
  imageSequence: z.boolean().optional(),
  /** The video's path in its dataset, for messages, where its key does not say it (uploaded folders). */
  videoName: z.string().optional(),
  options: decodeOptionsSchema.default(decodeOptionsSchema.parse({})),
  face: faceOptionsSchema.default(faceOptionsSchema.parse({})),
  /** Present when the CNN trains or tests on this video: each segment with faces gets a features job. */
  features: featuresOptionsSchema.optional(),
  /** The video's own reference: decode adds its labels job once the video's clock is known. */
  reference: videoReferenceSchema.optional(),
  labels: labelOptionsSchema.default(labelOptionsSchema.parse({})),
});

export const facePayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  /** Content address of this video's face and trace shards (see artifactKeys.faces). */
  facesHash: id,
  segment: z.number().int().min(0),
  /** The segment's coded frames (see workers/decode), and their SHA-256 for an integrity check. */
  chunkKey: key,
  chunkSha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256"),
  firstFrame: z.number().int().min(0),
  frameCount: z.number().int().min(1),
  fps: z.number().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /**
   * The matrix of a video whose pictures convert exactly from 4:2:0 (yuv420Matrix in @hrpipe/media):
   * the chunk is decoded to 4:2:0, half the bytes of RGB24, and converted where the analysis reads it.
   */
  yuv420: yuvMatrixSchema.optional(),
  options: faceOptionsSchema.default(faceOptionsSchema.parse({})),
  /** Present when the CNN trains or tests on this video: the face job adds the segment's features job. */
  features: featuresOptionsSchema.optional(),
});

/** One segment's face crops through the DenseNet backbone. */
export const featuresPayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  segment: z.number().int().min(0),
  facesKey: key,
  /** The video's frame rate, which the frame subsampling reads. */
  fps: z.number().positive(),
  options: featuresOptionsSchema.default(featuresOptionsSchema.parse({})),
});

/** One imported network over one video's face crops: its pulse and tail activations for every frame. */
export const neuralPayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  /** The video's faces shards in segment order (see artifactKeys.faces). */
  facesKeys: z.array(key).min(1),
  frameCount: z.number().int().min(1),
  fps: z.number().positive(),
  model: z.object({ name: neuralModelName, hash: id }),
});

export const trainPayloadSchema = z.object({
  runId: runIdSchema,
  protocol: z.enum(protocolNames),
  options: trainOptionsSchema.default(trainOptionsSchema.parse({})),
  /** cross-dataset: the head is this run's, not trained here. */
  trainedOn: trainedOnSchema.optional(),
});

export const evalPayloadSchema = z.object({
  runId: runIdSchema,
  protocol: z.enum(protocolNames),
  options: evalOptionsSchema.default(evalOptionsSchema.parse({})),
});

export const reportPayloadSchema = z.object({
  runId: runIdSchema,
});

export const payloadSchemas = {
  ingest: ingestPayloadSchema,
  labels: labelsPayloadSchema,
  decode: decodePayloadSchema,
  face: facePayloadSchema,
  features: featuresPayloadSchema,
  neural: neuralPayloadSchema,
  train: trainPayloadSchema,
  eval: evalPayloadSchema,
  report: reportPayloadSchema,
} satisfies Record<StageName, z.ZodType>;

/** What a stage's processor receives, defaults filled in. */
export type Payload<S extends StageName> = z.output<(typeof payloadSchemas)[S]>;
/** What a caller may pass when adding a job; defaults may be omitted. */
export type PayloadInput<S extends StageName> = z.input<(typeof payloadSchemas)[S]>;

export type LabelOptions = z.output<typeof labelOptionsSchema>;
export type DecodeOptions = z.output<typeof decodeOptionsSchema>;
export type FaceOptions = z.output<typeof faceOptionsSchema>;
export type FeaturesOptions = z.output<typeof featuresOptionsSchema>;
export type TrainOptions = z.output<typeof trainOptionsSchema>;
export type EvalOptions = z.output<typeof evalOptionsSchema>;

export class InvalidPayloadError extends Error {
  override name = "InvalidPayloadError";
}

/** Validates a payload at the queue boundary; the error names the stage, the field and what is wrong. */
export function parsePayload<S extends StageName>(stage: S, payload: unknown): Payload<S> {
  const parsed = payloadSchemas[stage].safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`,
    );
    throw new InvalidPayloadError(`${stage} job payload is invalid: ${problems.join("; ")}.`);
  }
  return parsed.data as Payload<S>;
}
