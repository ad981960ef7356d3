import {
  isFinalRunState,
  jobIds,
  parseJobId,
  type RunManifest,
  type StageName,
  stageNames,
} from "@hrpipe/contracts";
import type { Job } from "bullmq";
import { readManifest, writeManifest } from "./manifest-io.ts";
import type { StageQueues } from "./queues.ts";
import type { Storage } from "./storage/index.ts";

export interface StageProgress {
  done: number;
  failed: number;
  pending: number;
  /** Of the done jobs: those that computed something, and those that found every artifact existing. */
  computed: number;
  reused: number;
}

export interface RunProgress {
  runId: string;
  manifest?: RunManifest;
  /** Per stage of the graph: jobs done (computed or reused), failed and still to run. */
  stages: Record<StageName, StageProgress>;
  failures: { stage: string; job: string; reason: string }[];
  /** The run has reached a final state: done, failed or cancelled. */
  finished: boolean;
}

const jobStates = [
  "active",
  "waiting",
  "waiting-children",
  "delayed",
  "prioritized",
  "completed",
  "failed",
  "paused",
] as const;
/** A queue's jobs by state. */
export type JobCounts = Record<(typeof jobStates)[number], number>;
export type QueueCounts = Record<StageName, JobCounts>;

/** Jobs per queue and state (every stage's, or the given ones'): what `hrpipe status` and /metrics show. */
export async function queueCounts<S extends StageName = StageName>(
  queues: StageQueues,
  // The default is every stage, which is what S defaults to.
  stages: readonly S[] = stageNames as unknown as readonly S[],
): Promise<Record<S, JobCounts>> {
  const entries = await Promise.all(
    stages.map(async (stage) => [stage, await queues.queue(stage).getJobCounts(...jobStates)] as const),
  );
  return Object.fromEntries(entries) as Record<S, JobCounts>;
}

function empty(): StageProgress {
  return { done: 0, failed: 0, pending: 0, computed: 0, reused: 0 };
}

/** Counts a finished job's result: every stage's result says whether it reused existing artifacts. */
function countDone(stage: StageProgress, returnValue: unknown): void {
  stage.done++;
  let value = returnValue;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      value = undefined;
    }
  }
  if ((value as { reused?: unknown } | undefined)?.reused === true) stage.reused++;
  else stage.computed++;
}

function record(progress: RunProgress, job: Job | undefined, state: string, stage: StageName): void {
  if (!job) return;
  if (state === "completed") countDone(progress.stages[stage], job.returnvalue);
  else if (state === "failed") {
    progress.stages[stage].failed++;
    progress.failures.push({ stage, job: job.id ?? "", reason: job.failedReason });
  } else progress.stages[stage].pending++;
}

/**
 * A job and its state, the state read first: a job read before it failed has no failedReason yet,
 * and its state read a moment later would say "failed" without one.
 */
async function jobAndState(
  queues: StageQueues,
  stage: StageName,
  jobId: string,
): Promise<{ job: Job | undefined; state: string }> {
  const state = await queues.queue(stage).getJobState(jobId);
  return { job: await queues.queue(stage).getJob(jobId), state };
}

/** The kinds of a parent job's dependencies, and where BullMQ gives each kind's next page. */
const dependencyKinds = ["processed", "unprocessed", "ignored"] as const;
type DependencyKind = (typeof dependencyKinds)[number];
const nextCursor = {
  processed: "nextProcessedCursor",
  unprocessed: "nextUnprocessedCursor",
  ignored: "nextIgnoredCursor",
} as const satisfies Record<DependencyKind, string>;

/** How far a run has come, from its ingest job's children, its train and eval jobs, and its manifest. */
export async function runProgress(
  queues: StageQueues,
  storage: Storage,
  runId: string,
  /** Dependencies read per round trip (tests make it small to cross page boundaries). */
  pageSize = 10_000,
): Promise<RunProgress> {
  const progress: RunProgress = {
    runId,
    stages: Object.fromEntries(stageNames.map((s) => [s, empty()])) as Record<StageName, StageProgress>,
    failures: [],
    finished: false,
  };
  progress.manifest = await readManifest(storage, runId).catch(() => undefined);
  const retired = progress.manifest?.jobs;
  if (retired) {
    // The run has ended and its jobs have left Redis: its counters are in the manifest.
    for (const stage of stageNames) progress.stages[stage] = retired.stages[stage] ?? empty();
    progress.failures = retired.failures;
    progress.finished = true;
    return progress;
  }
  const { job: ingest, state: ingestState } = await jobAndState(queues, "ingest", jobIds.ingest(runId));
  if (ingest && ingestState) {
    record(progress, ingest, ingestState, "ingest");
    // Dependencies come in pages: follow each kind's cursor to its end, asking only for the kinds
    // not finished yet (a cursor of 0 would scan that kind again from its start).
    const cursors = new Map<DependencyKind, number>(dependencyKinds.map((kind) => [kind, 0]));
    while (cursors.size > 0) {
      const deps = await ingest.getDependencies(
        Object.fromEntries([...cursors].map(([kind, cursor]) => [kind, { count: pageSize, cursor }])),
      );
      for (const [key, value] of Object.entries(deps.processed ?? {}))
        countDone(progress.stages[parseJobId(key).stage as StageName], value);
      for (const key of deps.unprocessed ?? []) progress.stages[parseJobId(key).stage as StageName].pending++;
      for (const [key, reason] of Object.entries(deps.ignored ?? {})) {
        const stage = parseJobId(key).stage as StageName;
        progress.stages[stage].failed++;
        progress.failures.push({ stage, job: key.split(":").pop() ?? key, reason: String(reason) });
      }
      for (const kind of [...cursors.keys()]) {
        const next = deps[nextCursor[kind]] ?? 0;
        if (next === 0) cursors.delete(kind);
        else cursors.set(kind, next);
      }
    }
  }
  for (const protocol of progress.manifest?.options.protocols ?? []) {
    for (const stage of ["train", "eval"] as const) {
      const { job, state } = await jobAndState(queues, stage, jobIds[stage](runId, protocol));
      record(progress, job, state, stage);
    }
  }
  const report = await jobAndState(queues, "report", jobIds.report(runId));
  record(progress, report.job, report.state, "report");
  // A failed ingest job ends the run whatever its manifest says (a plan that refused the dataset
  // writes none): nothing else is queued after it.
  progress.finished = isFinalRunState(progress.manifest?.state) || ingestState === "failed";
  return progress;
}

/**
 * What an ended run leaves in Redis: only its report job, which retention removes in time. Called by
 * the report job once it has given the run its final state: the run's job counters and failures go
 * into its manifest (where `hrpipe status` reads them from then on, in one read), then its ingest job
 * with every ecg, decode, face and features job under it, and its train and eval jobs, are removed.
 * Their results are in the manifest and in storage already; without this, an AMIGOS-size run would
 * leave some 50,000 finished jobs in Redis until retention catches up.
 */
export async function retireRun(queues: StageQueues, storage: Storage, runId: string): Promise<void> {
  const progress = await runProgress(queues, storage, runId);
  if (!progress.manifest) return;
  // The report job calling this is still active; it has done its work.
  progress.stages.report = { ...empty(), done: 1, computed: 1 };
  await writeManifest(storage, {
    ...progress.manifest,
    jobs: { stages: progress.stages, failures: progress.failures },
  });
  await queues.queue("ingest").remove(jobIds.ingest(runId), { removeChildren: true });
  for (const protocol of progress.manifest.options.protocols)
    for (const stage of ["eval", "train"] as const)
      await queues.queue(stage).remove(jobIds[stage](runId, protocol), { removeChildren: true });
}

/**
 * Cancels a run: the manifest says so, and the run's queued work is removed (the ingest job with its
 * waiting ecg, decode and face children, and the train and eval jobs). Jobs a worker is running
 * finish, but nothing follows them.
 */
export async function cancelRun(
  queues: StageQueues,
  storage: Storage,
  runId: string,
): Promise<{ removed: string[] }> {
  const manifest = await readManifest(storage, runId);
  await writeManifest(storage, { ...manifest, state: "cancelled" });
  const removed: string[] = [];
  const ingest = await queues.queue("ingest").getJob(jobIds.ingest(runId));
  if (ingest && !(await ingest.isCompleted())) {
    const children = await ingest.getDependencies({ unprocessed: { count: 100_000 } });
    await ingest.remove({ removeChildren: true });
    removed.push(ingest.id!, ...(children.unprocessed ?? []).map((key) => key.split(":").pop()!));
  }
  const report = await queues.queue("report").getJob(jobIds.report(runId));
  if (report && !(await report.isCompleted()) && !(await report.isActive())) {
    const children = await report.getDependencies({ unprocessed: { count: 1000 } });
    await report.remove({ removeChildren: true });
    removed.push(report.id!, ...(children.unprocessed ?? []).map((key) => key.split(":").pop()!));
  }
  return { removed };
}
