import { runWorkerProcess } from "@hrpipe/runtime";
import { decodeStage } from "./worker.ts";

// Entry point of a dedicated decode worker process: `node --import tsx workers/decode/src/main.ts`.
await runWorkerProcess("decode worker", [decodeStage]);
process.exit(0);
