import { readFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import type { HrpipeConfig, LogSink, WeightsProvenance } from "@hrpipe/contracts";
import type { Embedder, FeatureExtractorOptions } from "./feature-extractor.ts";

/** Messages between a BackboneThread and its thread (backbone-thread-main.ts). */
export type ThreadRequest =
  | { type: "embed"; id: number; images: Uint8Array; shape: { count: number; height: number; width: number } }
  | { type: "close" };
export type ThreadReply =
  | {
      type: "ready";
      provenance: WeightsProvenance;
      featureDim: number;
      batchSize: number;
      executionProvider: string;
    }
  | { type: "batch"; id: number; done: number; total: number }
  | { type: "embedded"; id: number; features: Float32Array }
  | { type: "failed"; id?: number; message: string };

/** The thread's options: a FeatureExtractor's, less the logger (which stays in this thread). */
export type ThreadOptions = Omit<FeatureExtractorOptions, "logger">;

/** The thread's entry: a checkout runs the TypeScript sources through tsx, the images compiled JavaScript. */
function threadEntry(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  return {
    url: new URL(`./backbone-thread-main.${fromSource ? "ts" : "js"}`, import.meta.url),
    execArgv: fromSource ? ["--import", import.meta.resolve("tsx")] : [],
  };
}

/**
 * The DenseNet backbone on a worker thread of its own. ONNX Runtime's run blocks the thread that
 * calls it for a whole batch, and building DenseNet-161 blocks for seconds: on the main thread, that
 * would stop BullMQ from renewing a job's lock (and the health endpoint from answering) while a busy
 * machine takes seconds per batch. Here the main thread stays free, and the lock holds.
 */
export class BackboneThread implements Embedder {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    {
      resolve(features: Float32Array): void;
      reject(error: Error): void;
      onBatch?(done: number, total: number): void;
    }
  >();

  private constructor(
    private readonly worker: Worker,
    readonly provenance: WeightsProvenance,
    readonly featureDim: number,
    readonly batchSize: number,
    readonly executionProvider: string,
  ) {
    worker.on("message", (reply: ThreadReply) => {
      if (reply.type === "ready" || reply.id === undefined) return;
      const request = this.pending.get(reply.id);
      if (!request) return;
      if (reply.type === "batch") request.onBatch?.(reply.done, reply.total);
      else {
        this.pending.delete(reply.id);
        if (reply.type === "embedded") request.resolve(reply.features);
        else request.reject(new Error(reply.message));
      }
    });
    worker.on("exit", (code) => {
      for (const request of this.pending.values())
        request.reject(new Error(`the backbone thread exited (code ${code}) during a batch.`));
      this.pending.clear();
    });
  }

  static start(options: ThreadOptions, logger?: LogSink): Promise<BackboneThread> {
    const entry = threadEntry();
    const worker = new Worker(entry.url, { workerData: options, execArgv: entry.execArgv });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      worker.once("error", onError);
      worker.once("message", (reply: ThreadReply) => {
        worker.off("error", onError);
        if (reply.type !== "ready") {
          void worker.terminate();
          return reject(
            new Error(reply.type === "failed" ? reply.message : "the backbone thread did not start."),
          );
        }
        if (reply.provenance.kind === "random-init")
          logger?.warn({ source: reply.provenance.source }, reply.provenance.note);
        logger?.info(
          {
            provider: reply.executionProvider,
            batchSize: reply.batchSize,
            weights: reply.provenance.kind,
            weightsHash: reply.provenance.weightsHash,
          },
          "DenseNet backbone ready on its own thread",
        );
        resolve(
          new BackboneThread(
            worker,
            reply.provenance,
            reply.featureDim,
            reply.batchSize,
            reply.executionProvider,
          ),
        );
      });
    });
  }

  embed(
    images: Uint8Array,
    shape: { count: number; height: number; width: number },
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onBatch });
      this.worker.postMessage({ type: "embed", id, images, shape } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: "close" } satisfies ThreadRequest);
    await new Promise((resolve) => this.worker.once("exit", resolve));
  }
}

/** One DenseNet-161 backbone per process, on its own thread, from HRPIPE_DENSENET_WEIGHTS or randomly initialised. */
export function backboneLoader(
  config: Pick<HrpipeConfig, "densenetWeights" | "featuresBatch">,
  logger: LogSink,
): (() => Promise<BackboneThread>) & { close(): Promise<void> } {
  let backbone: Promise<BackboneThread> | undefined;
  const load = () => {
    backbone ??= (async () => {
      const weights = config.densenetWeights
        ? {
            bytes: await readFile(config.densenetWeights).catch(() => {
              throw new Error(
                `HRPIPE_DENSENET_WEIGHTS=${config.densenetWeights} cannot be read; point it at a DenseNet-161 safetensors file.`,
              );
            }),
            source: config.densenetWeights,
          }
        : undefined;
      return BackboneThread.start({ weights, batchSize: config.featuresBatch }, logger);
    })();
    return backbone;
  };
  return Object.assign(load, {
    /** Waits for a thread still being built (ending the process under it can abort it), then ends it. */
    async close() {
      const thread = await backbone?.catch(() => undefined);
      await thread?.close();
    },
  });
}
