/**
 * `pnpm bench:scale`: an AMIGOS-sized run through the real queues, a real Redis, the real ingest plan
 * and gather and the stages' real fan-out, with every per-job processor replaced by a timed no-op
 * (bench/scale/noop-stages.ts). It measures what the orchestration costs before anyone pays for the
 * compute: enqueue rate, Redis memory per queued job and after the run, `hrpipe status` and /metrics
 * latency with the backlog in place, job overhead with 1, 2 and 4 no-op worker processes, gather time
 * and manifest size. `--json` prints one JSON object of the headline numbers.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifactKeys, jobIds, loadConfig, type StageName, stageNames } from "@hrpipe/contracts";
import {
  createLogger,
  createRedisConnection,
  FileStorage,
  MetricsServer,
  PipelineMetrics,
  queueCounts,
  type Redis,
  readManifest,
  runProgress,
  StageQueues,
  startPrivateRedis,
  startStageWorkers,
} from "@hrpipe/runtime";
import { ingestStage } from "@hrpipe/worker-ingest";
import { buildCompiledTree } from "../infra/compiled-tree.ts";
import { type BenchResult, machineDescription, saveResult } from "./report.ts";
import { noopDecode, noopEval, noopLabels, noopReport, noopTime, noopTrain } from "./scale/noop-stages.ts";
import { amigosShape, segmentCount } from "./scale/shape.ts";

const bin = path.resolve(import.meta.dirname, "../apps/cli/bin/hrpipe.js");
const workerScript = path.resolve(import.meta.dirname, "scale/worker.ts");
/** No-op jobs each round of the overhead measurement times (after 500 to warm up). */
const jobsPerRound = 6_000;

export interface ScaleNumbers {
  jobs: number;
  enqueueJobsPerS: number;
  redisBytesPerQueuedJob: number;
  redisAfterRunRatio: number;
  statusLatencyMs: number;
  metricsLatencyMs: number;
  gatherS: number;
  overheadMsPerJob: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** Where Redis's memory is: its INFO memory fields that add up to used_memory, and the script cache. */
async function memoryBreakdown(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info("memory");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? Number.NaN);
  const stats = (await redis.call("MEMORY", "STATS")) as unknown[];
  const statsOf: Record<string, unknown> = {};
  for (let i = 0; i + 1 < stats.length; i += 2) statsOf[String(stats[i])] = stats[i + 1];
  const db0 = (statsOf["db.0"] as unknown[] | undefined) ?? [];
  const hashtable: Record<string, number> = {};
  for (let i = 0; i + 1 < db0.length; i += 2) hashtable[`db0.${String(db0[i])}`] = Number(db0[i + 1]);
  return Object.fromEntries([
    ["keys.count", Number(statsOf["keys.count"])],
    ["dataset.bytes", Number(statsOf["dataset.bytes"])],
    ...Object.entries(hashtable),
    ...[
      "used_memory",
      "used_memory_dataset",
      "used_memory_overhead",
      "used_memory_startup",
      "mem_clients_normal",
      "mem_clients_slaves",
      "mem_aof_buffer",
      "used_memory_scripts_eval",
      "used_memory_vm_eval",
      "used_memory_functions",
      "number_of_cached_scripts",
    ].map((name) => [name, field(name)]),
  ]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`scale bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * The gather's duration from the ingest queue's event stream: the ingest job's last start to its
 * completion (an event's stream id is the millisecond Redis recorded it). The job itself is gone by
 * then: the run's end retires its jobs.
 */
async function gatherSeconds(redis: Redis, stream: string, jobId: string): Promise<number> {
  let lastActiveMs: number | undefined;
  let completedMs: number | undefined;
  for (const [id, fields] of await redis.xrange(stream, "-", "+")) {
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    if (field("jobId") !== jobId) continue;
    const ms = Number(id.split("-")[0]);
    if (field("event") === "active") lastActiveMs = ms;
    if (field("event") === "completed") completedMs = ms;
  }
  if (lastActiveMs === undefined || completedMs === undefined)
    throw new Error(`scale bench: ${stream} does not show ${jobId} starting and completing`);
  return (completedMs - lastActiveMs) / 1000;
}

async function totalJobs(queues: StageQueues): Promise<number> {
  const counts = await queueCounts(queues);
  return Object.values(counts).reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
}

async function completed(queues: StageQueues, stages: StageName[]): Promise<number> {
  const counts = await queueCounts(queues, stages);
  return stages.reduce((sum, stage) => sum + counts[stage].completed, 0);
}

function startNoopWorkers(count: number, env: NodeJS.ProcessEnv): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ["--import", "tsx", workerScript, "face", "features"], { env, stdio: "ignore" }),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
}

const log = (line: string) => process.stderr.write(`scale: ${line}\n`);

export async function measureScale(): Promise<{ numbers: ScaleNumbers; rows: BenchResult["rows"] }> {
  // `hrpipe status` as the images run it (compiled) and from this checkout (tsx compiles on start).
  const compiledDir = await mkdtemp(path.join(tmpdir(), "hrpipe-scale-compiled-"));
  log("building the compiled tree the images run (infra/compiled-tree.ts)");
  const compiled = buildCompiledTree(compiledDir);
  const redisServer = await startPrivateRedis();
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-scale-"));
  const prefix = "scale";
  const env = {
    ...process.env,
    REDIS_URL: redisServer.url,
    STORAGE_URL: `file://${dir}`,
    HRPIPE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
  };
  const config = loadConfig(env);
  const storage = new FileStorage(dir);
  const redis = createRedisConnection(redisServer.url, "producer");
  const queues = new StageQueues({ connection: redis, prefix });
  const logger = createLogger({ level: "warn", pretty: false });
  const rows: BenchResult["rows"] = [];
  const children: ChildProcess[] = [];
  // Four decode jobs at once, as a deployment scales decode workers out: one would measure BullMQ's
  // job cycle of a single worker (about 3 ms a job) rather than how fast the queues take new jobs.
  const inProcess = startStageWorkers(
    [ingestStage, noopLabels, noopDecode, noopTrain, noopEval, noopReport],
    {
      config,
      logger,
      storage,
      flags: { decode: { concurrency: 4 } },
    },
  );
  try {
    const datasetPrefix = "datasets/amigos-shape";
    for (const participant of amigosShape.participants) {
      await storage.put(`${datasetPrefix}/Data_Preprocessed_${participant}.mat`, Buffer.alloc(0));
      for (const videoId of amigosShape.videoIds)
        await storage.put(`${datasetPrefix}/${participant}_${videoId}_face.mov`, Buffer.alloc(0));
    }
    const segments = segmentCount();
    const videos = amigosShape.participants.length * amigosShape.videoIds.length;
    const planned = 1 + amigosShape.participants.length + videos + segments;
    for (const stage of stageNames) await queues.queue(stage).waitUntilReady();
    const baseline = await usedMemory(redis);
    const memoryAtStart = await memoryBreakdown(redis);
    log(`Redis at the start: ${JSON.stringify(memoryAtStart)}`);
    log(
      "every per-job processor is a timed no-op (results of the real shape; no video decoded, no face found, no feature computed): this measures the orchestration only",
    );
    log(`${videos} videos, ${segments} segments: ${planned} jobs to enqueue, then ${segments} features jobs`);

    // 1. Plan and enqueue: the ingest job plans 840 jobs, the no-op decode jobs add every face job.
    const runId = "scale-1";
    const enqueueStarted = performance.now();
    await queues.add("ingest", { runId, datasetPrefix, layout: "amigos" }, { jobId: jobIds.ingest(runId) });
    await waitFor(
      async () =>
        (await completed(queues, ["decode", "labels"])) === videos + amigosShape.participants.length,
      "every decode and labels job",
      600_000,
    );
    const enqueueS = (performance.now() - enqueueStarted) / 1000;
    const enqueueJobsPerS = planned / enqueueS;
    log(`enqueued ${planned} jobs in ${enqueueS.toFixed(2)} s (${enqueueJobsPerS.toFixed(0)} jobs/s)`);

    // 2. The backlog in place: every face job waiting.
    const inRedis = await totalJobs(queues);
    const backlogMemory = await usedMemory(redis);
    const redisBytesPerQueuedJob = (backlogMemory - baseline) / inRedis;
    const statusMs = (cli: string) => {
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const child = spawnSync(process.execPath, [cli, "status", runId, "--json"], { env });
        if (child.status !== 0) throw new Error(`hrpipe status failed: ${child.stderr}`);
        runs.push(performance.now() - started);
      }
      return median(runs);
    };
    const statusLatencyMs = statusMs(compiled.bin);
    const checkoutStatusMs = statusMs(bin);
    const progressMs = median(
      await Promise.all([0, 1, 2].map(() => timedMs(() => runProgress(queues, storage, runId)))),
    );
    const exporter = new MetricsServer({
      metrics: new PipelineMetrics({ queues, stages: stageNames }),
      port: 0,
      notReadyReason: async () => undefined,
    });
    const port = await exporter.start();
    const metricsRuns: number[] = [];
    for (let i = 0; i < 3; i++)
      metricsRuns.push(
        await timedMs(async () => {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`);
          if (!(await response.text()).includes(`hrpipe_queue_backlog{queue="face"} ${segments}`))
            throw new Error("the exporter's /metrics lacks the face backlog");
        }),
      );
    await exporter.close();
    const metricsLatencyMs = median(metricsRuns);
    log(
      `${inRedis} jobs in Redis: ${(redisBytesPerQueuedJob / 1024).toFixed(2)} KiB each; status ${statusLatencyMs.toFixed(0)} ms compiled, ${checkoutStatusMs.toFixed(0)} ms from the checkout (${progressMs.toFixed(0)} ms in process), /metrics ${metricsLatencyMs.toFixed(0)} ms`,
    );

    // 3. Job overhead: P no-op worker processes (face and features queues), each timed over a fixed
    // number of jobs after a warm-up, so that no round can run the backlog dry (once the run ends,
    // its jobs are retired and the completed counts fall back).
    const overhead: Record<number, number> = {};
    for (const processes of [1, 2, 4]) {
      const round = startNoopWorkers(processes, env);
      children.push(...round);
      await waitFor(
        async () => (await queues.queue("features").getWorkers()).length >= processes,
        `${processes} no-op worker processes`,
        60_000,
      );
      const warm = await completed(queues, ["face", "features"]);
      await waitFor(
        async () => (await completed(queues, ["face", "features"])) >= warm + 500,
        "warm-up",
        120_000,
      );
      const before = await completed(queues, ["face", "features"]);
      const windowStarted = performance.now();
      await waitFor(
        async () => (await completed(queues, ["face", "features"])) >= before + jobsPerRound,
        `${jobsPerRound} no-op jobs`,
        600_000,
      );
      const done = (await completed(queues, ["face", "features"])) - before;
      const windowMs = performance.now() - windowStarted;
      await stopWorkers(round);
      overhead[processes] = (windowMs * processes) / done;
      log(
        `${processes} process(es): ${((done / windowMs) * 1000).toFixed(0)} jobs/s, ${overhead[processes]!.toFixed(2)} ms of a process per job`,
      );
      rows.push(
        {
          metric: `no-op jobs through the queues, ${processes} worker process${processes > 1 ? "es" : ""}`,
          value: (done / windowMs) * 1000,
          unit: "jobs/s",
        },
        {
          metric: `queue overhead per job, ${processes} worker process${processes > 1 ? "es" : ""} (process time)`,
          value: overhead[processes]!,
          unit: "ms",
          ...(processes === 1 ? { target: "<= 5 ms", met: overhead[processes]! <= 5 } : {}),
        },
      );
    }

    // 4. Drain the rest to the run's end. The gather is timed from the ingest queue's events (the
    // ingest job's last start to its completion): the run's end retires its jobs, times and all.
    const drain = startNoopWorkers(2, env);
    children.push(...drain);
    await waitFor(
      async () => (await readManifest(storage, runId)).state === "done",
      "the run to end",
      1_800_000,
    );
    await stopWorkers(drain);
    const gatherS = await gatherSeconds(redis, `${prefix}:ingest:events`, jobIds.ingest(runId));
    const manifestBytes = (await storage.get(artifactKeys.manifest(runId))).length;
    log(`gather ${gatherS.toFixed(2)} s, manifest ${(manifestBytes / 2 ** 20).toFixed(1)} MiB`);
    await sleep(1_000);
    const afterRun = await usedMemory(redis);
    const redisAfterRunRatio = afterRun / baseline;
    const memoryAfter = await memoryBreakdown(redis);
    log(`Redis after the run: ${JSON.stringify(memoryAfter)}`);
    // What the run left in keys, against the growth: the rest is held by Redis itself, not by any key.
    let keysLeft = 0;
    let keyBytes = 0;
    let streamBytes = 0;
    for await (const keys of redis.scanStream({ match: "*", count: 1000 }) as AsyncIterable<string[]>)
      for (const key of keys) {
        const bytes = Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
        keysLeft++;
        keyBytes += bytes;
        if (key.endsWith(":events")) streamBytes += bytes;
      }
    const jobs = planned + segments + 2 * 2 + 1;
    log(
      `Redis after the run: ${(afterRun / 2 ** 20).toFixed(1)} MiB (${redisAfterRunRatio.toFixed(2)}x the start); ${keysLeft} keys hold ${(keyBytes / 2 ** 20).toFixed(2)} MiB of it`,
    );

    const numbers: ScaleNumbers = {
      jobs,
      enqueueJobsPerS,
      redisBytesPerQueuedJob,
      redisAfterRunRatio,
      statusLatencyMs,
      metricsLatencyMs,
      gatherS,
      overheadMsPerJob: overhead[1]!,
    };
    rows.unshift(
      {
        metric: "jobs in the run (1 ingest, 40 ecg, 800 decode, face, features, train, eval, report)",
        value: jobs,
        unit: "jobs",
      },
      {
        metric: "plan and enqueue",
        value: enqueueJobsPerS,
        unit: "jobs/s",
        target: ">= 5,000",
        met: enqueueJobsPerS >= 5000,
      },
      {
        metric: "Redis memory per job with the backlog in place",
        value: redisBytesPerQueuedJob / 1024,
        unit: "KiB",
        target: "<= 2 KiB",
        met: redisBytesPerQueuedJob <= 2048,
      },
      {
        metric: "`hrpipe status RUN --json` with the backlog, compiled as the images run it (median of 3)",
        value: statusLatencyMs,
        unit: "ms",
        target: "<= 1,000",
        met: statusLatencyMs <= 1000,
      },
      {
        metric: "`hrpipe status RUN --json` with the backlog, from a checkout (tsx compiles on start)",
        value: checkoutStatusMs,
        unit: "ms",
      },
      { metric: "runProgress in process with the backlog", value: progressMs, unit: "ms" },
      {
        metric: "exporter /metrics with the backlog (median of 3)",
        value: metricsLatencyMs,
        unit: "ms",
        target: "<= 1,000",
        met: metricsLatencyMs <= 1000,
      },
    );
    rows.push(
      {
        metric: "gather (ingest job's second step)",
        value: gatherS,
        unit: "s",
        target: "<= 10 s",
        met: gatherS <= 10,
      },
      { metric: "manifest size", value: manifestBytes / 2 ** 20, unit: "MiB" },
      {
        metric: "Redis memory after the run / at the start",
        value: redisAfterRunRatio,
        unit: "x",
        target: "<= 1.1",
        met: redisAfterRunRatio <= 1.1,
      },
      {
        metric: `every key left in Redis after the run (${keysLeft}: event streams, queue metadata, the report job)`,
        value: keyBytes / 2 ** 20,
        unit: "MiB",
      },
      {
        metric: "of which the queues' event streams (capped at 100 entries each, whatever the runs)",
        value: streamBytes / 2 ** 20,
        unit: "MiB",
      },
      {
        metric: "growth held by BullMQ's Lua scripts in Redis's script cache (loaded once, on first use)",
        value: (memoryAfter.used_memory_scripts_eval! - memoryAtStart.used_memory_scripts_eval!) / 2 ** 20,
        unit: "MiB",
      },
      {
        metric: "growth held by client connections (buffers; negative: smaller than at the start)",
        value: (memoryAfter.mem_clients_normal! - memoryAtStart.mem_clients_normal!) / 2 ** 20,
        unit: "MiB",
      },
      { metric: "time inside no-op processors (bench process)", value: noopTime.ms, unit: "ms" },
    );
    return { numbers, rows };
  } finally {
    await stopWorkers(children);
    await inProcess.close(true);
    await queues.close();
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(compiledDir, { recursive: true, force: true });
  }
}

export async function benchScale(): Promise<BenchResult> {
  const { rows } = await measureScale();
  return {
    name: "scale",
    title: "Orchestration at AMIGOS size (no-op processors)",
    method:
      "`pnpm bench:scale`: a synthetic AMIGOS-shaped dataset (40 participants x 16 short + 4 long videos, 10-s segments) through a private redis-server, the real ingest plan and gather, and the stages' real fan-out, with every per-job processor replaced by a timed no-op that returns a result of the real shape (no video is decoded, no face found, no feature computed). Enqueue: from adding the ingest job until every decode job (4 at a time, as scaled-out decode workers) has added its face jobs. Memory is Redis's used_memory, per job in Redis with every face job waiting, and after the run has ended (its jobs retired) against the start, with the MEMORY USAGE (SAMPLES 0) of every key still there: what the run left in data, as against what Redis keeps for itself (its Lua script cache, its clients' buffers). hrpipe's Redis runs with latency-tracking off: Redis 7 otherwise keeps a ~30-KB latency histogram for every command name it has run, which made up 1.23 MiB of the 1.4x found after the run before (measured by CONFIG RESETSTAT, which frees them). Overhead is the no-op worker processes' time per completed face or features job, timed over 6,000 jobs after 500 to warm up (a count, not a time: on a fast machine a time window ran the backlog dry, and the run's end retired its jobs). The gather is timed from the ingest queue's event stream.",
    rows,
    measuredAt: new Date().toISOString(),
    machine: machineDescription(),
  };
}

if (process.argv[1] === import.meta.filename) {
  if (process.argv.includes("--json")) {
    const { numbers } = await measureScale();
    process.stdout.write(`${JSON.stringify(numbers)}\n`);
  } else {
    const result = await benchScale();
    saveResult(result);
    for (const row of result.rows)
      console.log(
        `${row.metric}: ${row.value.toFixed(2)} ${row.unit}${row.target ? ` (target ${row.target}: ${row.met ? "met" : "NOT met"})` : ""}`,
      );
  }
  process.exit(0);
}
