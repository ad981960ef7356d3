import { runWorkerProcess } from "@hrpipe/runtime";
import { neuralStage } from "./worker.ts";

// Entry point of a dedicated neural worker process: `node --import tsx workers/neural/src/main.ts`.
await runWorkerProcess("neural worker", [neuralStage]);
process.exit(0);
