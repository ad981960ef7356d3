import { type QueueCounts, queueCounts, type StageQueues, stageNames } from "@hrpipe/queue";

const states = [
  "waiting",
  "prioritized",
  "active",
  "delayed",
  "waiting-children",
  "completed",
  "failed",
  "paused",
] as const;

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The metric names the autoscaler and the docs rely on; a test checks infra/ reads only these. */
export const exportedMetrics = [
  "hrpipe_queue_jobs",
  "hrpipe_queue_backlog",
  "hrpipe_jobs_failed",
  "hrpipe_job_duration_seconds",
] as const;

/**
 * Prometheus text exposition: jobs per queue and state (prioritized included), the backlog an
 * autoscaler scales on (waiting + prioritized), failures, and job durations over recent jobs.
 */
export async function renderMetrics(queues: StageQueues, counts?: QueueCounts): Promise<string> {
  const current = counts ?? (await queueCounts(queues));
  const lines: string[] = [
    "# HELP hrpipe_queue_jobs Jobs in a stage queue, by state.",
    "# TYPE hrpipe_queue_jobs gauge",
  ];
  for (const stage of stageNames)
    for (const state of states)
      lines.push(`hrpipe_queue_jobs{queue="${stage}",state="${state}"} ${current[stage][state] ?? 0}`);
  lines.push(
    "# HELP hrpipe_queue_backlog Jobs waiting to be taken (waiting + prioritized): what autoscalers scale on.",
    "# TYPE hrpipe_queue_backlog gauge",
  );
  for (const stage of stageNames)
    lines.push(
      `hrpipe_queue_backlog{queue="${stage}"} ${(current[stage].waiting ?? 0) + (current[stage].prioritized ?? 0)}`,
    );
  lines.push(
    "# HELP hrpipe_jobs_failed Jobs that failed for good (kept for 30 days).",
    "# TYPE hrpipe_jobs_failed gauge",
  );
  for (const stage of stageNames)
    lines.push(`hrpipe_jobs_failed{queue="${stage}"} ${current[stage].failed ?? 0}`);
  lines.push(
    "# HELP hrpipe_job_duration_seconds Processing time of the last 200 completed jobs.",
    "# TYPE hrpipe_job_duration_seconds summary",
  );
  for (const stage of stageNames) {
    const jobs = await queues.queue(stage).getJobs(["completed"], 0, 199);
    const durations = jobs
      .filter((job) => job.finishedOn && job.processedOn)
      .map((job) => (job.finishedOn! - job.processedOn!) / 1000)
      .sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99])
      lines.push(`hrpipe_job_duration_seconds{queue="${stage}",quantile="${q}"} ${quantile(durations, q)}`);
    lines.push(`hrpipe_job_duration_seconds_sum{queue="${stage}"} ${durations.reduce((s, v) => s + v, 0)}`);
    lines.push(`hrpipe_job_duration_seconds_count{queue="${stage}"} ${durations.length}`);
  }
  return `${lines.join("\n")}\n`;
}
