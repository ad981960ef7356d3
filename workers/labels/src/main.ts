import { runWorkerProcess } from "@hrpipe/runtime";
import { labelsStage } from "./worker.ts";

// Entry point of a dedicated labels worker process: `node --import tsx workers/labels/src/main.ts`.
await runWorkerProcess("labels worker", [labelsStage]);
process.exit(0);
