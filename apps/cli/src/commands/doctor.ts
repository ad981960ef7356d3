import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { configVariables, type HrpipeConfig, loadConfig, redactUrl } from "@hrpipe/contracts";
import { faceModelsDir, missingFaceModels } from "@hrpipe/face";
import { decodeFrames, resolveTool, toolVersion, VideoEncoder } from "@hrpipe/media";
import { defaultBatchSize, onnxRuntimeInfo, selectTfjsBackend } from "@hrpipe/model";
import { openRedis, openStorage, readRedisServerInfo } from "@hrpipe/runtime";
import { formatTable } from "../output.ts";

export interface Check {
  name: string;
  ok: boolean;
  /** A failed required check makes `hrpipe doctor` exit non-zero. */
  required: boolean;
  detail: string;
}

async function check(name: string, required: boolean, run: () => Promise<string> | string): Promise<Check> {
  try {
    return { name, ok: true, required, detail: await run() };
  } catch (error) {
    return { name, ok: false, required, detail: (error as Error).message };
  }
}

async function checkRedis(config: HrpipeConfig): Promise<string> {
  if (!config.redisUrl)
    throw new Error("REDIS_URL is not set; workers need it (hrpipe demo starts a private Redis by itself).");
  const connection = await openRedis(config.redisUrl, "producer", 3_000);
  try {
    const info = await readRedisServerInfo(connection);
    if (info.maxmemoryPolicy !== "noeviction") {
      throw new Error(
        `Redis ${info.version} at ${redactUrl(config.redisUrl)} has maxmemory-policy ${info.maxmemoryPolicy}; set it to noeviction or jobs can be evicted.`,
      );
    }
    return `Redis ${info.version} at ${redactUrl(config.redisUrl)}, maxmemory-policy noeviction`;
  } finally {
    connection.disconnect();
  }
}

async function checkStorage(config: HrpipeConfig): Promise<string> {
  const storage = openStorage(config.storageUrl, config);
  const key = `doctor/probe-${randomBytes(6).toString("hex")}.txt`;
  const body = `hrpipe doctor ${new Date().toISOString()}`;
  try {
    await storage.put(key, body);
    const back = (await storage.get(key)).toString();
    if (back !== body)
      throw new Error(
        `${storage.url} returned different bytes for ${key}; check the server's checksum settings.`,
      );
    await storage.delete(key);
    if (await storage.exists(key)) throw new Error(`${storage.url} still lists ${key} after deleting it.`);
    return `${storage.url}: write, read and delete of a probe object`;
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.includes(storage.url) ? message : `${storage.url} failed the probe: ${message}`);
  } finally {
    await storage.close();
  }
}

/** Encodes a tiny clip and decodes it back the way the face stage reads frames (named pipe included). */
async function checkVideoRoundTrip(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-doctor-video-"));
  try {
    const size = { width: 32, height: 32 };
    const file = path.join(dir, "probe.mp4");
    const encoder = new VideoEncoder(file, { ...size, fps: 25, crf: 0 });
    const frames = 3;
    for (let k = 0; k < frames; k++) await encoder.write(new Uint8Array(32 * 32 * 3).fill(60 * k));
    await encoder.close();
    let decoded = 0;
    for await (const _ of decodeFrames(file, { firstFrame: 0, frameCount: frames, fps: 25 }, size)) decoded++;
    return `H.264 encode and RGB24 decode of ${decoded} frames through a named pipe`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runChecks(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  let config: HrpipeConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    return [{ name: "config", ok: false, required: true, detail: (error as Error).message }];
  }
  return [
    {
      name: "config",
      ok: true,
      required: true,
      detail: `storage ${config.storageUrl}, queue prefix ${config.queuePrefix}; set: ${
        configVariables.filter((name) => env[name]).join(", ") || "none"
      } (of the ${configVariables.length} variables in README.md, Configuration)`,
    },
    await check("redis", true, () => checkRedis(config)),
    await check("storage", true, () => checkStorage(config)),
    await check("ffmpeg", true, () => {
      const tool = resolveTool("ffmpeg", env);
      return `${toolVersion(tool)} (${tool.path}, ${tool.source})`;
    }),
    await check("ffprobe", true, () => {
      const tool = resolveTool("ffprobe", env);
      return `${toolVersion(tool)} (${tool.path}, ${tool.source})`;
    }),
    await check("video-io", true, checkVideoRoundTrip),
    await check("onnxruntime", true, () => {
      const info = onnxRuntimeInfo();
      const provider = info.providers[0] ?? "cpu";
      return `onnxruntime-node ${info.version}, providers ${info.providers.join(", ")}; the features stage here runs on ${provider}, ${config.featuresBatch ?? defaultBatchSize(provider)} crops per batch`;
    }),
    await check("tfjs", true, async () => {
      const choice = await selectTfjsBackend();
      const skipped = choice.skipped.map((s) => `${s.name} unavailable`).join(", ");
      return `backend ${choice.name}${skipped ? ` (${skipped})` : ""}`;
    }),
    await check("face-models", true, () => {
      const missing = missingFaceModels();
      if (missing.length > 0)
        throw new Error(
          `face-api models missing in ${faceModelsDir()}: ${missing.join(", ")}; reinstall @vladmandic/face-api.`,
        );
      return `TinyFaceDetector, SSD MobileNet, landmarks in ${faceModelsDir()}`;
    }),
  ];
}

export interface DoctorOptions {
  json?: boolean;
}

/** Prints the checks and returns the exit code: 0 only if every required check passed. */
export async function doctor(options: DoctorOptions): Promise<number> {
  const checks = await runChecks();
  const ok = checks.every((c) => c.ok || !c.required);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
  } else {
    const rows = checks.map((c) => [c.name, c.ok ? "ok" : c.required ? "FAIL" : "warn", c.detail]);
    process.stdout.write(`${formatTable(["check", "status", "detail"], rows)}\n`);
    process.stdout.write(
      ok ? "\nAll required checks passed.\n" : "\nSome required checks failed; see the detail column.\n",
    );
  }
  return ok ? 0 : 1;
}
