import {
  deleteRun,
  listRuns,
  planRunDeletion,
  RunInProgressError,
  RunNotFoundError,
  summariseRun,
} from "@hrpipe/runtime";
import { formatTable, UserError } from "../output.ts";
import { withPipeline, withStorage } from "../pipeline.ts";

export interface RunsListOptions {
  json?: boolean;
}

/** `hrpipe runs list`: every run in storage, newest first; it reads storage only, not Redis. */
export function runsListCommand(options: RunsListOptions): Promise<number> {
  return withStorage(async (storage) => {
    const skip = (folder: string, reason: string) =>
      process.stderr.write(`runs: skipped ${folder}: ${reason}\n`);
    const runs = await Promise.all((await listRuns(storage, skip)).map((m) => summariseRun(storage, m)));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ runs }, null, 2)}\n`);
      return 0;
    }
    if (runs.length === 0) {
      process.stdout.write(`no runs in ${storage.url}\n`);
      return 0;
    }
    const rows = runs.map((r) => [
      r.runId,
      r.createdAt.replace("T", " ").slice(0, 19),
      r.state,
      r.layout,
      String(r.videos),
      String(r.excluded),
      r.hasReport ? "yes" : "no",
      r.datasetPrefix || "(root)",
    ]);
    process.stdout.write(
      `${formatTable(["run", "created (UTC)", "state", "layout", "videos", "excluded", "report", "dataset"], rows)}\n`,
    );
    return 0;
  });
}

export interface RunsDeleteOptions {
  dryRun?: boolean;
  json?: boolean;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * `hrpipe runs delete RUN`: the run's folder, the shard folders no other run uses and its jobs in
 * Redis; `--dry-run` says what would go and deletes nothing.
 */
export function runsDeleteCommand(runId: string, options: RunsDeleteOptions): Promise<number> {
  return withPipeline(async ({ storage, queues }) => {
    let plan: Awaited<ReturnType<typeof planRunDeletion>>;
    try {
      plan = await planRunDeletion(storage, queues, runId);
    } catch (error) {
      if (error instanceof RunInProgressError || error instanceof RunNotFoundError)
        throw new UserError(error.message);
      throw error;
    }
    if (!options.dryRun) await deleteRun(storage, queues, plan);
    const objects = plan.runObjects.length + plan.folders.reduce((n, f) => n + f.keys.length, 0);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ deleted: !options.dryRun, objects, ...plan }, null, 2)}\n`);
      return 0;
    }
    const verb = options.dryRun ? "would delete" : "deleted";
    const lines = [
      `run ${runId}: ${verb} ${objects} objects (${megabytes(plan.bytes)}) and ${plan.jobs.length} jobs in Redis`,
      `  runs/${runId}/: ${plan.runObjects.length} objects (manifest, reports, models)`,
      `  shard folders no other run uses: ${plan.folders.length}`,
      ...plan.folders.slice(0, 10).map((f) => `    ${f.folder}/ (${f.keys.length} objects)`),
      ...(plan.folders.length > 10
        ? [`    ... and ${plan.folders.length - 10} more (--json lists all)`]
        : []),
      `  kept, used by other runs: ${plan.kept.length}`,
      ...plan.kept.slice(0, 5).map((k) => `    ${k.folder}/ (${k.usedBy.join(", ")})`),
      "  uploaded datasets (datasets/, blobs/) are inputs and stay",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  });
}
