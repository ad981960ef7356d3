import {
  type FlowNode,
  type LinkedJob,
  type Payload,
  type PayloadInput,
  type StageLinks,
  type StageName,
  type StageOutputs,
  stageGraph,
  stageNames,
} from "@hrpipe/contracts";
import { type Job, WaitingChildrenError } from "bullmq";
import type { StageProcessor, StageQueues, WorkerProcessor } from "./queues.ts";

function flowStages(node: FlowNode | undefined): StageName[] {
  return node ? [node.stage, ...(node.children ?? []).flatMap((child) => flowStages(child))] : [];
}

/** What a job of `stage` leads to, checked against its declaration: a link adds only the stages it names. */
export function declaredLinks<S extends StageName>(
  stage: S,
  payload: Payload<S>,
  output: StageOutputs[S],
): StageLinks {
  const links = stageGraph[stage].links.jobs(payload as never, output as never);
  const declared = stageGraph[stage].links.adds;
  for (const target of [...links.gathered.map((linked) => linked.stage), ...flowStages(links.flow)])
    if (!declared.includes(target))
      throw new Error(
        `the ${stage} stage's links returned a job of the ${target} stage, which stageGraph.${stage}.links.adds does not name; declare it there.`,
      );
  return links;
}

/**
 * Adds the jobs a job leads to: its gathered jobs under the run (under this job itself when it waits
 * for them), one bulk round trip per stage, then its flow.
 */
export async function addLinkedJobs(
  queues: StageQueues,
  links: StageLinks,
  job: Pick<Job, "id" | "queueQualifiedName" | "opts">,
): Promise<void> {
  const parent = links.resumeWith ? { id: job.id!, queue: job.queueQualifiedName } : job.opts.parent;
  const under = parent ? { parent, ignoreDependencyOnFailure: true } : {};
  for (const target of stageNames) {
    const jobs = links.gathered.filter((linked): linked is LinkedJob => linked.stage === target);
    if (jobs.length > 0)
      await queues.addBulk(
        target,
        jobs.map((linked) => ({
          payload: linked.payload as PayloadInput<typeof target>,
          options: { jobId: linked.jobId, ...under },
        })),
      );
  }
  if (links.flow) await queues.addFlow(links.flow);
}

/**
 * A stage's processor with its links: the jobs its output leads to are added, and what the job
 * returns is its output as the stage's result schema keeps it. A job that waits for the jobs it
 * added (resumeWith) moves to waiting-children and runs again with its next payload once they end.
 */
export function linkedProcessor<S extends StageName>(
  stage: S,
  processor: StageProcessor<S, StageOutputs[S]>,
  queues: StageQueues,
): WorkerProcessor<S, unknown> {
  const run: WorkerProcessor<S, unknown> = async (payload, context) => {
    const output = await processor(payload, context);
    const links = declaredLinks(stage, payload, output);
    await addLinkedJobs(queues, links, context.job);
    if (!links.resumeWith) return stageGraph[stage].result.parse(output);
    await context.job.updateData(links.resumeWith);
    if (await context.job.moveToWaitingChildren(context.token!)) throw new WaitingChildrenError();
    // Every child had already ended: go straight on to the next step.
    return run(links.resumeWith as Payload<S>, context);
  };
  return run;
}
