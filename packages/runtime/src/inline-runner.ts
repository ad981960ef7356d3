import {
  type FlowNode,
  type HrpipeConfig,
  type LinkedJob,
  type Payload,
  parsePayload,
  type StageName,
  stageGraph,
} from "@hrpipe/contracts";
import { declaredLinks } from "./links.ts";
import type { Logger } from "./logger.ts";
import type { StageProcessor } from "./queues.ts";
import type { Storage } from "./storage/index.ts";
import { resolveWorkerSettings, type StageBinding, type StageServices } from "./worker-set.ts";

/** What a run of jobs in this process came to. */
export interface InlineOutcome {
  /** Every job's result (as its stage's result schema keeps it), by `<stage>:<jobId>`. */
  results: Record<string, unknown>;
  /** Every failed job's error message, by `<stage>:<jobId>`. */
  failures: Record<string, string>;
  /** Jobs of stages this runner was given no binding for: left alone. */
  skipped: LinkedJob[];
  /** Flows the jobs led to (a run's training), which the runner does not start. */
  flows: FlowNode[];
}

export interface InlineRunnerOptions {
  config: HrpipeConfig;
  logger: Logger;
  storage: Storage;
  /** Called as each job starts. */
  onJob?(job: LinkedJob): void;
}

/** The outcomes a job that waits for its children reads (a run's ingest job): every descendant's. */
interface Sink {
  results: Record<string, unknown>;
  failures: Record<string, string>;
}

/**
 * Stage processors run in this process, one job at a time, without Redis: each job's links are
 * followed as the worker set follows them (gathered jobs first, then a job that waits for them runs
 * again with their outcomes), so a command gets the pipeline's own steps, results and failures on
 * one machine (`hrpipe rppg <folder>`). A failed job fails alone, as under BullMQ with
 * ignoreDependencyOnFailure; nothing is retried.
 */
export class InlineRunner {
  private readonly processors = new Map<StageName, StageProcessor<StageName, unknown>>();
  private readonly started = new Set<string>();

  constructor(
    bindings: StageBinding[],
    private readonly options: InlineRunnerOptions,
  ) {
    const instances = new Map<string, unknown>();
    const services: StageServices = {
      config: options.config,
      logger: options.logger,
      storage: options.storage,
      get queues(): never {
        throw new Error(
          `a stage given to an InlineRunner (${bindings.map((b) => b.stage).join(", ")}) reads the queues; run it under startStageWorkers with Redis instead.`,
        );
      },
      shared<T>(name: string, make: () => T): T {
        if (!instances.has(name)) instances.set(name, make());
        return instances.get(name) as T;
      },
    };
    for (const binding of bindings)
      this.processors.set(
        binding.stage,
        binding.processor(services, resolveWorkerSettings(binding.stage, options.config)) as StageProcessor<
          StageName,
          unknown
        >,
      );
  }

  /** Runs a job and every job it leads to. */
  async run(job: LinkedJob): Promise<InlineOutcome> {
    const outcome: InlineOutcome = { results: {}, failures: {}, skipped: [], flows: [] };
    await this.runJob(job, outcome, { results: {}, failures: {} });
    return outcome;
  }

  private async runJob(linked: LinkedJob, outcome: InlineOutcome, run: Sink): Promise<void> {
    const key = `${linked.stage}:${linked.jobId}`;
    // As BullMQ does with a job id it already has: the job is not added twice.
    if (this.started.has(key)) return;
    this.started.add(key);
    const processor = this.processors.get(linked.stage);
    if (!processor) {
      outcome.skipped.push(linked);
      return;
    }
    const stage = linked.stage;
    const logger = this.options.logger.child({ stage, jobId: linked.jobId });
    const own: Sink = { results: {}, failures: {} };
    let payload: Payload<StageName> = parsePayload(stage, linked.payload);
    for (;;) {
      this.options.onJob?.(linked);
      try {
        const output = await processor(payload, {
          logger,
          children: { results: async () => own.results, failures: async () => own.failures },
          progress: async () => {},
        });
        const links = declaredLinks(stage, payload, output as never);
        if (links.flow) outcome.flows.push(links.flow);
        // A job that waits for its jobs gathers them (and theirs); the others' belong to the run.
        const sink = links.resumeWith ? own : run;
        for (const child of links.gathered) await this.runJob(child, outcome, sink);
        if (links.resumeWith) {
          payload = links.resumeWith;
          continue;
        }
        const result = stageGraph[stage].result.parse(output);
        outcome.results[key] = result;
        run.results[key] = result;
      } catch (error) {
        const message = (error as Error).message;
        logger.warn({ err: error }, message);
        outcome.failures[key] = message;
        run.failures[key] = message;
      }
      return;
    }
  }
}
