import { stageNames } from "@hrpipe/contracts";
import {
  cancelRun,
  queueCounts,
  type RunProgress,
  runProgress,
  type StageQueues,
  type Storage,
} from "@hrpipe/runtime";
import { formatTable } from "../output.ts";
import { withPipeline } from "../pipeline.ts";

export function renderRunProgress(progress: RunProgress): string {
  const rows = stageNames.map((stage) => {
    const s = progress.stages[stage];
    const total = s.done + s.failed + s.pending;
    return [
      stage,
      String(s.done),
      String(s.computed),
      String(s.reused),
      String(s.failed),
      String(s.pending),
      total > 0 ? `${Math.round((100 * (s.done + s.failed)) / total)}%` : "-",
    ];
  });
  const lines = [
    `run ${progress.runId}: ${progress.manifest?.state ?? "unknown (no manifest yet)"}${progress.finished ? ", finished" : ""}`,
    formatTable(["stage", "done", "computed", "reused", "failed", "pending", "progress"], rows),
  ];
  if (progress.failures.length > 0) {
    lines.push("", "failures:", ...progress.failures.map((f) => `  ${f.stage} ${f.job}: ${f.reason}`));
  }
  const files = progress.manifest?.files;
  if (files && files.listed > 0)
    lines.push(
      "",
      `dataset files: ${files.listed} listed, ${files.planned} planned, ${files.excluded} excluded, ${files.ignored} not part of the layout`,
      ...(progress.manifest?.ignored ?? []).slice(0, 5).map((i) => `  ignored ${i.reason}`),
    );
  const excluded = progress.manifest?.excluded ?? [];
  if (excluded.length > 0) {
    const shown = excluded.slice(0, 20);
    lines.push(
      "",
      `exclusions (${excluded.length}):`,
      ...shown.map((e) => {
        const where = [e.participant, e.videoId, e.segment === undefined ? undefined : `segment ${e.segment}`]
          .filter((part) => part !== undefined)
          .join("/");
        return `  ${e.stage} ${where}: ${e.reason}`;
      }),
      ...(excluded.length > shown.length
        ? [`  ... and ${excluded.length - shown.length} more (--json lists all)`]
        : []),
    );
  }
  return lines.join("\n");
}

const shownStates = [
  "waiting",
  "prioritized",
  "active",
  "waiting-children",
  "delayed",
  "completed",
  "failed",
] as const;

export async function renderStatus(queues: StageQueues, storage: Storage, runId?: string): Promise<string> {
  const counts = await queueCounts(queues);
  const table = formatTable(
    ["queue", ...shownStates],
    stageNames.map((stage) => [stage, ...shownStates.map((state) => String(counts[stage][state]))]),
  );
  return runId ? `${table}\n\n${renderRunProgress(await runProgress(queues, storage, runId))}` : table;
}

/** What `hrpipe status [RUN] --json` prints: queue counts, and a run's job counters per stage. */
export async function statusJson(queues: StageQueues, storage: Storage, runId?: string) {
  const queuesByStage = await queueCounts(queues);
  if (!runId) return { queues: queuesByStage };
  const progress = await runProgress(queues, storage, runId);
  return {
    queues: queuesByStage,
    run: {
      runId,
      state: progress.manifest?.state ?? null,
      finished: progress.finished,
      stages: progress.stages,
      failures: progress.failures,
      files: progress.manifest?.files ?? null,
      exclusions: progress.manifest?.excluded ?? [],
      ignored: progress.manifest?.ignored ?? [],
    },
  };
}

export interface StatusCommandOptions {
  watch?: boolean;
  json?: boolean;
  interval: string;
}

/** `hrpipe status [runId] [--watch]`: queue depths per stage and state, and a run's progress and failures. */
export function statusCommand(runId: string | undefined, options: StatusCommandOptions): Promise<number> {
  return withPipeline(async ({ queues, storage }) => {
    if (options.json) {
      process.stdout.write(`${JSON.stringify(await statusJson(queues, storage, runId), null, 2)}\n`);
      return 0;
    }
    do {
      const text = await renderStatus(queues, storage, runId);
      if (options.watch && process.stdout.isTTY) process.stdout.write("\u001b[2J\u001b[H");
      process.stdout.write(`${text}\n`);
      if (options.watch) {
        if (runId && (await runProgress(queues, storage, runId)).finished) break;
        await new Promise((resolve) => setTimeout(resolve, Number(options.interval) * 1000));
      }
    } while (options.watch);
    return 0;
  });
}

/** `hrpipe cancel <runId>`: stop a run; queued work is removed, running jobs finish. */
export function cancelCommand(runId: string): Promise<number> {
  return withPipeline(async ({ queues, storage }) => {
    const { removed } = await cancelRun(queues, storage, runId);
    process.stdout.write(`run ${runId} cancelled; ${removed.length} queued jobs removed\n`);
    return 0;
  });
}
