import { stat } from "node:fs/promises";
import {
  artifactKeys,
  contentHash,
  datasetPrefixOf,
  jobIds,
  newRunId,
  type PayloadInput,
  parsePayload,
  runOptionsOf,
} from "@hrpipe/contracts";
import {
  BadInputError,
  readManifest,
  resolveNetworks,
  type StageQueues,
  type Storage,
} from "@hrpipe/runtime";
import { UserError } from "../output.ts";
import { withPipeline } from "../pipeline.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { uploadFolder } from "../upload.ts";

export interface IngestCommandOptions extends RunCommandOptions {
  runId?: string;
  resume?: boolean;
}

/**
 * The dataset must live in the pipeline's storage: a key prefix, or a URI inside STORAGE_URL
 * (e.g. s3://bucket/prefix/datasets/amigos when STORAGE_URL is s3://bucket/prefix).
 */
export function prefixOfDatasetUri(
  datasetUri: string,
  storageUrl: string,
  resolvedStorageUrl: string,
): string {
  if (!/^[a-z0-9]+:\/\//i.test(datasetUri)) return datasetUri.replace(/^\/+|\/+$/g, "");
  for (const root of [storageUrl, resolvedStorageUrl]) {
    const base = root.replace(/\/+$/, "");
    if (datasetUri === base) return "";
    if (datasetUri.startsWith(`${base}/`)) return datasetUri.slice(base.length + 1).replace(/\/+$/, "");
  }
  throw new UserError(
    `${datasetUri} is not inside STORAGE_URL (${storageUrl}); copy the dataset there, or pass its key prefix within that storage.`,
  );
}

/** What `startRun` did. */
export type StartOutcome =
  | "queued"
  /** --resume: the run's ingest job had failed and was retried. */
  | "retried"
  /** --resume: the run is still being worked on; nothing was added. */
  | "in progress"
  /** --resume: the run has finished; nothing was added. */
  | "finished"
  /** --resume: the run's manifest exists but its ingest job is gone (removed or Redis lost): planned again. */
  | "requeued";

/**
 * Starts a run, or with `resume` continues the run of that id when its dataset and options are the
 * same. A run id already in use is refused otherwise: BullMQ ignores a second job of the same id, so
 * enqueueing it again would silently do nothing.
 */
export async function startRun(
  queues: StageQueues,
  storage: Storage,
  input: PayloadInput<"ingest">,
  options: { resume?: boolean } = {},
): Promise<StartOutcome> {
  const payload = parsePayload("ingest", input);
  const { runId } = payload;
  const job = await queues.queue("ingest").getJob(jobIds.ingest(runId));
  const manifestKey = artifactKeys.manifest(runId);
  const manifest = (await storage.exists(manifestKey)) ? await readManifest(storage, runId) : undefined;
  if (!job && !manifest) {
    await queues.add("ingest", payload, { jobId: jobIds.ingest(runId) });
    return "queued";
  }
  const state = job ? await job.getState() : "gone";
  if (!options.resume) {
    throw new UserError(
      `run id ${runId} is already used (ingest job ${state}${manifest ? `, manifest ${manifest.state}, dataset ${manifest.datasetPrefix}` : ""}); choose another --run-id, or pass --resume to continue that run with the same dataset and options.`,
    );
  }
  if (manifest) {
    const wanted = { datasetPrefix: datasetPrefixOf(payload), options: runOptionsOf(payload) };
    const differs = [
      wanted.datasetPrefix !== manifest.datasetPrefix ? `dataset ${manifest.datasetPrefix}` : undefined,
      ...Object.entries(wanted.options)
        .filter(
          ([name, value]) =>
            contentHash(value) !== contentHash(manifest.options[name as keyof typeof wanted.options]),
        )
        .map(([name]) => `${name} options`),
    ].filter((d) => d !== undefined);
    if (differs.length > 0) {
      throw new UserError(
        `run ${runId} was started with another ${differs.join(", ")}; --resume continues a run only with the same dataset and options (see ${manifestKey}), so choose another --run-id.`,
      );
    }
  }
  if (!job) {
    await queues.add("ingest", payload, { jobId: jobIds.ingest(runId) });
    return "requeued";
  }
  if (state === "failed") {
    await job.retry("failed");
    return "retried";
  }
  return state === "completed" ? "finished" : "in progress";
}

/**
 * The networks a run names must be imported in its storage: checked before any upload (the ingest
 * job checks again when it plans, and pins each name to its weights).
 */
export async function checkNetworks(storage: Storage, payload: PayloadInput<"ingest">): Promise<void> {
  try {
    await resolveNetworks(storage, payload.neural ?? []);
  } catch (error) {
    if (error instanceof BadInputError) throw new UserError(error.message);
    throw error;
  }
}

/** Whether a dataset argument names a folder on this machine rather than a prefix in storage. */
export async function isLocalFolder(dataset: string): Promise<boolean> {
  if (/^[a-z0-9]+:\/\//i.test(dataset)) return false;
  return (await stat(dataset).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * `hrpipe ingest <dataset>`: enqueue a dataset ingest job and print the run id. The dataset is a
 * prefix (or URI) in STORAGE_URL, or a local folder, which is uploaded first (content addressed: files
 * already stored are skipped, so a second ingest of the same folder uploads nothing).
 */
export function ingestCommand(dataset: string, options: IngestCommandOptions): Promise<number> {
  return withPipeline(async ({ config, queues, storage }) => {
    const runId = options.runId ?? newRunId();
    // Checked before any work: a bad option should not cost an upload.
    const payload = await ingestPayload(runId, "", options);
    await checkNetworks(storage, payload);
    let prefix: string;
    if (await isLocalFolder(dataset)) {
      const upload = await uploadFolder(storage, dataset);
      prefix = upload.datasetPrefix;
      process.stderr.write(
        `uploaded ${dataset}: ${upload.files} files, ${upload.uploadedFiles} stored now (${(upload.uploadedBytes / 1e6).toFixed(1)} MB), the rest already in ${storage.url}/blobs\n`,
      );
    } else {
      prefix = prefixOfDatasetUri(dataset, config.storageUrl, storage.url);
      const listed = await storage.list(prefix === "" ? "" : `${prefix}/`);
      if (listed.length === 0)
        throw new UserError(
          `nothing is stored under ${storage.url}/${prefix} and ${dataset} is no folder here; check the dataset (hrpipe synth writes a test dataset).`,
        );
    }
    const outcome = await startRun(
      queues,
      storage,
      { ...payload, datasetPrefix: prefix },
      {
        resume: options.resume,
      },
    );
    process.stdout.write(`${runId}\n`);
    const said: Record<StartOutcome, string> = {
      queued: `ingest of ${storage.url}/${prefix} queued as ${runId}`,
      retried: `run ${runId} resumed: its failed ingest job was retried`,
      "in progress": `run ${runId} is still in progress; nothing was added`,
      finished: `run ${runId} has already finished; nothing was added; read it with: hrpipe report ${runId}`,
      requeued: `run ${runId} resumed: its ingest job was gone, so it was planned again (finished work is reused)`,
    };
    const follow = outcome === "finished" ? "" : `; follow it with: hrpipe status ${runId} --watch`;
    process.stderr.write(`${said[outcome]}${follow}\n`);
    return 0;
  });
}
