import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveTool } from "@hrpipe/media";
import { FileStorage } from "@hrpipe/runtime";
import { synthDataset } from "@hrpipe/synth";
import { type BenchResult, machineDescription } from "./report.ts";

const minutes = 20;
const stageScript = path.join(import.meta.dirname, "long-video-stage.ts");

function runStage(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, stageScript, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`long-video ${args[0]} stage exited ${code}`));
      resolve(JSON.parse(output.trim().split("\n").pop()!) as Record<string, unknown>);
    });
  });
}

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveTool("ffmpeg").path, ["-v", "error", "-y", ...args], { stdio: "inherit" });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

/**
 * AMIGOS' long videos (15-24 min) through decode and face in bounded memory: a 1-min 1280x720
 * synthetic face video repeated to 20 min, decoded into 10-s chunks and every chunk face-analysed
 * with the defaults, each stage in its own process, its peak RSS read from the kernel.
 */
export async function benchLongVideo(): Promise<BenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-long-"));
  try {
    await synthDataset(new FileStorage(dir), {
      participants: 1,
      videos: 1,
      seconds: 60,
      seed: 7,
      width: 1280,
      height: 720,
      fps: 30,
      prefix: "data",
    });
    const folder = path.join(dir, "data", "faces", "P01");
    const minute = path.join(folder, readdirSync(folder).find((file) => file.endsWith(".mov"))!);
    const list = path.join(dir, "concat.txt");
    await writeFile(list, Array.from({ length: minutes }, () => `file '${minute}'`).join("\n"));
    const long = path.join(folder, "P01_N1_face.mov");
    await ffmpeg(["-f", "concat", "-safe", "0", "-i", list, "-c", "copy", `${long}.tmp.mov`]);
    await rename(`${long}.tmp.mov`, long);
    const decode = await runStage(["decode", dir, "data/faces/P01/P01_N1_face.mov"]);
    const jobsFile = path.join(dir, "jobs.json");
    await writeFile(jobsFile, JSON.stringify(decode.jobs));
    const face = await runStage(["face", dir, jobsFile]);
    const frames = face.frames as number;
    return {
      name: "long-video",
      title: "A 20-minute 720p video through decode and face",
      method:
        `\`pnpm bench long-video\`. A 60-s 1280x720 30-fps synthetic face video (H.264) repeated ${minutes} times with ffmpeg's concat ` +
        "demuxer (stream copy), decoded by the decode stage's processor into 10-s chunks, then every chunk through the face stage's " +
        "processor with the defaults (tracking, landmarks every other frame), each stage in a process of its own; peak RSS is the kernel's " +
        "maxRSS of that process (the stage's Node process, not its ffmpeg children).",
      rows: [
        {
          metric: "decode stage, peak RSS",
          value: decode.maxRssMb as number,
          unit: "MB",
          target: "< 1536 MB",
          met: (decode.maxRssMb as number) < 1536,
        },
        {
          metric: "face stage, peak RSS",
          value: face.maxRssMb as number,
          unit: "MB",
          target: "< 1536 MB",
          met: (face.maxRssMb as number) < 1536,
        },
        { metric: "frames through the face stage", value: frames, unit: "frames" },
        { metric: "faces found", value: (100 * (face.facesFound as number)) / frames, unit: "%" },
        { metric: "decode stage time", value: decode.seconds as number, unit: "s" },
        { metric: "face stage throughput", value: frames / (face.seconds as number), unit: "frames/s" },
      ],
      measuredAt: new Date().toISOString().slice(0, 10),
      machine: machineDescription(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
