import { runWorkerProcess } from "@hrpipe/runtime";
import { reportStage } from "./worker.ts";

// Entry point of a dedicated report worker process: `node --import tsx workers/report/src/main.ts`.
await runWorkerProcess("report worker", [reportStage]);
process.exit(0);
