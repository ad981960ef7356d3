import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { faceOptionsSchema } from "@hrpipe/contracts";
import {
  createRedisConnection,
  FileStorage,
  freePort,
  StageQueues,
  startPrivateRedis,
} from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { processDecodeJob } from "@hrpipe/worker-decode";
import { type BenchResult, machineDescription } from "./report.ts";

const bin = path.resolve(import.meta.dirname, "../apps/cli/bin/hrpipe.js");
/** The pipeline's face options, with the chunks kept for the next worker count. */
const faceOptions = faceOptionsSchema.parse({ keepChunks: true });

/** Seconds for `workers` face worker processes to finish every face job of the chunks. */
async function faceStageSeconds(
  workers: number,
  redisUrl: string,
  dir: string,
  chunks: Parameters<StageQueues["add"]>[1][],
): Promise<number> {
  const prefix = `bench-face-${workers}`;
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    STORAGE_URL: `file://${dir}`,
    HRPIPE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
  };
  const ports = await Promise.all(Array.from({ length: workers }, () => freePort()));
  const children = ports.map((port) =>
    spawn(process.execPath, [bin, "worker", "face"], {
      env: { ...env, HRPIPE_METRICS_PORT: String(port) },
      stdio: "ignore",
    }),
  );
  const connection = createRedisConnection(redisUrl, "producer");
  const queues = new StageQueues({ connection, prefix });
  const ready = (port: number) =>
    fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
  try {
    while (!(await Promise.all(ports.map(ready))).every(Boolean))
      await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    for (const chunk of chunks)
      await queues.add("face", { ...(chunk as object), facesHash: `bench${workers}` } as never);
    while (
      (await queues.queue("face").getCompletedCount()) + (await queues.queue("face").getFailedCount()) <
      chunks.length
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return (performance.now() - started) / 1000;
  } finally {
    await queues.close();
    connection.disconnect();
    for (const child of children) child.kill("SIGTERM");
  }
}

function demoPhases(): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const cwd = path.join(tmpdir(), `hrpipe-bench-demo-${process.pid}`);
    mkdirSync(cwd, { recursive: true });
    const child = spawn(process.execPath, [bin, "demo"], { cwd, stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`hrpipe demo exited ${code}:\n${output}`));
      const phases: Record<string, number> = {};
      for (const match of output.matchAll(
        /^(synthetic dataset|ingest|ecg|decode|face|train|eval|total)\s+([\d.]+)$/gm,
      ))
        phases[match[1]!] = Number(match[2]);
      rm(cwd, { recursive: true, force: true }).then(() => resolve(phases));
    });
  });
}

export async function benchScaling(): Promise<BenchResult> {
  const redis = await startPrivateRedis();
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-scaling-"));
  try {
    const storage = new FileStorage(dir);
    await synthDataset(storage, {
      participants: 2,
      videos: 2,
      seconds: 20,
      seed: 5,
      width: 640,
      height: 360,
      fps: 25,
      prefix: "data",
    });
    const chunks: Parameters<StageQueues["add"]>[1][] = [];
    for (const participant of ["P01", "P02"]) {
      for (const videoId of ["4", "5"]) {
        const videoKey = `data/faces/${participant}/${participant}_${videoId}_face.mov`;
        const decoded = await processDecodeJob(
          { participant, videoId, videoKey, options: { segmentS: 5 }, face: faceOptions },
          { storage },
        );
        for (const c of decoded.chunks) {
          chunks.push({
            runId: "bench",
            participant,
            videoId,
            facesHash: decoded.facesHash,
            segment: c.segment,
            chunkKey: c.chunkKey,
            chunkSha256: c.chunkSha256,
            firstFrame: c.firstFrame,
            frameCount: c.frameCount,
            fps: decoded.fps,
            width: decoded.width,
            height: decoded.height,
            options: faceOptions,
          });
        }
      }
    }
    const frames = 4 * 20 * 25;
    const one = await faceStageSeconds(1, redis.url, dir, chunks);
    const two = await faceStageSeconds(2, redis.url, dir, chunks);
    const phases = await demoPhases();
    return {
      name: "scaling",
      title: "Scaling out and the demo",
      method:
        `Face stage: ${chunks.length} face jobs (${frames} frames of 640x360 video in 5-s chunks) through 1, then 2, \`hrpipe worker face\` ` +
        "processes on one Redis, timed from enqueue to the last completion, in the same run. Demo: `hrpipe demo` with its defaults " +
        "(4 participants x 2 videos x 15 s at 320x240, both protocols), wall time at which each stage's last job finished.",
      rows: [
        {
          metric: "face stage, 2 worker processes",
          value: frames / two,
          unit: "frames/s",
          reference: { what: "1 worker process", value: frames / one },
        },
        ...Object.entries(phases).map(([phase, seconds]) => ({
          metric: `demo: ${phase} done at`,
          value: seconds,
          unit: "s",
          ...(phase === "total" ? { target: "< 300 s", met: seconds < 300 } : {}),
        })),
      ],
      measuredAt: new Date().toISOString().slice(0, 10),
      machine: machineDescription(),
    };
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
