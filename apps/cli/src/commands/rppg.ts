import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { type FaceOptions, type Payload, parsePayload, type VideoEstimate } from "@hrpipe/contracts";
import { parseRgbTrace, type RgbTraceTable } from "@hrpipe/datasets";
import { pulseEstimate, rppgEstimates } from "@hrpipe/estimation";
import { LocalFaceAnalyser, wholeVideo } from "@hrpipe/face";
import { probeVideo } from "@hrpipe/media";
import type { Storage } from "@hrpipe/runtime/storage";
import {
  cleanPulse,
  type RgbTrace,
  type RppgMethod,
  type RppgVideoEstimate,
  rppgMethods,
  rppgPulse,
} from "@hrpipe/signal";
import { ProgressLine, UserError } from "../output.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { installedModels, modelStorage, videoNetworkOutputs } from "./neural.ts";

/** The command's own flags, and the run flags it shares (`--window`, `--skin-area`, `--ecg-offset`...). */
export interface RppgCommandOptions extends RunCommandOptions {
  out: string;
  method: string;
  rgb?: boolean;
  signal?: boolean;
  hrv?: boolean;
  timeUnit: string;
  fps?: number;
  harmonicWeight: number;
}

/** The mean-colour traces a heart rate is measured on, on a uniform time grid. */
export interface Traces {
  fsHz: number;
  durationS: number;
  /** Mean skin colour per frame, [frames, 3]. */
  rgb: RgbTrace;
  faceFound: Uint8Array;
  /** A video's face crops, for the networks. */
  crops?: { images: Uint8Array; frameIndex: Int32Array; side: number };
}

/**
 * One video's skin colour over the whole video, measured where the face options say (the face stage's
 * analysis), and its face crops where `crops` asks for them (the networks read them).
 */
export async function videoTraces(video: string, face: FaceOptions, crops: boolean): Promise<Traces> {
  const progress = new ProgressLine("rppg");
  const info = await probeVideo(video);
  const analysis = await new LocalFaceAnalyser().analyse(
    { file: video, window: wholeVideo(info), options: { ...face, crops } },
    (done, total) => progress.update(done, total, "frames"),
  );
  return {
    fsHz: info.fps,
    durationS: info.frameCount / info.fps,
    rgb: analysis.rgb,
    faceFound: analysis.faceFound,
    ...(crops
      ? { crops: { images: analysis.images, frameIndex: analysis.frameIndex, side: face.cropSize } }
      : {}),
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
  if (!(options.harmonicWeight >= 0)) throw new UserError("--harmonic-weight must be 0 or more.");
  // The run flags it shares, checked as a run checks them (an invalid one is named by its flag).
  const run = parsePayload("ingest", await ingestPayload("rppg", "", options));
  const folder = !options.rgb && (await stat(input)).isDirectory();
  if (methods.length === 0 && options.rgb)
    throw new UserError(
      `--method must be all or one of ${rppgMethods.join(", ")} for an --rgb trace, got ${options.method}; an imported network reads faces, not a trace.`,
    );
  // The imported networks read a video's face crops: the model store is opened only when they are asked for.
  const models =
    !options.rgb && (options.method === "all" || methods.length === 0) ? modelStorage({}) : undefined;
  try {
    const networks = models ? await installedModels(models) : [];
    const neural = options.method === "all" ? networks : networks.filter((name) => name === options.method);
    if (methods.length + neural.length === 0)
      throw new UserError(
        `--method must be all or one of ${[...rppgMethods, ...networks].join(", ")} (the imported networks: hrpipe model list), got ${options.method}.`,
      );
    // A folder runs the pipeline in process (queues, runners): loaded only for one.
    if (folder)
      return await (await import("./rppg-folder.ts")).rppgFolder(input, {
        out: options.out,
        methods: [...methods, ...neural],
        estimate: { harmonicWeight: options.harmonicWeight },
        run: options,
        hrv: options.hrv,
        ...(models && neural.length > 0 ? { networks: { names: neural, storage: models } } : {}),
      });
    return await measureVideo(input, options, { methods, neural, models, run });
  } finally {
    await models?.close();
  }
}

type VideoHrv = NonNullable<VideoEstimate["hrv"]>;

/** A recording's HRV in one line: what `--hrv` prints beside its heart rate. */
function hrvLine(hrv: VideoHrv["whole"]): string {
  const ms = (value: number | null) => (value === null ? "-" : `${value.toFixed(0)} ms`);
  const share = (value: number | null) => (value === null ? "-" : `${(value * 100).toFixed(0)}%`);
  return `mean IBI ${ms(hrv.meanIbiMs)}, SDNN ${ms(hrv.sdnnMs)}, RMSSD ${ms(hrv.rmssdMs)}, pNN50 ${share(hrv.pnn50)} (${hrv.intervals} intervals, ${share(hrv.flaggedShare)} flagged)`;
}

/** One video or trace by the given methods and imported networks: the estimates written and printed. */
async function measureVideo(
  input: string,
  options: RppgCommandOptions,
  plan: {
    methods: RppgMethod[];
    neural: string[];
    models: Storage | undefined;
    run: Payload<"ingest">;
  },
): Promise<number> {
  const { methods, neural, models, run } = plan;
  const { windowS, strideS } = run.eval;
  const estimateOptions = { windowS, strideS, harmonicWeight: options.harmonicWeight };
  const source = options.rgb
    ? await csvTraces(input, options.timeUnit, options.fps)
    : await videoTraces(input, run.face, neural.length > 0);
  const estimates = rppgEstimates(
    { rgb: source.rgb, faceFound: source.faceFound, firstFrame: 0 },
    source.fsHz,
    undefined,
    estimateOptions,
    methods,
  );
  const results: Record<string, RppgVideoEstimate & { hrv?: VideoHrv; signal?: number[] }> =
    Object.fromEntries(
      methods.map((method) => {
        const signal = options.signal
          ? {
              signal: Array.from(rppgPulse(method, source.rgb, source.fsHz), (v) => Number(v.toPrecision(6))),
            }
          : {};
        return [method, { ...estimates[method]!, ...signal }];
      }),
    );
  for (const name of neural) {
    const pulse = (await videoNetworkOutputs(models!, name, source.crops!, source.faceFound.length))?.pulse;
    const estimate: RppgVideoEstimate & { hrv?: VideoHrv } = pulse
      ? pulseEstimate(pulse, source.faceFound, 0, source.fsHz, undefined, estimateOptions)
      : { hrBpm: null, windows: [] };
    const signal =
      options.signal && pulse
        ? { signal: Array.from(cleanPulse(pulse, source.fsHz), (v) => Number(v.toPrecision(6))) }
        : {};
    results[name] = { ...estimate, ...signal };
  }
  await writeFile(
    options.out,
    `${JSON.stringify({ source: input, skinArea: options.rgb ? "trace" : run.face.skinArea, fps: source.fsHz, durationS: source.durationS, methods: results }, null, 2)}\n`,
  );
  const ranked = [...methods, ...neural].filter((method) => results[method]!.hrBpm !== null);
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
    const { hrBpm, windows, hrv } = results[method]!;
    const good = windows.filter((w) => w.hrBpm !== null && !w.lowQuality).length;
    process.stdout.write(
      `${method.padEnd(Math.max(6, ...ranked.map((m) => m.length)))} ${hrBpm!.toFixed(1)} bpm  (${good}/${windows.length} windows above the quality floor)${options.hrv && hrv ? `  ${hrvLine(hrv.whole)}` : ""}\n`,
    );
  }
  process.stdout.write(`wrote ${options.out}\n`);
  return 0;
}
