import { datasetPrefixOf, defineStage, jobIds, readManifest, writeManifest } from "@hrpipe/queue";
import { WaitingChildrenError } from "bullmq";
import { gatherRun } from "./gather.ts";
import { plannedJobs, planRun } from "./plan.ts";

/**
 * The ingest job drives a run in two steps. plan: list the dataset, write the manifest, add one ecg
 * job per participant and one decode job per video as children of this job, and wait for them (decode
 * jobs add their face jobs as children of this job too). gather: fold every child's result or failure
 * into the manifest, then add a train -> eval chain per protocol.
 */
export const ingestStage = defineStage(
  "ingest",
  ({ storage, queues }) =>
    async (payload, { job, token, logger }) => {
      if (payload.step === "plan") {
        const prefix = datasetPrefixOf(payload);
        const manifest = planRun(payload, {
          storageUrl: storage.url,
          objects: await storage.list(prefix === "" ? "" : `${prefix}/`),
          createdAt: new Date().toISOString(),
        });
        await writeManifest(storage, manifest);
        const parent = { id: job.id!, queue: job.queueQualifiedName };
        for (const planned of plannedJobs(manifest)) {
          await queues.add(planned.stage, planned.payload, {
            parent,
            ignoreDependencyOnFailure: true,
            jobId: planned.jobId,
          });
        }
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
      const manifest = await readManifest(storage, payload.runId);
      if (manifest.state === "cancelled") return { runId: payload.runId, state: "cancelled", reused: false };
      const gathered = gatherRun(
        manifest,
        await job.getChildrenValues(),
        await job.getIgnoredChildrenFailures(),
      );
      await writeManifest(storage, gathered);
      for (const protocol of gathered.options.protocols) {
        const split = gathered.splits[protocol]!;
        if (split.train.length === 0 || split.test.length === 0) {
          logger.warn(
            { protocol, train: split.train.length, test: split.test.length },
            `${protocol}: not enough videos to train and test; skipped`,
          );
          continue;
        }
        await queues.addChain(
          {
            stage: "eval",
            payload: { runId: payload.runId, protocol, options: gathered.options.eval },
            jobId: jobIds.eval(payload.runId, protocol),
          },
          {
            stage: "train",
            payload: { runId: payload.runId, protocol, options: gathered.options.train },
            jobId: jobIds.train(payload.runId, protocol),
          },
        );
      }
      await writeManifest(storage, { ...gathered, state: "training" });
      logger.info(
        { videos: gathered.artifacts.length, excluded: gathered.excluded.length },
        "run ingested; training queued",
      );
      return {
        runId: payload.runId,
        state: "training",
        videos: gathered.artifacts.length,
        excluded: gathered.excluded.length,
        reused: false,
      };
    },
);
