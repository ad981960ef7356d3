import { runWorkerProcess } from "@hrpipe/runtime";
import { faceStage } from "./worker.ts";

// Entry point of a dedicated face worker process: `node --import tsx workers/face/src/main.ts`.
await runWorkerProcess("face worker", [faceStage]);
process.exit(0);
