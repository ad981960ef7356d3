import { z } from "zod";

/** The queues of the pipeline, one per stage, in the order of the data flow (see stages.ts). */
export const stageNames = ["ingest", "ecg", "decode", "face", "train", "eval", "report"] as const;
export type StageName = (typeof stageNames)[number];

export const protocolNames = ["unseen-participants", "unseen-videos"] as const;
export type ProtocolName = (typeof protocolNames)[number];

const id = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, "must be a safe id (letters, digits, '.', '-', '_')");
/** Run ids appear inside job ids (`<stage>.<runId>....`), so they hold no '.'. */
const runIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '-' or '_'");
const key = z
  .string()
  .min(1)
  .refine((k) => !k.startsWith("/") && !k.split("/").includes(".."), "must be a relative storage key");
const participant = z.string().regex(/^P\d{2,4}$/, "must be a zero-padded participant id such as P01");

export const ecgOptionsSchema = z.object({
  /** joined_data column holding the ECG lead; AMIGOS: 14 right arm, 15 left arm. */
  column: z.number().int().min(0).max(16).default(15),
  fps: z.number().positive().max(240).default(25),
  windowS: z.number().positive().max(120).default(10),
});

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
   * mouth (7.5 bpm there, and about three times faster: no landmark net per frame).
   */
  skinArea: z.enum(["landmarks", "box"]).default("landmarks"),
  /**
   * With skinArea "landmarks": run the landmark net every K frames and move the landmarks with the
   * tracked box in between. K = 2 keeps the refresh rhythm (15 Hz at 30 fps) far above the heart-rate
   * band, runs the face stage 1.6x faster than K = 1, and scored POS the same on the UBFC-rPPG
   * development videos (BENCHMARKS.md).
   */
  landmarkEvery: z.number().int().min(1).max(8).default(2),
  cropSize: z.number().int().min(16).max(512).default(128),
  keepChunks: z.boolean().default(false),
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

/** The two steps of an ingest job: plan the run and add its jobs, then gather their results. */
export const ingestSteps = ["plan", "gather"] as const;

export const ingestPayloadSchema = z.object({
  runId: runIdSchema,
  step: z.enum(ingestSteps).default("plan"),
  /** Storage key prefix of an AMIGOS-layout tree ('' for the storage root). */
  datasetPrefix: z
    .string()
    .refine((k) => !k.startsWith("/") && !k.split("/").includes(".."), "must be a relative storage prefix"),
  protocols: z
    .array(z.enum(protocolNames))
    .min(1)
    .default([...protocolNames]),
  ecg: ecgOptionsSchema.default(ecgOptionsSchema.parse({})),
  decode: decodeOptionsSchema.default(decodeOptionsSchema.parse({})),
  face: faceOptionsSchema.default(faceOptionsSchema.parse({})),
  train: trainOptionsSchema.default(trainOptionsSchema.parse({})),
  eval: evalOptionsSchema.default(evalOptionsSchema.parse({})),
});

export const ecgPayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  matKey: key,
  options: ecgOptionsSchema.default(ecgOptionsSchema.parse({})),
});

export const decodePayloadSchema = z.object({
  runId: runIdSchema,
  participant,
  videoId: id,
  videoKey: key,
  options: decodeOptionsSchema.default(decodeOptionsSchema.parse({})),
  face: faceOptionsSchema.default(faceOptionsSchema.parse({})),
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
  options: faceOptionsSchema.default(faceOptionsSchema.parse({})),
});

export const trainPayloadSchema = z.object({
  runId: runIdSchema,
  protocol: z.enum(protocolNames),
  options: trainOptionsSchema.default(trainOptionsSchema.parse({})),
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
  ecg: ecgPayloadSchema,
  decode: decodePayloadSchema,
  face: facePayloadSchema,
  train: trainPayloadSchema,
  eval: evalPayloadSchema,
  report: reportPayloadSchema,
} satisfies Record<StageName, z.ZodType>;

/** What a stage's processor receives, defaults filled in. */
export type Payload<S extends StageName> = z.output<(typeof payloadSchemas)[S]>;
/** What a caller may pass when adding a job; defaults may be omitted. */
export type PayloadInput<S extends StageName> = z.input<(typeof payloadSchemas)[S]>;

export type EcgOptions = z.output<typeof ecgOptionsSchema>;
export type DecodeOptions = z.output<typeof decodeOptionsSchema>;
export type FaceOptions = z.output<typeof faceOptionsSchema>;
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
