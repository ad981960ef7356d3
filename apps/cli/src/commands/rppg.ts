import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { analyseVideo, FaceDetector } from "@hrpipe/face";
import { faceOptionsSchema } from "@hrpipe/queue";
import { type RppgMethod, rppgHeartRate, rppgMethods } from "@hrpipe/signal";
import { ProgressLine, UserError } from "../output.ts";

export interface RppgCommandOptions {
  out: string;
  method: string;
  window: number;
  stride: number;
}

async function* counted<T>(items: AsyncIterable<T>, progress: ProgressLine, total: number) {
  let done = 0;
  for await (const item of items) {
    yield item;
    progress.update(++done, total, "frames");
  }
}

/** `hrpipe rppg <video>`: classical rPPG heart rate per window for one video, locally. */
export async function rppgCommand(video: string, options: RppgCommandOptions): Promise<number> {
  if (!existsSync(video)) throw new UserError(`${video} does not exist; pass the path of a video file.`);
  if (!rppgMethods.includes(options.method as RppgMethod))
    throw new UserError(`--method must be one of ${rppgMethods.join(", ")}, got ${options.method}.`);
  const [windowS, strideS] = [options.window, options.stride];
  if (!(windowS > 0 && strideS > 0))
    throw new UserError("--window and --stride must be positive numbers of seconds.");
  const detector = await FaceDetector.create({ kind: "tiny", inputSize: 320 });
  const progress = new ProgressLine("rppg");
  const { info, analysis: faces } = await analyseVideo(
    video,
    detector,
    faceOptionsSchema.parse({}),
    (frames, total) => counted(frames, progress, total),
  );
  const windows = rppgHeartRate(options.method as RppgMethod, faces.rgb, faces.faceFound, info.fps, {
    windowS,
    strideS,
  });
  await writeFile(options.out, JSON.stringify({ method: options.method, fps: info.fps, windows }, null, 2));
  const estimated = windows.filter((w) => w.hrBpm !== null);
  if (estimated.length === 0) {
    const withFace = faces.faceFound.reduce((sum, found) => sum + found, 0);
    process.stdout.write(
      `${options.out}: no heart rate: ${withFace === 0 ? "no frame of the video showed a face" : `no ${windowS}-s window had a face in enough of its frames (${withFace} of ${faces.faceFound.length} frames with a face)`}.\n`,
    );
    return 1;
  }
  const mean = estimated.reduce((s, w) => s + w.hrBpm!, 0) / estimated.length;
  process.stdout.write(
    `${options.out}: ${estimated.length}/${windows.length} windows with a heart rate, mean ${mean.toFixed(1)} bpm (${options.method})\n`,
  );
  return 0;
}
