import { runWorkerProcess } from "@hrpipe/runtime";
import { noopStages } from "./noop-stages.ts";

// A no-op worker process of the scale benchmark: the stages named in argv, processors replaced.
const stages = process.argv.slice(2);
await runWorkerProcess(
  "scale no-op worker",
  stages.map((stage) => noopStages[stage]!),
);
process.exit(0);
