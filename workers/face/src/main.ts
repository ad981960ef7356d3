import { runWorkerProcess } from "@hrpipe/queue";
import { createFaceWorker } from "./worker.ts";

// Entry point of a dedicated face worker process: `node --import tsx workers/face/src/main.ts`.
await runWorkerProcess("face worker", ({ storage, workerOptions }) => [
  createFaceWorker(storage, workerOptions),
]);
