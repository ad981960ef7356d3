import { backboneLoader } from "@hrpipe/model";
import { runWorkerProcess } from "@hrpipe/queue";
import { createTrainWorker } from "./worker.ts";

// Entry point of a dedicated train worker process: `node --import tsx workers/train/src/main.ts`.
await runWorkerProcess("train worker", ({ config, logger, storage, workerOptions }) => [
  createTrainWorker(storage, backboneLoader(config, logger), workerOptions),
]);
