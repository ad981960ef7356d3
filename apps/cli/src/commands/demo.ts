import {
  artifactKeys,
  createLogger,
  createRedisConnection,
  loadConfig,
  newRunId,
  openStorage,
  type PrivateRedis,
  type RunProgress,
  readArtifact,
  runProgress,
  runReportSchema,
  type StageName,
  StageQueues,
  stageNames,
  startPrivateRedis,
  startStageWorkers,
} from "@hrpipe/queue";
import { synthDataset } from "@hrpipe/synth";
import { formatTable, ProgressLine } from "../output.ts";
import { parseStages } from "../runtime.ts";
import { startRun } from "./ingest.ts";
import { localPathOf, renderReport } from "./report.ts";
import { parseSize } from "./synth.ts";

export interface DemoCommandOptions {
  redis?: string;
  storage: string;
  participants: string;
  videos: string;
  seconds: string;
  size: string;
  seed: string;
  epochs: number;
}

/**
 * `hrpipe demo`: the whole pipeline on one machine. A private Redis (unless --redis), file storage
 * (unless --storage), a synthetic dataset, every stage as real BullMQ workers in this process, per-stage
 * progress, and at the end the metrics table and the path of report.html.
 */
export async function demoCommand(options: DemoCommandOptions): Promise<number> {
  const started = performance.now();
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
    process.stderr.write(`demo: private redis-server at ${privateRedis.url}\n`);
  }
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel });
  const storage = openStorage(config.storageUrl, config);
  const { width, height } = parseSize(options.size);
  const [participants, videos, seconds, seed] = [
    Number(options.participants),
    Number(options.videos),
    Number(options.seconds),
    Number(options.seed),
  ];
  const datasetPrefix = `datasets/demo-s${seed}-${participants}x${videos}x${seconds}s-${width}x${height}`;
  const workerSet = startStageWorkers(parseStages(["all"]), {
    config,
    logger,
    storage,
    flags: { face: { concurrency: 2 }, decode: { concurrency: 2 } },
  });
  const queues = new StageQueues({
    connection: createRedisConnection(config.redisUrl!, "producer"),
    prefix: config.queuePrefix,
  });
  try {
    const truthFiles = await storage.list(`${datasetPrefix}/truth/`);
    if (truthFiles.length < participants) {
      const progress = new ProgressLine("synth   ");
      await synthDataset(storage, {
        participants,
        videos,
        seconds,
        seed,
        width,
        height,
        fps: 25,
        prefix: datasetPrefix,
        onVideo: (done, total) => progress.update(done, total, "videos"),
      });
    } else {
      process.stderr.write(`demo: reusing the synthetic dataset in ${storage.url}/${datasetPrefix}\n`);
    }
    const synthS = (performance.now() - started) / 1000;
    const runId = newRunId();
    // Every other option is the pipeline's default (the payload schemas fill them in).
    await startRun(queues, storage, { runId, datasetPrefix, train: { epochs: options.epochs } });
    process.stderr.write(`demo: run ${runId} queued\n`);
    const bars = Object.fromEntries(stageNames.map((stage) => [stage, new ProgressLine(stage.padEnd(8))]));
    const stageFirstDone: Record<string, number> = {};
    let progress: RunProgress;
    for (;;) {
      progress = await runProgress(queues, storage, runId);
      for (const stage of stageNames) {
        const s = progress.stages[stage];
        const total = s.done + s.failed + s.pending;
        if (total > 0 && s.pending === 0) stageFirstDone[stage] ??= (performance.now() - started) / 1000;
        if (total > 0) bars[stage]!.update(s.done + s.failed, total, s.failed ? `(${s.failed} failed)` : "");
      }
      if (progress.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const totalS = (performance.now() - started) / 1000;
    const final = progress;
    for (const failure of final.failures)
      process.stderr.write(`demo: ${failure.stage} ${failure.job} failed: ${failure.reason}\n`);
    if (!(await storage.exists(artifactKeys.runReport(runId)))) {
      process.stderr.write(`demo: run ${runId} finished without a report; see the failures above.\n`);
      return 1;
    }
    process.stdout.write(
      `\n${renderReport(await readArtifact(storage, artifactKeys.runReport(runId), runReportSchema))}\n`,
    );
    // What each stage did: a re-run of the same dataset and options reuses everything it can.
    const jobs = (stage: StageName) => {
      const s = final.stages[stage];
      return [String(s.done), String(s.computed), String(s.reused), String(s.failed)];
    };
    process.stdout.write(
      `${formatTable(
        ["phase", "finished at (s)", "jobs done", "computed", "reused", "failed"],
        [
          ["synthetic dataset", synthS.toFixed(1), "", "", "", ""],
          ...stageNames.map((s) => [s, stageFirstDone[s]?.toFixed(1) ?? "-", ...jobs(s)]),
          ["total", totalS.toFixed(1), "", "", "", ""],
        ],
      )}\n`,
    );
    const htmlKey = artifactKeys.runReportHtml(runId);
    const html = localPathOf(storage, htmlKey) ?? `${storage.url}/${htmlKey}`;
    process.stdout.write(`\nreport: ${html}\nrun id: ${runId}\n`);
    return 0;
  } finally {
    await workerSet.close(true);
    await queues.close();
    await storage.close();
    await privateRedis?.stop();
  }
}
