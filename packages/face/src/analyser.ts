import { once } from "node:events";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type DecodeOptions, MediaError } from "@hrpipe/media";
import {
  type AnalyseOptions,
  analyseFaces,
  analyseWholeFrames,
  decodePictures,
  type FaceAnalysis,
  type FrameWindow,
} from "./analyse.ts";
import { type DetectorKind, FaceDetector, LandmarkDetector } from "./face-detector.ts";

/** How a window of frames is analysed: where the skin is measured, with which detector, and how often. */
export interface WindowAnalysisOptions extends AnalyseOptions {
  skinArea: "landmarks" | "box" | "whole-frame";
  detector: DetectorKind;
  inputSize: number;
}

/** Frames done of a window's total, as they are analysed. */
export type AnalysisProgress = (done: number, total: number) => void;

/** A window of a video file to analyse, and how. */
export interface WindowAnalysis {
  file: string;
  window: FrameWindow;
  options: WindowAnalysisOptions;
  decode?: Pick<DecodeOptions, "format">;
}

/** Decodes a window of a video file and analyses its frames: a face job's work between storage reads and writes. */
export interface FaceAnalyser {
  analyse(task: WindowAnalysis, progress?: AnalysisProgress): Promise<FaceAnalysis>;
  close(): Promise<void>;
}

/** How often progress is reported: a message a frame would cost more than it tells. */
const progressEveryFrames = 25;

async function* counted<T>(items: AsyncIterable<T>, total: number, progress?: AnalysisProgress) {
  let done = 0;
  for await (const item of items) {
    yield item;
    done++;
    if (progress && (done % progressEveryFrames === 0 || done === total)) progress(done, total);
  }
}

/**
 * The analysis on this thread, with one detector per kind and input size and the landmark net, each
 * loaded on first use and kept for the next window.
 */
export class LocalFaceAnalyser implements FaceAnalyser {
  private readonly detectors = new Map<string, Promise<FaceDetector>>();
  private landmarks: Promise<LandmarkDetector> | undefined;

  private detector(kind: DetectorKind, inputSize: number): Promise<FaceDetector> {
    const key = `${kind}-${inputSize}`;
    let detector = this.detectors.get(key);
    if (!detector) {
      detector = FaceDetector.create({ kind, inputSize });
      detector.catch(() => this.detectors.delete(key));
      this.detectors.set(key, detector);
    }
    return detector;
  }

  async analyse(
    { file, window, options, decode }: WindowAnalysis,
    progress?: AnalysisProgress,
  ): Promise<FaceAnalysis> {
    const frames = counted(
      decodePictures(file, window, { ...decode, analysisSide: options.analysisSide }),
      window.frameCount,
      progress,
    );
    if (options.skinArea === "whole-frame") return analyseWholeFrames(frames, window, options);
    const detector = await this.detector(options.detector, options.inputSize);
    this.landmarks ??= options.skinArea === "landmarks" ? LandmarkDetector.create() : undefined;
    const landmarks = options.skinArea === "landmarks" ? await this.landmarks : undefined;
    return analyseFaces(frames, window, detector, options, landmarks);
  }

  async close(): Promise<void> {}
}

/** Messages between FaceAnalysisThreads and a thread (analyser-thread-main.ts), which also takes "close". */
export type AnalysisRequest = WindowAnalysis & { id: number };
export type AnalysisReply =
  | { type: "progress"; id: number; done: number; total: number }
  | { type: "analysed"; id: number; analysis: FaceAnalysis }
  | { type: "failed"; id: number; message: string; media: boolean };

/** The buffers of an analysis, moved to the other thread rather than copied. */
export function analysisBuffers(analysis: FaceAnalysis): ArrayBuffer[] {
  const arrays = [
    analysis.images,
    analysis.frameIndex,
    analysis.timeS,
    analysis.box,
    analysis.rgb,
    analysis.traceTimeS,
    analysis.faceFound,
    ...(analysis.landmarks ? [analysis.landmarks] : []),
  ];
  return [...new Set(arrays.map((array) => array.buffer as ArrayBuffer))];
}

/** The thread's entry: a checkout runs the TypeScript sources through tsx, the images compiled JavaScript. */
function threadEntry(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  return {
    url: new URL(`./analyser-thread-main.${fromSource ? "ts" : "js"}`, import.meta.url),
    execArgv: fromSource ? ["--import", import.meta.resolve("tsx")] : [],
  };
}

interface Pending {
  request: AnalysisRequest;
  resolve(analysis: FaceAnalysis): void;
  reject(error: Error): void;
  progress?: AnalysisProgress;
}

/**
 * The analysis on worker threads, one window per thread at a time: a process that runs several face
 * jobs at once (`--concurrency`, or `hrpipe run` with every stage in one process) keeps that many cores
 * busy, where on the main thread their frames would take turns on one. Threads start on first use (each
 * loads its own nets) and are kept; an idle one does not keep the process alive.
 */
export class FaceAnalysisThreads implements FaceAnalyser {
  private nextId = 0;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly waiting: Pending[] = [];
  private started = 0;
  private closed = false;

  constructor(private readonly size = availableParallelism()) {}

  /** Starts every thread now, so that their start-up (loading modules) is not paid by the first jobs. */
  start(): void {
    while (this.started < this.size) this.idle.push(this.startThread());
    for (const worker of this.idle) worker.unref();
  }

  analyse(task: WindowAnalysis, progress?: AnalysisProgress): Promise<FaceAnalysis> {
    if (this.closed) return Promise.reject(new Error("the face analysis threads are closed."));
    return new Promise((resolve, reject) => {
      this.waiting.push({
        request: { ...task, id: this.nextId++ },
        resolve,
        reject,
        progress,
      });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.startThread() : undefined);
      if (!worker) return;
      const pending = this.waiting.shift()!;
      this.busy.set(worker, pending);
      worker.ref();
      worker.postMessage(pending.request);
    }
  }

  private startThread(): Worker {
    this.started++;
    const entry = threadEntry();
    // decodeFrames reads through a socket on the pipe's descriptor, which closes it without fs: left
    // tracked, a descriptor number reused since would be closed again when the thread exits.
    const worker = new Worker(entry.url, { execArgv: entry.execArgv, trackUnmanagedFds: false });
    worker.on("message", (reply: AnalysisReply) => {
      const pending = this.busy.get(worker);
      if (!pending || pending.request.id !== reply.id) return;
      if (reply.type === "progress") return pending.progress?.(reply.done, reply.total);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (reply.type === "analysed") pending.resolve(reply.analysis);
      else pending.reject(reply.media ? new MediaError(reply.message) : new Error(reply.message));
      this.dispatch();
    });
    const lost = (why: string) => {
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      const idleAt = this.idle.indexOf(worker);
      if (idleAt >= 0) this.idle.splice(idleAt, 1);
      this.started--;
      pending?.reject(new Error(`a face analysis thread ${why}; the job is retried.`));
      if (!this.closed) this.dispatch();
    };
    worker.on("error", (error) => lost(`failed: ${error.message}`));
    worker.on("exit", (code) => {
      if (this.busy.has(worker) || this.idle.includes(worker)) lost(`exited (code ${code})`);
    });
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const closing = new Error("the face analysis threads closed.");
    for (const pending of [...this.waiting.splice(0), ...this.busy.values()]) pending.reject(closing);
    const workers = [...this.idle.splice(0), ...this.busy.keys()];
    this.busy.clear();
    await Promise.all(workers.map((worker) => endThread(worker)));
  }
}

/** How long a thread asked to close may take (ending its ffmpeg, if any) before it is terminated. */
const threadCloseMs = 5000;

/** Asks a thread to close (its process launcher first), terminating it if it has not ended in time. */
async function endThread(worker: Worker): Promise<void> {
  const exited = once(worker, "exit");
  worker.ref();
  worker.postMessage("close");
  const timer = setTimeout(() => void worker.terminate(), threadCloseMs);
  await exited;
  clearTimeout(timer);
}
