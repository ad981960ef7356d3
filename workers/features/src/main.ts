import { runWorkerProcess } from "@hrpipe/runtime";
import { featuresStage } from "./worker.ts";

// Entry point of a dedicated features worker process: `node --import tsx workers/features/src/main.ts`.
await runWorkerProcess("features worker", [featuresStage]);
process.exit(0);
