import { z } from "zod";
import { yuvMatrixSchema } from "./payloads.ts";

/**
 * What stage jobs return. The ingest job's gather step reads its children's results from BullMQ and
 * validates them here; every result says whether the job computed anything (`reused` is true when
 * every artifact it would write already existed), which `hrpipe status RUN --json` counts.
 */

export const ingestResultSchema = z.object({
  runId: z.string(),
  state: z.string(),
  videos: z.number().int().optional(),
  excluded: z.number().int().optional(),
  reused: z.literal(false),
});
export type IngestJobResult = z.infer<typeof ingestResultSchema>;

export const labelsResultSchema = z.object({
  participant: z.string(),
  /** Content address of the participant's label files. */
  hash: z.string(),
  labels: z.array(z.object({ videoId: z.string(), key: z.string(), labelledShare: z.number() })),
  excluded: z.array(z.object({ videoId: z.string(), reason: z.string() })),
  reused: z.boolean(),
});
export type LabelsJobResult = z.infer<typeof labelsResultSchema>;

const segmentSchema = z.object({
  segment: z.number().int(),
  firstFrame: z.number().int(),
  frameCount: z.number().int(),
});

export const decodeResultSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  facesHash: z.string(),
  fps: z.number(),
  frameCount: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  /** The matrix of pictures carried to the face stage as 4:2:0 (yuv420Matrix in @hrpipe/media), where they are. */
  yuv420: yuvMatrixSchema.optional(),
  /** Every segment of the video. */
  segments: z.array(segmentSchema),
  /** Segments whose shards already existed (no face job was needed). */
  done: z.array(z.number().int()),
  /** Segments an earlier face job found without a face (same content and options): excluded again. */
  faceless: z.array(z.object({ segment: z.number().int(), reason: z.string() })),
  /** Segments sent to face jobs (whose payloads name their chunks). */
  chunkCount: z.number().int(),
  chunkBytesPerVideoS: z.number(),
  reused: z.boolean(),
});
export type DecodeJobResult = z.infer<typeof decodeResultSchema>;

/** A segment's coded frames, cut by decode for its face job. */
export interface DecodedChunk {
  segment: number;
  firstFrame: number;
  frameCount: number;
  chunkKey: string;
  chunkSha256: string;
  bytes: number;
}

/**
 * What the decode processor hands its binding: the job's result plus the chunks, which go into the
 * face jobs' payloads and not into the result, which the run's parent job keeps for every video.
 */
export type DecodedVideo = DecodeJobResult & { chunks: DecodedChunk[] };

export const faceResultSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  segment: z.number().int(),
  facesKey: z.string(),
  tracesKey: z.string(),
  frames: z.number().int(),
  /** Frames with a face; -1 when the shards already existed. */
  facesFound: z.number().int(),
  reused: z.boolean(),
});
export type FaceJobResult = z.infer<typeof faceResultSchema>;

export const featuresResultSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  segment: z.number().int(),
  featuresKey: z.string(),
  /** Frames embedded (after the frame-rate selection); -1 when the shard already existed. */
  frames: z.number().int(),
  /** The backbone's content address; its provenance is stored once under backbones/<hash>.json. */
  weightsHash: z.string(),
  executionProvider: z.string(),
  batchSize: z.number().int(),
  reused: z.boolean(),
});
export type FeaturesJobResult = z.infer<typeof featuresResultSchema>;

export const neuralResultSchema = z.object({
  participant: z.string(),
  videoId: z.string(),
  model: z.string(),
  pulseKey: z.string(),
  frames: z.number().int(),
  executionProvider: z.string(),
  reused: z.boolean(),
});
export type NeuralJobResult = z.infer<typeof neuralResultSchema>;

const headResultSchema = z.object({
  headHash: z.string(),
  trainVideos: z.number().int(),
  samples: z.number().int(),
  valRmseBpm: z.number().nullable(),
  bestEpoch: z.number().int(),
  backend: z.string(),
  /** Features shards read (the features stage computed them; train never embeds). */
  featureShards: z.number().int(),
  reused: z.boolean(),
});

export const trainResultSchema = z.object({
  modelPrefix: z.string(),
  /** The CNN's regression head; null where the run has no CNN. */
  head: headResultSchema.nullable(),
  /** Each network's fine-tuned form (`<name>-ft`). */
  networks: z.array(
    z.object({
      name: z.string(),
      tunedHash: z.string(),
      trainVideos: z.number().int(),
      bestEpoch: z.number().int(),
      reused: z.boolean(),
    }),
  ),
  /** Nothing was trained here: the head and every network were found already trained (or adopted). */
  reused: z.boolean(),
});
export type TrainJobResult = z.infer<typeof trainResultSchema>;

export const evalResultSchema = z.object({
  reportKey: z.string(),
  htmlKey: z.string(),
  windows: z.number().int(),
  featureShards: z.number().int(),
  reused: z.literal(false),
});
export type EvalJobResult = z.infer<typeof evalResultSchema>;

export const reportResultSchema = z.object({
  runId: z.string(),
  state: z.enum(["done", "failed"]),
  evaluated: z.array(z.string()),
  notEvaluated: z.array(z.object({ protocol: z.string(), reason: z.string() })),
  reused: z.literal(false),
});
export type ReportJobResult = z.infer<typeof reportResultSchema>;

/** A child job's return value that does not match its stage's result schema (another version wrote it). */
export function parseResult<S extends z.ZodType>(schema: S, value: unknown, jobKey: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(
      `the result of job ${jobKey} does not match its stage's result schema at ${issue.path.join(".") || "(result)"} (${issue.message}); run every worker at the same hrpipe version.`,
    );
  }
  return parsed.data;
}
