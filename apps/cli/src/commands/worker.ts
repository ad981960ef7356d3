import { runWorkerProcess, type StageFlags } from "@hrpipe/runtime";
import { parseStages } from "../runtime.ts";

export interface WorkerCommandOptions {
  concurrency?: number;
}

/** `hrpipe worker <stage...>`: long-running workers; SIGTERM lets running jobs finish, then exits. */
export async function workerCommand(names: string[], options: WorkerCommandOptions): Promise<number> {
  const bindings = parseStages(names);
  const flags: StageFlags = Object.fromEntries(
    bindings.map((binding) => [binding.stage, { concurrency: options.concurrency }]),
  );
  await runWorkerProcess(`hrpipe worker ${bindings.map((b) => b.stage).join(" ")}`, bindings, { flags });
  return 0;
}
