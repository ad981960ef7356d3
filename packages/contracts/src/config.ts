import { z } from "zod";
import { stages } from "./stages.ts";

/** A setting in the environment that cannot be used; the message names the variable and the fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
const tfjsBackends = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;

const booleanString = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((value) => value === "1" || value === "true" || value === "yes");

const milliseconds = z.coerce
  .number()
  .int()
  .min(1000, "must be at least 1000 (ms)")
  .max(3_600_000, "must be at most 3600000 (ms)");

const retention = z.coerce.number().int().min(0, "must be a whole number of at least 0");

interface Variable<S extends z.ZodType> {
  schema: S;
  /** The default as a person reads it (README table, --help). */
  defaultText: string;
  meaning: string;
}
/** A worker default per stage as a person reads it, e.g. "30000; train and eval 900000". */
function stageDefaultText(
  key:
    | "lockDurationMs"
    | "stalledIntervalMs"
    | "concurrency"
    | "keepCompletedS"
    | "keepCompletedJobs"
    | "keepFailedS"
    | "keepFailedJobs",
): string {
  const byValue = new Map<number, string[]>();
  for (const stage of stages)
    byValue.set(stage.defaults[key], [...(byValue.get(stage.defaults[key]) ?? []), stage.name]);
  const [common, ...others] = [...byValue].sort((a, b) => b[1].length - a[1].length);
  return [String(common![0]), ...others.map(([value, names]) => `${names.join(" and ")} ${value}`)].join(
    "; ",
  );
}

const variable = <S extends z.ZodType>(schema: S, defaultText: string, meaning: string): Variable<S> => ({
  schema,
  defaultText,
  meaning,
});

/**
 * Every environment variable hrpipe reads, declared once: its validation, its default and what it
 * means. The README's configuration table, `hrpipe --help` and the deployment manifests' tests derive
 * from this table, and a test fails when the code reads a variable that is not declared here.
 */
export const environment = {
  REDIS_URL: variable(
    z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379")
      .optional(),
    "— (demo and run start their own)",
    "`redis://host:port`; the server must use `maxmemory-policy noeviction`",
  ),
  STORAGE_URL: variable(
    z
      .string()
      .regex(/^(s3:\/\/[^/\s]+(\/[^\s]*)?|file:\/\/[^\s]+)$/, "must be s3://bucket[/prefix] or file://dir")
      .default("file://./.hrpipe"),
    "`file://./.hrpipe`",
    "`file://dir` or `s3://bucket/prefix`",
  ),
  S3_ENDPOINT: variable(
    z.url({ message: "must be an http(s) URL such as http://127.0.0.1:9000" }).optional(),
    "AWS",
    "e.g. `http://s3:8333` (SeaweedFS in the compose file); path-style is then on by default",
  ),
  S3_REGION: variable(
    z.string().min(1).optional(),
    "`AWS_REGION`, else `us-east-1`",
    "the bucket's region; the AWS SDK's own `AWS_REGION` (or `AWS_DEFAULT_REGION`) when unset",
  ),
  AWS_REGION: variable(
    z.string().min(1).optional(),
    "—",
    "the AWS SDK's region, used when `S3_REGION` is unset",
  ),
  AWS_DEFAULT_REGION: variable(
    z.string().min(1).optional(),
    "—",
    "the AWS CLI's region, used when neither of the above is set",
  ),
  S3_ACCESS_KEY_ID: variable(z.string().min(1).optional(), "the SDK's chain", "S3 credentials"),
  S3_SECRET_ACCESS_KEY: variable(z.string().min(1).optional(), "the SDK's chain", "S3 credentials"),
  S3_FORCE_PATH_STYLE: variable(
    booleanString.optional(),
    "on with `S3_ENDPOINT`",
    "path-style addressing (MinIO, Ceph, R2); checksums are sent only when required, so third-party servers work",
  ),
  HRPIPE_QUEUE_PREFIX: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '-' or '_'")
      .default("hrpipe"),
    "`hrpipe`",
    "BullMQ key prefix, one per deployment",
  ),
  HRPIPE_CONCURRENCY: variable(
    z.coerce
      .number()
      .int()
      .min(1, "must be a whole number from 1 to 64")
      .max(64, "must be a whole number from 1 to 64")
      .optional(),
    stageDefaultText("concurrency"),
    "jobs per stage per worker process (`--concurrency` wins)",
  ),
  HRPIPE_LOCK_DURATION_MS: variable(
    milliseconds.optional(),
    stageDefaultText("lockDurationMs"),
    "how long a job's lock lasts without renewal: a killed worker's job moves on after about this; CPU-bound stages need minutes",
  ),
  HRPIPE_STALLED_INTERVAL_MS: variable(
    milliseconds.optional(),
    stageDefaultText("stalledIntervalMs"),
    "how often workers look for jobs whose lock has lapsed",
  ),
  HRPIPE_KEEP_COMPLETED_S: variable(
    retention.optional(),
    stageDefaultText("keepCompletedS"),
    "seconds a completed job stays in Redis (retention, every stage); a run that ends removes its own jobs at once, its report job aside",
  ),
  HRPIPE_KEEP_COMPLETED_JOBS: variable(
    retention.optional(),
    stageDefaultText("keepCompletedJobs"),
    "completed jobs kept per stage queue at most; older ones are removed as new ones complete",
  ),
  HRPIPE_KEEP_FAILED_S: variable(
    retention.optional(),
    stageDefaultText("keepFailedS"),
    "seconds a failed job stays",
  ),
  HRPIPE_KEEP_FAILED_JOBS: variable(
    retention.optional(),
    stageDefaultText("keepFailedJobs"),
    "failed jobs kept per stage queue at most",
  ),
  HRPIPE_METRICS_PORT: variable(
    z.coerce
      .number()
      .int()
      .min(1, "must be a TCP port from 1 to 65535")
      .max(65535, "must be a TCP port from 1 to 65535")
      .optional(),
    "— (off)",
    "a worker process serves `/metrics` and `/healthz` (503 while Redis is away or the worker drains) on this port, without credentials",
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(
    z.url({ message: "must be an http(s) URL such as http://otel-collector:4318" }).optional(),
    "— (off)",
    "an OTLP/HTTP collector: worker processes trace every job through the queues to `<endpoint>/v1/traces`",
  ),
  OTEL_SERVICE_NAME: variable(z.string().min(1).optional(), "`hrpipe`", "the traces' service name"),
  HRPIPE_DENSENET_WEIGHTS: variable(
    z.string().min(1).optional(),
    "random init",
    "DenseNet-161 safetensors (torchvision/timm names); without it every artifact and report says the backbone is randomly initialised",
  ),
  HRPIPE_FEATURES_BATCH: variable(
    z.coerce
      .number()
      .int()
      .min(1, "must be a whole number from 1 to 1024")
      .max(1024, "must be a whole number from 1 to 1024")
      .optional(),
    "16 on CPU, 64 on CUDA",
    "face crops per ONNX Runtime call in the features stage; lower it when a GPU runs out of memory",
  ),
  HRPIPE_TFJS_BACKEND: variable(
    z.enum(tfjsBackends, { message: `must be one of ${tfjsBackends.join(", ")}` }).optional(),
    "best available",
    "pin `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`",
  ),
  HRPIPE_DASHBOARD_USER: variable(
    z.string().min(1).optional(),
    "—",
    "basic-auth user of the dashboard (required with `--host` off loopback)",
  ),
  HRPIPE_DASHBOARD_PASSWORD: variable(z.string().min(1).optional(), "—", "its password"),
  HRPIPE_DASHBOARD_HOSTS: variable(
    z.string().min(1).optional(),
    "—",
    "comma-separated host names the dashboard answers to besides loopback and its bound address (an ingress's, a Service's)",
  ),
  FFMPEG_PATH: variable(z.string().min(1).optional(), "system, then npm-shipped", "the ffmpeg binary"),
  FFPROBE_PATH: variable(z.string().min(1).optional(), "system, then npm-shipped", "the ffprobe binary"),
  LOG_LEVEL: variable(
    z.enum(logLevels, { message: `must be one of ${logLevels.join(", ")}` }).default("info"),
    "`info`",
    "log level (trace, debug, info, warn, error, fatal); logs go to stderr (pretty on a terminal, JSON lines otherwise)",
  ),
  HRPIPE_DEBUG: variable(booleanString.optional(), "—", "`1`: errors print their stack and cause chain"),
};
export type VariableName = keyof typeof environment;

const envSchema = z.object(
  Object.fromEntries(Object.entries(environment).map(([name, v]) => [name, v.schema])) as {
    [K in VariableName]: (typeof environment)[K]["schema"];
  },
);

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
  /** Retention of finished jobs in Redis (see stages.ts). */
  keepCompletedS?: number;
  keepCompletedJobs?: number;
  keepFailedS?: number;
  keepFailedJobs?: number;
}

export interface HrpipeConfig {
  redisUrl?: string;
  storageUrl: string;
  s3: S3Settings;
  queuePrefix: string;
  /** A torchvision/timm DenseNet-161 safetensors file; without it the backbone is randomly initialised. */
  densenetWeights?: string;
  /** Face crops per backbone call; unset: chosen for the execution provider. */
  featuresBatch?: number;
  /** Overrides of every stage's declared worker defaults (see stages.ts); unset keeps each stage's own. */
  worker: WorkerOverrides;
  /** Where a worker process serves /metrics and /healthz; none without it. */
  metricsPort?: number;
  /** OpenTelemetry tracing of jobs: the OTLP/HTTP collector and the service name; off without it. */
  tracing: { endpoint?: string; serviceName: string };
  logLevel: (typeof logLevels)[number];
  /** Basic-auth credentials of the dashboard: both variables set, else none. */
  dashboard?: { user: string; password: string };
  /** Host names the dashboard answers to besides loopback and its bound address. */
  dashboardHosts: string[];
}

/** Variables whose value may hold a password, a key or a token (in a URL's user info or query). */
const secretBearing = new Set<string>([
  "REDIS_URL",
  "S3_ENDPOINT",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "HRPIPE_DASHBOARD_USER",
  "HRPIPE_DASHBOARD_PASSWORD",
]);

/** Reads and validates hrpipe's settings; throws one ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HrpipeConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    // A value that did not parse cannot be trusted to redact: a secret-bearing one is not shown at all.
    const shown = secretBearing.has(name)
      ? `${name} (not shown: it may hold a credential)`
      : `${name}=${JSON.stringify(env[name] ?? "")}`;
    throw new ConfigError(`${shown} is not valid: ${issue.message}; fix or unset ${name}.`);
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    storageUrl: e.STORAGE_URL,
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION ?? e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? "us-east-1",
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
    },
    queuePrefix: e.HRPIPE_QUEUE_PREFIX,
    densenetWeights: e.HRPIPE_DENSENET_WEIGHTS,
    featuresBatch: e.HRPIPE_FEATURES_BATCH,
    worker: {
      concurrency: e.HRPIPE_CONCURRENCY,
      lockDurationMs: e.HRPIPE_LOCK_DURATION_MS,
      stalledIntervalMs: e.HRPIPE_STALLED_INTERVAL_MS,
      keepCompletedS: e.HRPIPE_KEEP_COMPLETED_S,
      keepCompletedJobs: e.HRPIPE_KEEP_COMPLETED_JOBS,
      keepFailedS: e.HRPIPE_KEEP_FAILED_S,
      keepFailedJobs: e.HRPIPE_KEEP_FAILED_JOBS,
    },
    metricsPort: e.HRPIPE_METRICS_PORT,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME ?? "hrpipe" },
    logLevel: e.LOG_LEVEL,
    dashboardHosts: (e.HRPIPE_DASHBOARD_HOSTS ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== ""),
    dashboard:
      e.HRPIPE_DASHBOARD_USER && e.HRPIPE_DASHBOARD_PASSWORD
        ? { user: e.HRPIPE_DASHBOARD_USER, password: e.HRPIPE_DASHBOARD_PASSWORD }
        : undefined,
  };
}

/** Every environment variable hrpipe reads, for deployment manifests, help texts and their tests. */
export const configVariables = Object.keys(environment) as VariableName[];

/** The configuration table of README.md, rendered from the declarations above. */
export function environmentTable(): string {
  const rows = configVariables.map((name) => {
    const { defaultText, meaning } = environment[name];
    return `| \`${name}\` | ${defaultText} | ${meaning} |`;
  });
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Query parameters that carry a secret (`?password=`, `?token=`, an access key...). */
const secretParameter = /pass|secret|token|auth|key|cred|sig/i;

/**
 * A URL fit to print: the password in its user info and the value of every secret-bearing query
 * parameter replaced by ***. Works on text that is not a valid URL too (it is never parsed).
 */
export function redactUrl(url: string): string {
  return url
    .replace(/\/\/([^:@/?#]*):([^@/?#]*)@/, "//$1:***@")
    .replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (whole, separator: string, name: string) =>
      secretParameter.test(name) ? `${separator}${name}=***` : whole,
    );
}
