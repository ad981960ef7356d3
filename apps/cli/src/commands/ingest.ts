import {
  type HrpipeConfig,
  jobIds,
  loadConfig,
  newRunId,
  openRedis,
  openStorage,
  type PayloadInput,
  type ProtocolName,
  protocolNames,
  StageQueues,
} from "@hrpipe/queue";
import { UserError } from "../output.ts";

export interface IngestCommandOptions {
  runId?: string;
  protocols: string;
  segment: number;
  column: number;
  window: number;
  fps: number;
  epochs: number;
  detectEvery: number;
  evalWindow: number;
  evalStride: number;
}

/**
 * The dataset must live in the pipeline's storage: a key prefix, or a URI inside STORAGE_URL
 * (e.g. s3://bucket/prefix/datasets/amigos when STORAGE_URL is s3://bucket/prefix).
 */
export function datasetPrefixOf(datasetUri: string, storageUrl: string, resolvedStorageUrl: string): string {
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

export function ingestPayload(
  runId: string,
  datasetPrefix: string,
  options: IngestCommandOptions,
): PayloadInput<"ingest"> {
  const protocols = options.protocols.split(",").map((p) => p.trim());
  const unknown = protocols.filter((p) => !protocolNames.includes(p as ProtocolName));
  if (unknown.length > 0)
    throw new UserError(`--protocols has ${unknown.join(", ")}; choose from ${protocolNames.join(", ")}.`);
  return {
    runId,
    datasetPrefix,
    protocols: protocols as ProtocolName[],
    ecg: { column: options.column, fps: options.fps, windowS: options.window },
    decode: { segmentS: options.segment },
    face: { detectEvery: options.detectEvery },
    train: { epochs: options.epochs },
    eval: { windowS: options.evalWindow, strideS: options.evalStride },
  };
}

/** Adds the ingest job of a run; returns its run id. */
export async function enqueueIngest(config: HrpipeConfig, payload: PayloadInput<"ingest">): Promise<string> {
  const connection = await openRedis(config.redisUrl!, "producer");
  const queues = new StageQueues({ connection, prefix: config.queuePrefix });
  try {
    await queues.add("ingest", payload, { jobId: jobIds.ingest(payload.runId) });
  } finally {
    await queues.close();
    connection.disconnect();
  }
  return payload.runId;
}

/** `hrpipe ingest <datasetUri>`: enqueue a dataset ingest job and print the run id. */
export async function ingestCommand(datasetUri: string, options: IngestCommandOptions): Promise<number> {
  const config = loadConfig();
  if (!config.redisUrl)
    throw new UserError("REDIS_URL is not set; point it at the Redis server your workers use.");
  const storage = openStorage(config.storageUrl, config);
  const prefix = datasetPrefixOf(datasetUri, config.storageUrl, storage.url);
  const listed = await storage.list(prefix === "" ? "" : `${prefix}/`);
  await storage.close();
  if (listed.length === 0)
    throw new UserError(
      `nothing is stored under ${storage.url}/${prefix}; check the dataset URI (hrpipe synth writes a test dataset).`,
    );
  const runId = await enqueueIngest(config, ingestPayload(options.runId ?? newRunId(), prefix, options));
  process.stdout.write(`${runId}\n`);
  process.stderr.write(
    `ingest of ${storage.url}/${prefix} queued as ${runId}; follow it with: hrpipe status ${runId} --watch\n`,
  );
  return 0;
}
