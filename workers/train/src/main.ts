import { runWorkerProcess } from "@hrpipe/runtime";
import { trainStage } from "./worker.ts";

// Entry point of a dedicated train worker process: `node --import tsx workers/train/src/main.ts`.
await runWorkerProcess("train worker", [trainStage]);
process.exit(0);
