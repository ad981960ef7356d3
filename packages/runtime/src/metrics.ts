import type { StageName } from "@hrpipe/contracts";
import type { Worker } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type JobCounts, queueCounts } from "./progress.ts";
import type { StageQueues } from "./queues.ts";

/**
 * The metric names dashboards, alerts and the autoscaler rely on; a test checks that infra/ reads
 * only these. Every metric is labelled `queue` with the stage's name, so PromQL joins them directly.
 */
export const metricNames = {
  queueJobs: "hrpipe_queue_jobs",
  backlog: "hrpipe_queue_backlog",
  completed: "hrpipe_jobs_completed_total",
  failed: "hrpipe_jobs_failed_total",
  duration: "hrpipe_job_duration_seconds",
  active: "hrpipe_jobs_active",
} as const;

/** A scrape must answer while Redis is away (a worker's connection queues commands until it is back). */
const countsTimeoutMs = 2_000;

/** The promise's outcome, or a rejection once `ms` have passed without one. */
export function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** From a tenth of a second (a labels job) to half an hour (a train job on a large split). */
const durationBucketsS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface PipelineMetricsOptions {
  /** The queues whose backlog and job counts this process reports, read from Redis at each scrape. */
  queues: StageQueues;
  stages: readonly StageName[];
}

/**
 * One process's Prometheus registry: Node's process metrics, the backlog and job counts of its stage
 * queues (read from Redis when scraped, so every process reports the same numbers), and, for each
 * worker it observes, counters of completed and failed jobs, a duration histogram and active jobs.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  private readonly completed: Counter<"queue">;
  private readonly failed: Counter<"queue">;
  private readonly duration: Histogram<"queue">;
  private readonly running = new Map<StageName, Set<string>>();

  constructor(options: PipelineMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` rejects; the same numbers remain by
    // type in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const name of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ])
      this.registry.removeSingleMetric(name);
    // One read of Redis per scrape for both queue gauges: a registry collects its metrics at once,
    // so both ask while the read is in flight and share it. Undefined while Redis is away: the
    // gauges then carry no queue series at all, rather than the last numbers read, stale.
    let inFlight: Promise<Record<StageName, JobCounts> | undefined> | undefined;
    const readCounts = () => {
      inFlight ??= withinMs(queueCounts(options.queues, options.stages), countsTimeoutMs)
        .catch(() => undefined)
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    };
    /** A gauge that each scrape rewrites from every stage's counts. */
    const queueGauge = (
      name: string,
      help: string,
      labelNames: string[],
      write: (gauge: Gauge, stage: StageName, counts: JobCounts) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const counts = await readCounts();
          this.reset();
          if (!counts) return;
          for (const stage of options.stages) write(this, stage, counts[stage]);
        },
      });
    queueGauge(
      metricNames.queueJobs,
      "Jobs in a stage queue, by state.",
      ["queue", "state"],
      (gauge, stage, counts) => {
        for (const [state, value] of Object.entries(counts)) gauge.set({ queue: stage, state }, value);
      },
    );
    queueGauge(
      metricNames.backlog,
      "Jobs waiting to be taken (waiting + prioritized): what the autoscaler scales on.",
      ["queue"],
      (gauge, stage, counts) => gauge.set({ queue: stage }, counts.waiting + counts.prioritized),
    );
    this.completed = new Counter({
      name: metricNames.completed,
      help: "Jobs this process completed.",
      labelNames: ["queue"],
      registers,
    });
    this.failed = new Counter({
      name: metricNames.failed,
      help: "Job attempts that failed in this process (a retried job counts once per failed attempt).",
      labelNames: ["queue"],
      registers,
    });
    this.duration = new Histogram({
      name: metricNames.duration,
      help: "Processing time of the jobs this process completed.",
      labelNames: ["queue"],
      buckets: durationBucketsS,
      registers,
    });
    const running = this.running;
    new Gauge({
      name: metricNames.active,
      help: "Jobs this process is running now.",
      labelNames: ["queue"],
      registers,
      collect() {
        for (const [stage, ids] of running) this.set({ queue: stage }, ids.size);
      },
    });
  }

  /** Counts a worker's jobs from its events; call once per worker, before it takes jobs. */
  observe(stage: StageName, worker: Worker): void {
    const running = new Set<string>();
    this.running.set(stage, running);
    this.completed.inc({ queue: stage }, 0);
    this.failed.inc({ queue: stage }, 0);
    worker.on("active", (job) => running.add(job.id!));
    worker.on("completed", (job) => {
      running.delete(job.id!);
      this.completed.inc({ queue: stage });
      if (job.processedOn && job.finishedOn)
        this.duration.observe({ queue: stage }, (job.finishedOn - job.processedOn) / 1000);
    });
    worker.on("failed", (job) => {
      if (job) running.delete(job.id!);
      this.failed.inc({ queue: stage });
    });
  }

  /** The text exposition format Prometheus scrapes. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
