import {
  artifactKeys,
  type CnnName,
  type HrpipeConfig,
  loadConfig,
  type RunReport,
  runReportSchema,
  type StageName,
  stageNames,
} from "@hrpipe/contracts";
import {
  createLogger,
  createRedisConnection,
  type Logger,
  openStorage,
  type PrivateRedis,
  type RunProgress,
  readArtifact,
  runProgress,
  StageQueues,
  type Storage,
  startPrivateRedis,
  startStageWorkers,
  type WorkerSet,
} from "@hrpipe/runtime";
import { formatTable, ProgressLine } from "./output.ts";
import { parseStages } from "./runtime.ts";

export interface LocalPipelineOptions {
  /** A Redis to use; a private redis-server is started without one. */
  redis?: string;
  /** file://dir or s3://bucket/prefix. */
  storage: string;
  /** Who is talking, for the lines on stderr (demo, run). */
  name: string;
  /**
   * The run's CNN: without one no features worker starts, so no DenseNet backbone is built (the
   * features stage would have no job anyway).
   */
  cnn: CnnName;
}

/** How a followed run ended: its final progress and when each stage last had nothing pending. */
export interface FollowedRun {
  progress: RunProgress;
  stageDoneS: Partial<Record<StageName, number>>;
  report: RunReport | undefined;
}

/**
 * Every stage of the pipeline in this process, as real BullMQ workers on a private (or given) Redis
 * and the given storage: what `hrpipe demo` and `hrpipe run` drive. close() stops the workers,
 * the queues, the storage and the private Redis, in that order.
 */
export class LocalPipeline {
  private constructor(
    readonly config: HrpipeConfig,
    readonly logger: Logger,
    readonly storage: Storage,
    readonly queues: StageQueues,
    private readonly workers: WorkerSet,
    private readonly privateRedis: PrivateRedis | undefined,
    private readonly name: string,
  ) {}

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STORAGE_URL: options.storage,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    };
    let privateRedis: PrivateRedis | undefined;
    if (options.redis) env.REDIS_URL = options.redis;
    else {
      privateRedis = await startPrivateRedis();
      env.REDIS_URL = privateRedis.url;
      process.stderr.write(`${options.name}: private redis-server at ${privateRedis.url}\n`);
    }
    const config = loadConfig(env);
    const logger = createLogger({ level: config.logLevel });
    const storage = openStorage(config.storageUrl, config);
    const stages = stageNames.filter((stage) => stage !== "features" || options.cnn === "densenet");
    const workers = startStageWorkers(parseStages(stages), {
      config,
      logger,
      storage,
      flags: { face: { concurrency: 2 }, decode: { concurrency: 2 } },
    });
    const queues = new StageQueues({
      connection: createRedisConnection(config.redisUrl!, "producer"),
      prefix: config.queuePrefix,
    });
    return new LocalPipeline(config, logger, storage, queues, workers, privateRedis, options.name);
  }

  /** Draws a progress bar per stage until the run finishes; reads its report where it has one. */
  async follow(runId: string, startedMs: number): Promise<FollowedRun> {
    const bars = Object.fromEntries(stageNames.map((stage) => [stage, new ProgressLine(stage.padEnd(8))]));
    const stageDoneS: FollowedRun["stageDoneS"] = {};
    let progress: RunProgress;
    for (;;) {
      progress = await runProgress(this.queues, this.storage, runId);
      for (const stage of stageNames) {
        const s = progress.stages[stage];
        const total = s.done + s.failed + s.pending;
        // Jobs can join a stage late (decode adds ecg and face jobs): a stage is done when it last emptied.
        if (s.pending > 0) delete stageDoneS[stage];
        else if (total > 0) stageDoneS[stage] ??= (performance.now() - startedMs) / 1000;
        if (total > 0) bars[stage]!.update(s.done + s.failed, total, s.failed ? `(${s.failed} failed)` : "");
      }
      if (progress.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    for (const failure of progress.failures)
      process.stderr.write(`${this.name}: ${failure.stage} ${failure.job} failed: ${failure.reason}\n`);
    const key = artifactKeys.runReport(runId);
    const report = (await this.storage.exists(key))
      ? await readArtifact(this.storage, key, runReportSchema)
      : undefined;
    if (!report)
      process.stderr.write(`${this.name}: run ${runId} finished without a report; see the failures above.\n`);
    return { progress, stageDoneS, report };
  }

  async close(): Promise<void> {
    await this.workers.close(true);
    await this.queues.close();
    await this.storage.close();
    await this.privateRedis?.stop();
  }
}

/** What each stage did and when it was done: a re-run of the same dataset and options reuses what it can. */
export function phaseTable(run: FollowedRun, phases: [string, number][], totalS: number): string {
  const jobs = (stage: StageName) => {
    const s = run.progress.stages[stage];
    return [String(s.done), String(s.computed), String(s.reused), String(s.failed)];
  };
  return formatTable(
    ["phase", "finished at (s)", "jobs done", "computed", "reused", "failed"],
    [
      ...phases.map(([name, atS]) => [name, atS.toFixed(1), "", "", "", ""]),
      ...stageNames.map((s) => [s, run.stageDoneS[s]?.toFixed(1) ?? "-", ...jobs(s)]),
      ["total", totalS.toFixed(1), "", "", "", ""],
    ],
  );
}
