import { jobIds, type ProtocolName, parseJobId } from "@hrpipe/contracts";
import { defineStage, retireRun, type StageQueues } from "@hrpipe/runtime";
import { processReportJob } from "./processor.ts";

/** Why each protocol's eval job failed; when its train job failed first, that job's own reason. */
async function protocolFailures(
  queues: StageQueues,
  runId: string,
  ignored: Record<string, string>,
): Promise<Partial<Record<ProtocolName, string>>> {
  const failures: Partial<Record<ProtocolName, string>> = {};
  for (const [jobKey, reason] of Object.entries(ignored)) {
    const protocol = parseJobId(jobKey).participant as ProtocolName;
    const train = await queues.queue("train").getJob(jobIds.train(runId, protocol));
    failures[protocol] = train?.failedReason
      ? `training failed: ${train.failedReason}`
      : `evaluation failed: ${reason}`;
  }
  return failures;
}

/**
 * Binds the report processor to the `report` queue: it runs once every eval job of its run has
 * finished, gives the run its final state, then retires the run's jobs from Redis (retireRun).
 */
export const reportStage = defineStage(
  "report",
  ({ storage, queues }) =>
    async (payload, { children, logger }) => {
      const result = await processReportJob(
        {
          runId: payload.runId,
          failures: await protocolFailures(queues, payload.runId, await children.failures()),
        },
        { storage, logger },
      );
      await retireRun(queues, storage, payload.runId);
      return result;
    },
);
