import {
  artifactKeys,
  datasetIndexSchema,
  datasetPrefixOf,
  imageSequenceSchema,
  measuresNetworks,
  type Payload,
  type StageOutputs,
  uploadKeys,
  type WeightsProvenance,
  weightsProvenanceSchema,
} from "@hrpipe/contracts";
import {
  type ChildOutcomes,
  type Logger,
  readArtifact,
  readManifest,
  resolveNetworks,
  type Storage,
  writeArtifact,
  writeManifest,
} from "@hrpipe/runtime";
import { backboneHashes, gatherPulses, gatherRun } from "./gather.ts";
import { type DatasetLocation, layoutTextFiles, planRun } from "./plan.ts";

export interface IngestJobOptions {
  storage: Storage;
  /** The outcomes of the jobs the plan led to (read by the gather step). */
  children: ChildOutcomes;
  logger?: Logger;
}

/** A dataset's files: an uploaded folder's index (paths to content-addressed blobs), or every key under its prefix. */
async function locateDataset(storage: Storage, prefix: string): Promise<DatasetLocation> {
  const indexKey = uploadKeys.index(prefix);
  const index = (await storage.exists(indexKey))
    ? await readArtifact(storage, indexKey, datasetIndexSchema)
    : undefined;
  const files = index
    ? index.files.map(({ path, sha256 }) => ({ path, key: uploadKeys.blob(sha256) }))
    : (await storage.list(prefix === "" ? "" : `${prefix}/`)).map(({ key }) => ({
        path: prefix === "" ? key : key.slice(prefix.length + 1),
        key,
      }));
  const texts: Record<string, string> = {};
  for (const path of layoutTextFiles(files.map((f) => f.path)))
    texts[path] = (await storage.get(files.find((f) => f.path === path)!.key)).toString("utf8");
  return {
    storageUrl: storage.url,
    files,
    skipped: index?.skipped,
    texts,
    createdAt: new Date().toISOString(),
  };
}

/**
 * A run's ingest job, in steps around pure functions. plan: list the dataset and write the
 * manifest (planRun); its links add one labels job per participant and one decode job per video under
 * this job, which waits for them and every job they lead to. gather: fold every child's result or
 * failure into the manifest (gatherRun); its links add the run's train -> eval chains under one
 * report job.
 */
export async function processIngestJob(
  payload: Payload<"ingest">,
  { storage, children, logger }: IngestJobOptions,
): Promise<StageOutputs["ingest"]> {
  const runId = payload.runId;
  if (payload.step === "plan") {
    const networks = await resolveNetworks(storage, payload.neural);
    const planned = planRun(payload, await locateDataset(storage, datasetPrefixOf(payload)));
    const manifest = { ...planned.manifest, networks };
    const { imageSequences } = planned;
    for (const { key, sequence } of imageSequences)
      if (!(await storage.exists(key))) await writeArtifact(storage, key, imageSequenceSchema, sequence);
    await writeManifest(storage, manifest);
    logger?.info(
      {
        participants: manifest.participants.length,
        videos: manifest.videos.length,
        excluded: manifest.excluded.length,
      },
      "run planned",
    );
    return { runId, state: manifest.state, reused: false, manifest };
  }
  const manifest = await readManifest(storage, runId);
  if (manifest.state === "cancelled") return { runId, state: "cancelled", reused: false };
  const results = await children.results();
  if (payload.step === "networks") {
    const measured = {
      ...gatherPulses(manifest, results, await children.failures()),
      state: "training" as const,
    };
    await writeManifest(storage, measured);
    logger?.info({ networks: measured.networks.map((n) => n.name) }, "networks measured; training queued");
    return {
      runId,
      state: "training",
      videos: measured.artifacts.length,
      excluded: measured.excluded.length,
      reused: false,
      manifest: measured,
    };
  }
  const backbones: Record<string, WeightsProvenance> = {};
  for (const hash of backboneHashes(results))
    if (await storage.exists(artifactKeys.backbone(hash)))
      backbones[hash] = await readArtifact(storage, artifactKeys.backbone(hash), weightsProvenanceSchema);
  const folded = gatherRun(manifest, results, await children.failures(), backbones);
  // With networks to run the manifest stays ingested until their pulses are folded in.
  const gathered = {
    ...folded,
    state: measuresNetworks(folded) ? folded.state : ("training" as const),
  };
  await writeManifest(storage, gathered);
  logger?.info(
    {
      videos: gathered.artifacts.length,
      excluded: gathered.excluded.length,
      notEvaluated: gathered.notEvaluated.map((n) => n.protocol),
    },
    "run ingested; training queued",
  );
  return {
    runId,
    state: gathered.state,
    videos: gathered.artifacts.length,
    excluded: gathered.excluded.length,
    reused: false,
    manifest: gathered,
  };
}
