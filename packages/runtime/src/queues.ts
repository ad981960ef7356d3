import { hostname } from "node:os";
import {
  type FlowNode,
  type Payload,
  type PayloadInput,
  parsePayload,
  type StageName,
  type StageRuntimeDefaults,
  stageGraph,
} from "@hrpipe/contracts";
import {
  type FlowJob,
  FlowProducer,
  type Job,
  type JobsOptions,
  Queue,
  type Telemetry,
  UnrecoverableError,
  Worker,
} from "bullmq";
import type { Redis } from "ioredis";
import { UnretryableError } from "./errors.ts";
import { jobLogger, type Logger } from "./logger.ts";

/**
 * A stage's job options: transient faults (Redis, storage, network) are retried with exponential
 * backoff (2, 4, 8, 16 s... by default). How long finished jobs stay is the workers' retention
 * setting (see createStageWorker), so that one deployment setting governs every producer's jobs.
 */
export function stageJobOptions(stage: StageName): JobsOptions {
  const { attempts, backoffMs } = stageGraph[stage].defaults;
  return { attempts, backoff: { type: "exponential", delay: backoffMs } };
}

/** The run a stage's job belongs to (its ingest job), which waits for it; undefined outside a run. */
export type ParentOptions = JobsOptions["parent"];

export interface StageQueuesOptions {
  /** A producer connection (see createRedisConnection). */
  connection: Redis;
  /** BullMQ key prefix: every deployment or test uses its own. */
  prefix: string;
  /** OpenTelemetry spans per job added (see tracing.ts); none without it. */
  telemetry?: Telemetry;
}

/** The producer side: one BullMQ queue per stage, every payload validated before it reaches Redis. */
export class StageQueues {
  private readonly queues = new Map<StageName, Queue>();
  private flows: FlowProducer | undefined;

  constructor(private readonly options: StageQueuesOptions) {}

  queue(stage: StageName): Queue {
    let queue = this.queues.get(stage);
    if (!queue) {
      queue = new Queue(stage, {
        connection: this.options.connection,
        prefix: this.options.prefix,
        telemetry: this.options.telemetry,
        defaultJobOptions: stageJobOptions(stage),
        // Nothing in hrpipe reads the event streams (no QueueEvents): the last hundred events for
        // anyone who looks, instead of BullMQ's 10,000 per queue, which would hold about 12 MB of
        // Redis after one AMIGOS-size run, whatever retention says.
        streams: { events: { maxLen: 100 } },
      });
      this.queues.set(stage, queue);
    }
    return queue;
  }

  async add<S extends StageName>(
    stage: S,
    payload: PayloadInput<S>,
    options?: JobsOptions,
  ): Promise<Job<Payload<S>>> {
    const data = parsePayload(stage, payload);
    return (await this.queue(stage).add(stage, data, options)) as Job<Payload<S>>;
  }

  /**
   * Adds many jobs of one stage in round trips of up to 1,000, every payload validated: how a plan or
   * a fan-out (a run's videos, a video's segments) enqueues, at thousands of jobs per second rather
   * than one round trip per job.
   */
  async addBulk<S extends StageName>(
    stage: S,
    jobs: { payload: PayloadInput<S>; options: JobsOptions }[],
  ): Promise<void> {
    const queue = this.queue(stage);
    const defaults = stageJobOptions(stage);
    for (let start = 0; start < jobs.length; start += 1000) {
      await queue.addBulk(
        jobs.slice(start, start + 1000).map(({ payload, options }) => ({
          name: stage,
          data: parsePayload(stage, payload),
          opts: { ...defaults, ...options },
        })),
      );
    }
  }

  /**
   * Adds a tree of jobs (a BullMQ flow), every payload validated: a parent runs once its children
   * have finished. `onFailure` says what a child's failure does to its parent: "fail" fails it too,
   * "continue" lets it run and read the failure (getIgnoredChildrenFailures).
   */
  async addFlow(node: FlowNode): Promise<void> {
    this.flows ??= new FlowProducer({
      connection: this.options.connection,
      prefix: this.options.prefix,
      telemetry: this.options.telemetry,
    });
    await this.flows.add(this.flowJob(node));
  }

  private flowJob(node: FlowNode): FlowJob {
    return {
      name: node.stage,
      queueName: node.stage,
      data: parsePayload(node.stage, node.payload),
      opts: {
        ...stageJobOptions(node.stage),
        jobId: node.jobId,
        ...(node.onFailure === "fail" ? { failParentOnFailure: true } : {}),
        ...(node.onFailure === "continue" ? { ignoreDependencyOnFailure: true } : {}),
      },
      children: node.children?.map((child) => this.flowJob(child)),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    await this.flows?.close();
    this.queues.clear();
  }
}

/** What the jobs a job waited for came to: results by job key, and failures' reasons by job key. */
export interface ChildOutcomes {
  results(): Promise<Record<string, unknown>>;
  failures(): Promise<Record<string, string>>;
}

/** What a stage's processor gets with a job besides its payload; the same with or without Redis. */
export interface StageJobContext {
  logger: Logger;
  /** The outcomes of this job's children (a run's ingest job reads them when it gathers). */
  children: ChildOutcomes;
  /** Reports progress (0-100 or a structured object) to BullMQ and the dashboard. */
  progress(value: number | object): Promise<void>;
}

export type StageProcessor<S extends StageName, R = unknown, C extends StageJobContext = StageJobContext> = (
  payload: Payload<S>,
  context: C,
) => Promise<R>;

/** A processor's context inside a BullMQ worker: the job itself and its lock token too, for the runtime's own steps. */
export interface WorkerJobContext extends StageJobContext {
  job: Job;
  /** The worker's lock token for this job (for steps such as moveToWaitingChildren). */
  token: string | undefined;
}

/** A processor as a BullMQ worker runs it. */
export type WorkerProcessor<S extends StageName, R = unknown> = StageProcessor<S, R, WorkerJobContext>;

export interface StageWorkerOptions extends StageRuntimeDefaults {
  /** A worker connection (maxRetriesPerRequest null, see createRedisConnection). */
  connection: Redis;
  prefix: string;
  logger: Logger;
  autorun?: boolean;
  /** OpenTelemetry spans per job (see tracing.ts); none without it. */
  telemetry?: Telemetry;
}

/** BullMQ's form of a failure no retry can fix, keeping the error's name, message and stack. */
function asUnrecoverable(error: UnretryableError): UnrecoverableError {
  const unrecoverable = new UnrecoverableError(error.message);
  unrecoverable.name = error.name;
  unrecoverable.stack = error.stack;
  return unrecoverable;
}

/**
 * The consumer side: a BullMQ worker for one stage. Payloads are validated again at this boundary
 * (a producer may run another version); an invalid one fails at once as unrecoverable.
 */
export function createStageWorker<S extends StageName, R>(
  stage: S,
  processor: WorkerProcessor<S, R>,
  options: StageWorkerOptions,
): Worker<Payload<S>, R> {
  return new Worker<Payload<S>, R>(
    stage,
    async (job, token) => {
      const logger = jobLogger(options.logger, {
        stage,
        jobId: job.id,
        runId: (job.data as { runId?: string }).runId,
      });
      let payload: Payload<S>;
      try {
        payload = parsePayload(stage, job.data);
      } catch (error) {
        throw new UnrecoverableError((error as Error).message);
      }
      const started = performance.now();
      const result = await processor(payload, {
        job,
        token,
        logger,
        children: {
          results: () => job.getChildrenValues(),
          failures: () => job.getIgnoredChildrenFailures(),
        },
        progress: (value) => job.updateProgress(value),
      }).catch((error: unknown) => {
        throw error instanceof UnretryableError ? asUnrecoverable(error) : error;
      });
      logger.info({ ms: Math.round(performance.now() - started) }, `${stage} job done`);
      return result;
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 2,
      removeOnComplete: { age: options.keepCompletedS, count: options.keepCompletedJobs },
      removeOnFail: { age: options.keepFailedS, count: options.keepFailedJobs },
      autorun: options.autorun ?? true,
      telemetry: options.telemetry,
      // Recorded on every job it takes (job.processedBy): which machine and process ran it.
      name: `${hostname()}:${process.pid}`,
    },
  );
}
