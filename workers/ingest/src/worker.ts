import {
  artifactKeys,
  datasetIndexSchema,
  datasetPrefixOf,
  imageSequenceSchema,
  jobIds,
  type PayloadInput,
  uploadKeys,
  type WeightsProvenance,
  weightsProvenanceSchema,
} from "@hrpipe/contracts";
import {
  defineStage,
  readArtifact,
  readManifest,
  type Storage,
  writeArtifact,
  writeManifest,
} from "@hrpipe/runtime";
import { WaitingChildrenError } from "bullmq";
import { backboneHashes, gatherRun } from "./gather.ts";
import { type DatasetLocation, layoutTextFiles, plannedJobs, planRun } from "./plan.ts";

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
 * The ingest job drives a run in two steps. plan: list the dataset, write the manifest, add one ecg
 * job per participant and one decode job per video as children of this job, and wait for them (decode
 * jobs add their face jobs as children of this job too). gather: fold every child's result or failure
 * into the manifest, then add a train -> eval chain per protocol under one report job for the run.
 */
export const ingestStage = defineStage(
  "ingest",
  ({ storage, queues }) =>
    async (payload, { job, token, logger }) => {
      const runId = payload.runId;
      if (payload.step === "plan") {
        const { manifest, imageSequences } = planRun(
          payload,
          await locateDataset(storage, datasetPrefixOf(payload)),
        );
        for (const { key, sequence } of imageSequences)
          if (!(await storage.exists(key))) await writeArtifact(storage, key, imageSequenceSchema, sequence);
        await writeManifest(storage, manifest);
        const parent = { id: job.id!, queue: job.queueQualifiedName };
        const planned = plannedJobs(manifest);
        for (const stage of ["ecg", "decode"] as const)
          await queues.addBulk(
            stage,
            planned
              .filter((p) => p.stage === stage)
              .map((p) => ({
                payload: p.payload as PayloadInput<typeof stage>,
                options: { parent, ignoreDependencyOnFailure: true, jobId: p.jobId },
              })),
          );
        logger.info(
          {
            participants: manifest.participants.length,
            videos: manifest.videos.length,
            excluded: manifest.excluded.length,
          },
          "run planned",
        );
        await job.updateData({ ...payload, step: "gather" });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      const manifest = await readManifest(storage, runId);
      if (manifest.state === "cancelled") return { runId, state: "cancelled", reused: false };
      const results = await job.getChildrenValues();
      const backbones: Record<string, WeightsProvenance> = {};
      for (const hash of backboneHashes(results))
        if (await storage.exists(artifactKeys.backbone(hash)))
          backbones[hash] = await readArtifact(storage, artifactKeys.backbone(hash), weightsProvenanceSchema);
      const gathered = gatherRun(manifest, results, await job.getIgnoredChildrenFailures(), backbones);
      await writeManifest(storage, { ...gathered, state: "training" });
      // Per protocol a train -> eval chain, and one report job per run that waits for every eval,
      // failed or not, and gives the run its final state: every run ends done or failed, with reasons.
      await queues.addFlow({
        stage: "report",
        payload: { runId },
        jobId: jobIds.report(runId),
        children: gathered.options.protocols
          .filter((protocol) => !gathered.notEvaluated.some((n) => n.protocol === protocol))
          .map((protocol) => ({
            stage: "eval" as const,
            payload: { runId, protocol, options: gathered.options.eval },
            jobId: jobIds.eval(runId, protocol),
            onFailure: "continue" as const,
            children: [
              {
                stage: "train" as const,
                payload: {
                  runId,
                  protocol,
                  options: gathered.options.train,
                  ...(protocol === "cross-dataset" ? { trainedOn: gathered.options.trainedOn } : {}),
                },
                jobId: jobIds.train(runId, protocol),
                onFailure: "fail" as const,
              },
            ],
          })),
      });
      logger.info(
        {
          videos: gathered.artifacts.length,
          excluded: gathered.excluded.length,
          notEvaluated: gathered.notEvaluated.map((n) => n.protocol),
        },
        "run ingested; training queued",
      );
      return {
        runId,
        state: "training",
        videos: gathered.artifacts.length,
        excluded: gathered.excluded.length,
        reused: false,
      };
    },
);
