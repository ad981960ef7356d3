import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifactKeys, runReportSchema, stageNames } from "@hrpipe/contracts";
import {
  createRedisConnection,
  FileStorage,
  freePort,
  type RunProgress,
  redisServerBinary,
  runProgress,
  StageQueues,
  type Storage,
} from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { startWorkerProcess, type WorkerProcess, waitUntil } from "../harness/processes.ts";
import { startRedisAt } from "../harness/redis-at.ts";
import { ubfcClips } from "../harness/ubfc-clips.ts";

const subjects = ["subject3", "subject8", "subject10"];
const pauseS = 30;

/** The worker's readiness as the kubelet sees it: true (200), false (503), or undefined (no answer). */
async function ready(url: string): Promise<boolean | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  return response ? response.ok : undefined;
}

async function seconds<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return Number(((performance.now() - started) / 1000).toFixed(1));
}

function metric(exposition: string, name: string, queue: string): number {
  return Number(
    new RegExp(`^${name}\\{queue="${queue}"\\} (\\d+)$`, "m").exec(exposition)?.[1] ?? Number.NaN,
  );
}

/**
 * A run on real faces (three UBFC-rPPG clips as a videos-only run: decode, face, report) while its
 * Redis, with the append-only file on as the deployments configure it, is killed and restarted, and
 * later paused for 30 s. The workers must ride through both by themselves, say not-ready on /healthz
 * while Redis is away, and the run must end with every job done once and a complete report.
 */
describe.runIf(redisServerBinary())("a run survives Redis being killed, restarted and paused", () => {
  let root: string;
  let redisDir: string;
  let redisPort: number;
  let redis: ChildProcess;
  let worker: WorkerProcess;
  let healthz: string;
  let metricsUrl: string;
  let storage: Storage;
  let queues: StageQueues;
  let env: Record<string, string>;
  const runId = "redis-faults";
  const observed: Record<string, number> = {};

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-redis-faults-"));
    redisDir = path.join(root, "redis");
    await ubfcClips(path.join(root, "videos"), subjects, 16, { videosOnly: true });
    await mkdir(redisDir);
    redisPort = await freePort();
    redis = await startRedisAt(redisPort, redisDir, { appendOnly: true });
    const metricsPort = await freePort();
    healthz = `http://127.0.0.1:${metricsPort}/healthz`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      STORAGE_URL: `file://${path.join(root, "storage")}`,
      HRPIPE_QUEUE_PREFIX: "faults",
      LOG_LEVEL: "warn",
    };
    storage = new FileStorage(path.join(root, "storage"));
    queues = new StageQueues({
      connection: createRedisConnection(env.REDIS_URL!, "producer"),
      prefix: "faults",
    });
    worker = startWorkerProcess(["all"], { ...env, HRPIPE_METRICS_PORT: String(metricsPort) });
    await waitUntil(() => ready(healthz), "the worker to be ready", 60_000);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    redis?.kill("SIGKILL");
    await queues?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The run's progress, or undefined while Redis cannot answer the test's own fail-fast producer. */
  const progress = () => runProgress(queues, storage, runId).catch(() => undefined);
  const faceDone = async (n: number) => {
    const p: RunProgress | undefined = await progress();
    return p && p.stages.face.done >= n ? p : undefined;
  };

  it("finishes with every job done once and every video's heart rate over its whole clip", async () => {
    const ingest = await runCli(
      ["ingest", path.join(root, "videos"), "--layout", "videos", "--run-id", runId, "--skin-area", "box"],
      env,
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    await waitUntil(() => faceDone(1), "a first face job to complete", 180_000, 200);

    redis.kill("SIGKILL");
    observed.notReadyAfterKillS = await seconds(() =>
      waitUntil(async () => (await ready(healthz)) === false, "/healthz to say not ready", 15_000, 100),
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    redis = await startRedisAt(redisPort, redisDir, { appendOnly: true });
    observed.readyAfterRestartS = await seconds(() =>
      waitUntil(async () => (await ready(healthz)) === true, "/healthz to say ready again", 60_000, 100),
    );
    const before = await waitUntil(progress, "the test's own connection to be back", 30_000);
    observed.faceDoneAtRestart = before.stages.face.done;
    await waitUntil(
      () => faceDone(before.stages.face.done + 1),
      "face jobs to go on after the restart",
      120_000,
      200,
    );

    redis.kill("SIGSTOP");
    const pausedAt = performance.now();
    await waitUntil(async () => (await ready(healthz)) === false, "/healthz to say not ready", 15_000, 100);
    await new Promise((resolve) => setTimeout(resolve, pauseS * 1000 - (performance.now() - pausedAt)));
    redis.kill("SIGCONT");
    observed.readyAfterPauseS = await seconds(() =>
      waitUntil(async () => (await ready(healthz)) === true, "/healthz to say ready again", 60_000, 100),
    );

    const final = await waitUntil(
      async () => {
        const p = await progress();
        return p?.finished && p.manifest?.jobs ? p : undefined;
      },
      `run ${runId} to end and retire its jobs`,
      300_000,
      500,
    );
    expect(final.manifest?.state).toBe("done");
    expect(final.failures).toEqual([]);
    // The run ends inside its report job, so the worker counts that job a moment after the run has
    // ended: wait for the counter to catch up (a loaded machine failed here reading it at once).
    const exposition = await waitUntil(
      async () => {
        const text = await (await fetch(metricsUrl)).text();
        return metric(text, "hrpipe_jobs_completed_total", "report") >= final.stages.report.done && text;
      },
      "the worker to count the report job",
      10_000,
      100,
    );
    for (const stage of stageNames) {
      const { completed = 0, ...unfinished } = await queues
        .queue(stage)
        .getJobCounts("completed", "failed", "waiting", "active", "delayed");
      // Nothing lost: every job the run added completed; nothing duplicated: each completed once
      // (the worker's own count equals the run's, kept in its manifest when the run ended).
      expect(unfinished, stage).toEqual({ failed: 0, waiting: 0, active: 0, delayed: 0, paused: 0 });
      const done = final.stages[stage].done;
      expect(final.stages[stage].pending + final.stages[stage].failed, stage).toBe(0);
      expect(metric(exposition, "hrpipe_jobs_completed_total", stage), stage).toBe(done);
      // The ended run left only its report job in Redis.
      expect(completed, stage).toBe(stage === "report" ? 1 : 0);
      observed[`${stage}Jobs`] = done;
      observed[`${stage}FailedAttempts`] = metric(exposition, "hrpipe_jobs_failed_total", stage);
    }
    const report = runReportSchema.parse(
      JSON.parse(await readFile(path.join(root, "storage", artifactKeys.runReport(runId)), "utf8")),
    );
    expect(report.videos.map((v) => v.subject).sort()).toEqual([...subjects].sort());
    // The same clips run without faults (`hrpipe run`, its own Redis and storage): the same report.
    const control = path.join(root, "control");
    const clean = await runCli(
      ["run", path.join(root, "videos"), "--layout", "videos", "--skin-area", "box", "--out", control],
      { STORAGE_URL: `file://${path.join(root, "control-storage")}`, LOG_LEVEL: "warn" },
    );
    expect(clean.code, clean.stderr).toBe(0);
    const expected = runReportSchema.parse(
      JSON.parse(await readFile(path.join(control, "report.json"), "utf8")),
    );
    for (const video of report.videos) {
      expect(video.excluded, video.subject).toBeNull();
      expect(video.methods.pos!.windows.length, video.subject).toBeGreaterThanOrEqual(6);
      const twin = expected.videos.find((v) => v.subject === video.subject)!;
      expect(video.durationS).toBe(twin.durationS);
      // Every window, each wholly covered by face traces: a face segment lost in the outage would
      // leave a gap that no window could cover, and one counted twice would change the traces.
      expect(video.methods, video.subject).toEqual(twin.methods);
    }
    console.log(`redis faults: ${JSON.stringify(observed)}`);
  }, 600_000);
});
