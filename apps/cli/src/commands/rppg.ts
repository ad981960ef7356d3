import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { faceOptionsSchema } from "@hrpipe/contracts";
import { parseRgbTrace, type RgbTraceTable } from "@hrpipe/datasets";
import { analyseVideo, FaceDetector, frameMean, LandmarkDetector } from "@hrpipe/face";
import { decodeFrames, probeVideo } from "@hrpipe/media";
import { type RgbTrace, type RppgMethod, rppgMethods, rppgPulse, rppgVideoEstimate } from "@hrpipe/signal";
import { ProgressLine, UserError } from "../output.ts";
import { isFolder, rppgFolder } from "./rppg-folder.ts";

export interface RppgCommandOptions {
  out: string;
  method: string;
  window: number;
  stride: number;
  rgb?: boolean;
  roi: string;
  signal?: boolean;
  timeUnit: string;
  fps?: number;
  /** For a folder: its dataset layout; detected when absent. */
  layout?: string;
  harmonicWeight: number;
}

/** The mean-colour traces a heart rate is measured on, on a uniform time grid. */
interface Traces {
  fsHz: number;
  durationS: number;
  /** Mean skin colour per frame, [frames, 3]. */
  rgb: RgbTrace;
  faceFound: Uint8Array;
}

async function* counted<T>(items: AsyncIterable<T>, progress: ProgressLine, total: number) {
  let done = 0;
  for await (const item of items) {
    yield item;
    progress.update(++done, total, "frames");
  }
}

/** The face path, its detector and landmark net loaded once for every video it measures. */
function faceTraces(): (video: string) => Promise<Traces> {
  let models: Promise<[FaceDetector, LandmarkDetector]> | undefined;
  return async (video) => {
    models ??= Promise.all([
      FaceDetector.create({ kind: "tiny", inputSize: 320 }),
      LandmarkDetector.create(),
    ]);
    const [detector, landmarks] = await models;
    const progress = new ProgressLine("rppg");
    const { info, analysis } = await analyseVideo(
      video,
      detector,
      faceOptionsSchema.parse({}),
      (frames, total) => counted(frames, progress, total),
      landmarks,
    );
    return {
      fsHz: info.fps,
      durationS: info.frameCount / info.fps,
      rgb: analysis.rgb,
      faceFound: analysis.faceFound,
    };
  };
}

/** For a video that is already a skin patch (a finger on a lens, a cropped cheek): every frame's mean colour. */
async function wholeFrameTraces(video: string): Promise<Traces> {
  const info = await probeVideo(video);
  const progress = new ProgressLine("rppg");
  const rgb = new Float64Array(info.frameCount * 3);
  let frames = 0;
  const window = { firstFrame: 0, frameCount: info.frameCount, fps: info.fps, originS: info.originS };
  for await (const frame of counted(decodeFrames(video, window, info), progress, info.frameCount)) {
    const mean = frameMean(frame);
    rgb.set([mean.r, mean.g, mean.b], frames++ * 3);
  }
  return {
    fsHz: info.fps,
    durationS: frames / info.fps,
    rgb: rgb.subarray(0, frames * 3),
    faceFound: new Uint8Array(frames).fill(1),
  };
}

/** Mean-RGB traces from a CSV (see parseRgbTrace); every sample counts as skin. */
export async function csvTraces(file: string, timeUnit: string, fps?: number): Promise<Traces> {
  if (timeUnit !== "ms" && timeUnit !== "s")
    throw new UserError(`--time-unit must be ms or s, got ${timeUnit}.`);
  let trace: RgbTraceTable;
  try {
    trace = parseRgbTrace(file, await readFile(file, "utf8"), { timeUnit, fps });
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const frames = trace.rgb.length / 3;
  return {
    fsHz: trace.fsHz,
    durationS: frames / trace.fsHz,
    rgb: trace.rgb,
    faceFound: new Uint8Array(frames).fill(1),
  };
}

/**
 * `hrpipe rppg <video | traces.csv>`: classical rPPG heart rate per window and per video, with every
 * method (`--method all`) on one decode and face pass, written as { fps, durationS, methods }.
 */
export async function rppgCommand(input: string, options: RppgCommandOptions): Promise<number> {
  if (!existsSync(input))
    throw new UserError(
      `${input} does not exist; pass the path of a video file or, with --rgb, of a CSV trace.`,
    );
  const methods: RppgMethod[] =
    options.method === "all" ? rppgMethods : rppgMethods.filter((method) => method === options.method);
  if (methods.length === 0)
    throw new UserError(`--method must be all or one of ${rppgMethods.join(", ")}, got ${options.method}.`);
  if (!["face", "whole-frame"].includes(options.roi))
    throw new UserError(`--roi must be face or whole-frame, got ${options.roi}.`);
  const [windowS, strideS] = [options.window, options.stride];
  if (!(windowS > 0 && strideS > 0))
    throw new UserError("--window and --stride must be positive numbers of seconds.");
  if (!(options.harmonicWeight >= 0)) throw new UserError("--harmonic-weight must be 0 or more.");
  const estimateOptions = { windowS, strideS, harmonicWeight: options.harmonicWeight };
  const videoTraces = options.roi === "whole-frame" ? wholeFrameTraces : faceTraces();
  if (!options.rgb && (await isFolder(input)))
    return rppgFolder(
      input,
      { out: options.out, layout: options.layout, methods, estimate: estimateOptions },
      videoTraces,
    );
  const source = options.rgb
    ? await csvTraces(input, options.timeUnit, options.fps)
    : await videoTraces(input);
  const results = Object.fromEntries(
    methods.map((method) => {
      const estimate = rppgVideoEstimate(method, source.rgb, source.faceFound, source.fsHz, estimateOptions);
      const signal = options.signal
        ? { signal: Array.from(rppgPulse(method, source.rgb, source.fsHz), (v) => Number(v.toPrecision(6))) }
        : {};
      return [method, { ...estimate, ...signal }];
    }),
  );
  await writeFile(
    options.out,
    `${JSON.stringify({ source: input, roi: options.rgb ? "trace" : options.roi, fps: source.fsHz, durationS: source.durationS, methods: results }, null, 2)}\n`,
  );
  const ranked = methods.filter((method) => results[method]!.hrBpm !== null);
  if (ranked.length === 0) {
    const withFace = source.faceFound.reduce((sum, found) => sum + found, 0);
    const why = options.rgb
      ? `the trace's ${source.durationS.toFixed(1)} s gave no ${windowS}-s window a heart rate`
      : withFace === 0
        ? "no frame of the video showed a face"
        : `no ${windowS}-s window had a face in all of its frames (${withFace} of ${source.faceFound.length} frames with a face)`;
    process.stdout.write(`${options.out}: no heart rate: ${why}.\n`);
    return 1;
  }
  for (const method of ranked) {
    const { hrBpm, windows } = results[method]!;
    const good = windows.filter((w) => w.hrBpm !== null && !w.lowQuality).length;
    process.stdout.write(
      `${method.padEnd(6)} ${hrBpm!.toFixed(1)} bpm  (${good}/${windows.length} windows above the quality floor)\n`,
    );
  }
  process.stdout.write(`wrote ${options.out}\n`);
  return 0;
}
