import {
  createStageWorker,
  jobIds,
  type Payload,
  readManifest,
  type StageQueues,
  type StageWorkerOptions,
  type Storage,
  writeManifest,
} from "@hrpipe/queue";
import { WaitingChildrenError } from "bullmq";
import { gatherRun } from "./gather.ts";
import { planRun } from "./plan.ts";

type IngestStep = "plan" | "gather";

/**
 * The ingest job drives a run in two steps. plan: list the dataset, write the manifest, add one ecg
 * job per participant and one decode job per video as children of this job, and wait for them (decode
 * jobs add their face jobs as children of this job too). gather: fold every child's result or failure
 * into the manifest, then add a train -> eval chain per protocol.
 */
export function createIngestWorker(storage: Storage, queues: StageQueues, options: StageWorkerOptions) {
  return createStageWorker(
    "ingest",
    async (payload: Payload<"ingest">, { job, token, logger }) => {
      const step: IngestStep = (job.data as { step?: IngestStep }).step ?? "plan";
      const parent = { id: job.id!, queue: job.queueQualifiedName };
      const child = { parent, ignoreDependencyOnFailure: true };
      if (step === "plan") {
        const manifest = await planRun(storage, payload);
        await writeManifest(storage, manifest);
        for (const { participant, matKey } of manifest.participants) {
          await queues.add(
            "ecg",
            { runId: payload.runId, participant, matKey, options: payload.ecg },
            { ...child, jobId: jobIds.ecg(payload.runId, participant) },
          );
        }
        for (const video of manifest.videos) {
          await queues.add(
            "decode",
            {
              runId: payload.runId,
              participant: video.participant,
              videoId: video.videoId,
              videoKey: video.videoKey,
              options: payload.decode,
              face: payload.face,
            },
            { ...child, jobId: jobIds.decode(payload.runId, video.participant, video.videoId) },
          );
        }
        logger.info(
          {
            participants: manifest.participants.length,
            videos: manifest.videos.length,
            excluded: manifest.excluded.length,
          },
          "run planned",
        );
        await job.updateData({ ...job.data, step: "gather" });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      const manifest = await readManifest(storage, payload.runId);
      if (manifest.state === "cancelled") return { runId: payload.runId, state: "cancelled" };
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
            payload: { runId: payload.runId, protocol, fold: 0 },
            jobId: jobIds.eval(payload.runId, protocol),
          },
          {
            stage: "train",
            payload: { runId: payload.runId, protocol, fold: 0, options: payload.train },
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
      };
    },
    options,
  );
}
