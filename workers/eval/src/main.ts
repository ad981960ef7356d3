import { backboneLoader } from "@hrpipe/model";
import { runWorkerProcess } from "@hrpipe/queue";
import { createEvalWorker } from "./worker.ts";

// Entry point of a dedicated eval worker process: `node --import tsx workers/eval/src/main.ts`.
await runWorkerProcess("eval worker", ({ config, logger, storage, workerOptions }) => [
  createEvalWorker(storage, backboneLoader(config, logger), workerOptions),
]);
