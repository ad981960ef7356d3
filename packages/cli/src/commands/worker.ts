import { runWorkerProcess } from "@hrpipe/queue";
import { createWorkerSet, parseStages } from "../runtime.ts";

export interface WorkerCommandOptions {
  concurrency?: string;
}

/** `hrpipe worker <stage...>`: long-running workers; SIGTERM lets running jobs finish, then exits. */
export async function workerCommand(names: string[], options: WorkerCommandOptions): Promise<undefined> {
  const stages = parseStages(names);
  const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
  await runWorkerProcess(
    `hrpipe worker ${stages.join(" ")}`,
    ({ config, logger, storage }) => {
      const perStage = concurrency ?? config.concurrency;
      return createWorkerSet(stages, {
        config,
        logger,
        storage,
        concurrency: Object.fromEntries(stages.map((s) => [s, perStage])),
      }).workers;
    },
    { concurrency },
  );
  // The process lives on in its workers until a signal drains them.
  await new Promise(() => {});
  return undefined;
}
