import { runWorkerProcess } from "@hrpipe/runtime";
import { evalStage } from "./worker.ts";

// Entry point of a dedicated eval worker process: `node --import tsx workers/eval/src/main.ts`.
await runWorkerProcess("eval worker", [evalStage]);
process.exit(0);
