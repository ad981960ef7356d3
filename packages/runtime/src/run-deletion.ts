import {
  artifactKeys,
  isFinalRunState,
  jobIds,
  modelProvenanceSchema,
  parseJobId,
  type RunManifest,
  runManifestSchema,
  type StageName,
  safeId,
  stageNames,
} from "@hrpipe/contracts";
import { readArtifact } from "./artifact-io.ts";
import type { StageQueues } from "./queues.ts";
import type { Redis } from "./redis.ts";
import type { Storage } from "./storage/index.ts";

/** A run's state for `hrpipe runs list`, from its manifest. */
export interface RunSummary {
  runId: string;
  createdAt: string;
  state: RunManifest["state"];
  layout: RunManifest["layout"];
  datasetPrefix: string;
  videos: number;
  excluded: number;
  hasReport: boolean;
}

/**
 * The ids of the runs in storage: the folders directly under runs/ whose name is a safe id and that
 * hold a manifest.json. A folder that does not fit (a name with a space, a copy someone left) is
 * passed to `skip` with the reason, and the listing goes on.
 */
export async function listRunIds(
  storage: Storage,
  skip: (folder: string, reason: string) => void = () => {},
): Promise<string[]> {
  const ids: string[] = [];
  for (const folder of await storage.listFolders("runs/")) {
    try {
      safeId(folder, "run folder");
    } catch (error) {
      skip(`runs/${folder}`, (error as Error).message);
      continue;
    }
    if (await storage.exists(artifactKeys.manifest(folder))) ids.push(folder);
    else skip(`runs/${folder}`, "it holds no manifest.json");
  }
  return ids;
}

/** Every run whose manifest is in storage and readable, newest first; what does not fit goes to `skip`. */
export async function listRuns(
  storage: Storage,
  skip: (folder: string, reason: string) => void = () => {},
): Promise<RunManifest[]> {
  const manifests: RunManifest[] = [];
  for (const runId of await listRunIds(storage, skip)) {
    try {
      manifests.push(await readArtifact(storage, artifactKeys.manifest(runId), runManifestSchema));
    } catch (error) {
      skip(`runs/${runId}`, (error as Error).message);
    }
  }
  return manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function summariseRun(storage: Storage, manifest: RunManifest): Promise<RunSummary> {
  return {
    runId: manifest.runId,
    createdAt: manifest.createdAt,
    state: manifest.state,
    layout: manifest.layout,
    datasetPrefix: manifest.datasetPrefix,
    videos: manifest.videos.length,
    excluded: manifest.excluded.length,
    hasReport: await storage.exists(artifactKeys.runReport(manifest.runId)),
  };
}

function parentFolder(key: string, depth: number): string {
  return key.split("/").slice(0, depth).join("/");
}

/**
 * The content-addressed folders a run's results live in, at the granularity the stages reuse them:
 * a participant's labels (labels/<hash>/<participant>, with the summary that marks them complete),
 * a video's face, trace and features shards (faces|traces|features/<hash>/<participant>/<video>,
 * faceless markers included), and each trained head (heads/<hash>). Deleting a whole folder never leaves a
 * completion marker whose files are gone.
 */
export async function runArtifactFolders(storage: Storage, manifest: RunManifest): Promise<Set<string>> {
  const folders = new Set<string>();
  for (const video of manifest.artifacts) {
    if (video.labelsKey) folders.add(parentFolder(video.labelsKey, 3));
    for (const segment of video.segments) {
      folders.add(parentFolder(segment.facesKey, 4));
      folders.add(parentFolder(segment.tracesKey, 4));
      if (segment.featuresKey) folders.add(parentFolder(segment.featuresKey, 4));
    }
  }
  const modelsPrefix = `runs/${safeId(manifest.runId, "run id")}/models/`;
  for (const { key } of await storage.list(modelsPrefix))
    if (key.endsWith("/provenance.json"))
      folders.add(`heads/${(await readArtifact(storage, key, modelProvenanceSchema)).headHash}`);
  return folders;
}

export interface RunDeletionPlan {
  runId: string;
  /** Everything under runs/<id>/: manifest, reports, models, figures. */
  runObjects: string[];
  /** Shard folders no other run uses, with their objects. */
  folders: { folder: string; keys: string[] }[];
  /** Shard folders kept because another run uses them. */
  kept: { folder: string; usedBy: string[] }[];
  /** The run's jobs in Redis, by stage. */
  jobs: { stage: StageName; id: string }[];
  bytes: number;
}

/** A run's jobs in Redis: the job ids `jobIds` made for it, found by key pattern in each stage queue. */
async function runJobs(queues: StageQueues, runId: string): Promise<{ stage: StageName; id: string }[]> {
  const jobs: { stage: StageName; id: string }[] = [];
  for (const stage of stageNames) {
    const queue = queues.queue(stage);
    // Stage queues always run on one ioredis connection (createRedisConnection), never a cluster.
    const client = (await queue.client) as unknown as Redis;
    const base = `${queue.opts.prefix}:${stage}:`;
    const ids = new Set<string>();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${base}${stage}.${runId}*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const id = key.slice(base.length).split(":")[0]!;
        if (parseJobId(id).runId === runId) ids.add(id);
      }
    } while (cursor !== "0");
    for (const id of [...ids].sort()) jobs.push({ stage, id });
  }
  return jobs;
}

/**
 * What deleting a run removes: its own folder, the shard folders no other run's manifest points
 * into, and its jobs in Redis. Refuses a run that is still going (cancel it first). Uploaded datasets
 * (datasets/, blobs/) are inputs, not results, and stay.
 */
export async function planRunDeletion(
  storage: Storage,
  queues: StageQueues,
  runId: string,
): Promise<RunDeletionPlan> {
  safeId(runId, "run id");
  const runs = await listRuns(storage);
  const manifest = runs.find((m) => m.runId === runId);
  const ingest = await queues.queue("ingest").getJob(jobIds.ingest(runId));
  const ingestState = ingest ? await ingest.getState() : undefined;
  if (
    manifest
      ? !isFinalRunState(manifest.state)
      : ingestState !== undefined && ingestState !== "completed" && ingestState !== "failed"
  )
    throw new RunInProgressError(
      `run ${runId} is ${manifest?.state ?? ingestState}; cancel it first (hrpipe cancel ${runId}), then delete it.`,
    );
  const runObjects = await storage.list(`runs/${runId}/`);
  if (!manifest && runObjects.length === 0 && !ingest)
    throw new RunNotFoundError(
      `run ${runId} has no manifest, objects or jobs in ${storage.url}; see hrpipe runs list.`,
    );
  const mine = manifest ? await runArtifactFolders(storage, manifest) : new Set<string>();
  const usedBy = new Map<string, string[]>();
  for (const other of runs.filter((m) => m.runId !== runId))
    for (const folder of await runArtifactFolders(storage, other))
      if (mine.has(folder)) usedBy.set(folder, [...(usedBy.get(folder) ?? []), other.runId]);
  const folders: RunDeletionPlan["folders"] = [];
  let bytes = runObjects.reduce((sum, o) => sum + o.size, 0);
  for (const folder of [...mine].sort().filter((f) => !usedBy.has(f))) {
    const objects = await storage.list(`${folder}/`);
    bytes += objects.reduce((sum, o) => sum + o.size, 0);
    folders.push({ folder, keys: objects.map((o) => o.key) });
  }
  return {
    runId,
    runObjects: runObjects.map((o) => o.key),
    folders,
    kept: [...usedBy].map(([folder, runIds]) => ({ folder, usedBy: runIds })),
    jobs: await runJobs(queues, runId),
    bytes,
  };
}

/**
 * Carries out a plan: jobs first (so that nothing re-creates what is deleted), then shard folders,
 * then the run's own folder with its manifest last, so that an interrupted delete can be run again.
 */
export async function deleteRun(storage: Storage, queues: StageQueues, plan: RunDeletionPlan): Promise<void> {
  for (const { stage, id } of plan.jobs) await queues.queue(stage).remove(id, { removeChildren: true });
  for (const { keys } of plan.folders) for (const key of keys) await storage.delete(key);
  const manifestKey = artifactKeys.manifest(plan.runId);
  for (const key of plan.runObjects.filter((k) => k !== manifestKey)) await storage.delete(key);
  await storage.delete(manifestKey);
}

export class RunInProgressError extends Error {
  override name = "RunInProgressError";
}

export class RunNotFoundError extends Error {
  override name = "RunNotFoundError";
}
