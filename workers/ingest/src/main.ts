import { runWorkerProcess } from "@hrpipe/runtime";
import { ingestStage } from "./worker.ts";

// Entry point of a dedicated ingest worker process: `node --import tsx workers/ingest/src/main.ts`.
await runWorkerProcess("ingest worker", [ingestStage]);
process.exit(0);
