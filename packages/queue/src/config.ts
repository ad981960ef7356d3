import { z } from "zod";

/** A setting in the environment that cannot be used; the message names the variable and the fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const booleanString = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((value) => value === "1" || value === "true" || value === "yes");

const milliseconds = z.coerce
  .number()
  .int()
  .min(1000, "must be at least 1000 (ms)")
  .max(3_600_000, "must be at most 3600000 (ms)");

const envSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379")
    .optional(),
  STORAGE_URL: z
    .string()
    .regex(/^(s3:\/\/[^/\s]+(\/[^\s]*)?|file:\/\/[^\s]+)$/, "must be s3://bucket[/prefix] or file://dir")
    .default("file://./.hrpipe"),
  S3_ENDPOINT: z.url({ message: "must be an http(s) URL such as http://127.0.0.1:9000" }).optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: booleanString.optional(),
  HRPIPE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '-' or '_'")
    .default("hrpipe"),
  HRPIPE_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1, "must be a whole number from 1 to 64")
    .max(64, "must be a whole number from 1 to 64")
    .optional(),
  HRPIPE_LOCK_DURATION_MS: milliseconds.optional(),
  HRPIPE_STALLED_INTERVAL_MS: milliseconds.optional(),
  HRPIPE_READY_FILE: z.string().min(1).optional(),
  HRPIPE_DENSENET_WEIGHTS: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(logLevels, { message: `must be one of ${logLevels.join(", ")}` }).default("info"),
});

export interface S3Settings {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style addressing: what MinIO, Ceph and most self-hosted servers need. */
  forcePathStyle: boolean;
}

export interface WorkerOverrides {
  /** Jobs one worker process runs at once, per stage. */
  concurrency?: number;
  /** How long a job's lock lasts: a killed worker's job moves on after about this. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. */
  stalledIntervalMs?: number;
}

export interface HrpipeConfig {
  redisUrl?: string;
  storageUrl: string;
  s3: S3Settings;
  queuePrefix: string;
  /** A torchvision/timm DenseNet-161 safetensors file; without it the backbone is randomly initialised. */
  densenetWeights?: string;
  /** Overrides of every stage's declared worker defaults (see stages.ts); unset keeps each stage's own. */
  worker: WorkerOverrides;
  /** Written once a worker process takes jobs, removed when it drains (a Kubernetes readiness probe). */
  readyFile?: string;
  logLevel: (typeof logLevels)[number];
}

/** Reads and validates hrpipe's settings; throws one ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HrpipeConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    throw new ConfigError(
      `${variable}=${JSON.stringify(env[variable] ?? "")} is not valid: ${issue.message}; fix or unset ${variable}.`,
    );
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    storageUrl: e.STORAGE_URL,
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
    },
    queuePrefix: e.HRPIPE_QUEUE_PREFIX,
    densenetWeights: e.HRPIPE_DENSENET_WEIGHTS,
    worker: {
      concurrency: e.HRPIPE_CONCURRENCY,
      lockDurationMs: e.HRPIPE_LOCK_DURATION_MS,
      stalledIntervalMs: e.HRPIPE_STALLED_INTERVAL_MS,
    },
    readyFile: e.HRPIPE_READY_FILE,
    logLevel: e.LOG_LEVEL,
  };
}

/** Every environment variable hrpipe reads, for deployment manifests and their tests. */
export const configVariables = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
