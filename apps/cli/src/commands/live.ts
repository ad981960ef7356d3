import { createWriteStream, type WriteStream } from "node:fs";
import { type FaceOptions, parsePayload } from "@hrpipe/contracts";
import { type LiveEstimate, LiveHeartRate } from "@hrpipe/estimation";
import {
  FaceDetector,
  FaceFollower,
  type FrameFace,
  frameMean,
  LandmarkDetector,
  Picture,
} from "@hrpipe/face";
import { LiveSourceError, liveFrames, liveSourceKind } from "@hrpipe/media";
import { median, type RppgMethod, rppgMethods } from "@hrpipe/signal";
import sharp from "sharp";
import { LivePage } from "../live-page.ts";
import { UserError } from "../output.ts";
import { OutputFolder } from "../output-folder.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { parseSize } from "./synth.ts";

export interface LiveCommandOptions extends RunCommandOptions {
  method: string;
  realtime?: boolean;
  duration?: number;
  size: string;
  fps: number;
  http?: number;
  loop?: boolean;
  record?: string;
  force?: boolean;
}

/** One line of `hrpipe live`'s output. */
interface LiveLine extends Omit<LiveEstimate, "pulse"> {
  method: RppgMethod;
  /** Seconds from the newest frame's arrival to this estimate. */
  latencyS: number;
}

/** Frames of the source as skin colours and face boxes: the face followed as the face stage follows it. */
async function faceReader(
  face: FaceOptions,
  fps: number,
): Promise<
  (picture: Picture) => Promise<{ box: FrameFace["box"]; skin: { r: number; g: number; b: number } | null }>
> {
  if (face.skinArea === "whole-frame") return async (picture) => ({ box: null, skin: frameMean(picture) });
  const [detector, landmarks] = await Promise.all([
    FaceDetector.create({ kind: face.detector, inputSize: face.inputSize }),
    face.skinArea === "landmarks" ? LandmarkDetector.create() : undefined,
  ]);
  const follower = new FaceFollower(detector, face, fps, landmarks);
  return (picture) => follower.next(picture);
}

/**
 * `--record DIR`: every estimate as it was printed (estimates.jsonl) and the skin colour of every
 * frame with a face (trace.csv, frame,R,G,B), which `hrpipe rppg DIR/trace.csv --rgb --fps N` measures
 * again offline. Written as they come, so a run that is killed keeps what it saw.
 */
class Recording {
  private constructor(
    private readonly folder: OutputFolder,
    private readonly estimates: WriteStream,
    private readonly trace: WriteStream,
  ) {}

  static async open(dir: string, force = false): Promise<Recording> {
    const folder = await OutputFolder.open(dir, { command: "live", force });
    const trace = createWriteStream(await folder.file("trace.csv"));
    trace.write("frame,R,G,B\n");
    return new Recording(folder, createWriteStream(await folder.file("estimates.jsonl")), trace);
  }

  frame(index: number, skin: { r: number; g: number; b: number } | null): void {
    if (skin) this.trace.write(`${index},${skin.r.toFixed(4)},${skin.g.toFixed(4)},${skin.b.toFixed(4)}\n`);
  }

  estimate(line: LiveLine): void {
    this.estimates.write(`${JSON.stringify(line)}\n`);
  }

  async close(fps: number): Promise<void> {
    await Promise.all([this.estimates, this.trace].map((stream) => new Promise((done) => stream.end(done))));
    await this.folder.finish();
    process.stderr.write(
      `live: recorded ${this.folder.dir}/estimates.jsonl and trace.csv (hrpipe rppg ${this.folder.dir}/trace.csv --rgb --fps ${fps} measures it again)\n`,
    );
  }
}

/**
 * `hrpipe live SOURCE`: the heart rate of a camera, a stream or a file as it plays. Every second, once
 * a window has been seen, one JSON line on stdout: the newest window's rate measured as the offline
 * path measures it, and how long after the newest frame arrived. Ends with the source, after
 * `--duration`, or on SIGINT, with a summary on stderr; a source that fails or stalls ends it with
 * exit code 1 (a LiveSourceError naming it), a bad option with 2.
 */
export async function liveCommand(source: string, options: LiveCommandOptions): Promise<number> {
  if (!rppgMethods.includes(options.method as RppgMethod))
    throw new UserError(`--method must be one of ${rppgMethods.join(", ")}, got ${options.method}.`);
  const method = options.method as RppgMethod;
  // The flags a live view shares with a run (--window, --skin-area, --detect-every), with their defaults.
  const run = parsePayload("ingest", await ingestPayload("live", "", options));
  const windowS = run.eval.windowS;
  const { width, height } = parseSize(options.size);
  const fps = options.fps;
  if (options.loop && liveSourceKind(source) !== "file")
    throw new UserError(`--loop plays a file again from its start; ${source} is not a file.`);
  if (liveSourceKind(source) === "file" && !options.realtime)
    process.stderr.write(
      `live: ${source} is a file, read as fast as it decodes (--realtime plays it at its own rate)\n`,
    );
  const faceOf = await faceReader(run.face, fps);
  const record =
    options.record === undefined ? undefined : await Recording.open(options.record, options.force);
  const view = options.http === undefined ? undefined : await LivePage.start(options.http);
  if (view) process.stderr.write(`live: page at ${view.url}\n`);
  const live = new LiveHeartRate({ method, fps, windowS });
  const lines: LiveLine[] = [];
  let facesSeen = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const started = performance.now();
  try {
    for await (const frame of liveFrames(source, {
      width,
      height,
      fps,
      realtime: options.realtime ?? false,
      loop: options.loop ?? false,
    })) {
      const { box, skin } = await faceOf(new Picture(frame.rgb, width, height));
      if (skin) facesSeen++;
      record?.frame(frame.index, skin);
      live.push(skin);
      if (live.frames % Math.round(fps) === 0) {
        const estimate = live.estimate();
        if (estimate) {
          const round = (value: number | null, digits: number) =>
            value === null ? null : Number(value.toFixed(digits));
          const line: LiveLine = {
            tS: estimate.tS,
            hrBpm: round(estimate.hrBpm, 1),
            confidence: round(estimate.confidence, 3),
            snrDb: round(estimate.snrDb, 2),
            lowQuality: estimate.lowQuality,
            rmssdMs: round(estimate.rmssdMs, 1),
            method,
            latencyS: round((performance.now() - frame.arrivedMs) / 1000, 3)!,
          };
          lines.push(line);
          process.stdout.write(`${JSON.stringify(line)}\n`);
          record?.estimate(line);
          if (view) {
            const jpeg = await sharp(frame.rgb, { raw: { width, height, channels: 3 } })
              .jpeg({ quality: 70 })
              .toBuffer();
            view.page.publish(
              {
                ...line,
                pulse: Array.from(estimate.pulse, (v) => Number(v.toPrecision(4))),
                box,
                frame: { width, height, index: frame.index },
              },
              jpeg,
            );
          }
        }
      }
      if (stopped || (options.duration !== undefined && live.frames >= options.duration * fps)) break;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await view?.page.close();
    await record?.close(fps);
  }
  const rates = lines.flatMap((line) => (line.hrBpm === null ? [] : [line.hrBpm]));
  const wallS = (performance.now() - started) / 1000;
  process.stderr.write(
    `live: ${source}: ${lines.length} estimates over ${(live.frames / fps).toFixed(1)} s of video in ${wallS.toFixed(1)} s; ` +
      `median ${rates.length > 0 ? median(rates).toFixed(1) : "-"} bpm (${method}), median latency ${lines.length > 0 ? median(lines.map((l) => l.latencyS)).toFixed(3) : "-"} s, ` +
      `a face in ${live.frames > 0 ? ((100 * facesSeen) / live.frames).toFixed(0) : 0}% of ${live.frames} frames${stopped ? " (stopped)" : ""}\n`,
  );
  if (live.frames === 0) throw new LiveSourceError(`${source} gave no frame; check the device, URL or file.`);
  return 0;
}
