import { runWorkerProcess } from "@hrpipe/runtime";
import { ecgStage } from "./worker.ts";

// Entry point of a dedicated ECG worker process: `node --import tsx workers/ecg/src/main.ts`.
await runWorkerProcess("ecg worker", [ecgStage]);
process.exit(0);
