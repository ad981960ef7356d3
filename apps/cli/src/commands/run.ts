import { cp, rm } from "node:fs/promises";
import path from "node:path";
import { newRunId } from "@hrpipe/queue";
import { LocalPipeline, phaseTable } from "../local-pipeline.ts";
import { UserError } from "../output.ts";
import { uploadFolder } from "../upload.ts";
import { ingestPayload, isLocalFolder, type RunCommandOptions, startRun } from "./ingest.ts";
import { downloadRunArtifacts, renderReport } from "./report.ts";

export interface RunFolderOptions extends RunCommandOptions {
  out?: string;
  redis?: string;
  storage: string;
}

/**
 * `hrpipe run <folder>`: the whole job on this machine, the way `hrpipe demo` runs it, on a folder of
 * the user's own: a private Redis, file storage, the folder uploaded (content addressed, so a second
 * run uploads nothing and reuses every stage's work), every stage, and report.html, report.json and
 * the figures left in --out.
 */
export async function runFolderCommand(folder: string, options: RunFolderOptions): Promise<number> {
  if (!(await isLocalFolder(folder)))
    throw new UserError(`${folder} is not a folder on this machine; pass the folder of your videos.`);
  const runId = newRunId();
  const out = options.out ?? path.join("hrpipe-runs", runId);
  // Checked before any work: a bad option should not cost an upload.
  const payload = await ingestPayload(runId, "", options);
  const started = performance.now();
  const pipeline = await LocalPipeline.start({ redis: options.redis, storage: options.storage, name: "run" });
  try {
    const upload = await uploadFolder(pipeline.storage, folder);
    const uploadS = (performance.now() - started) / 1000;
    process.stderr.write(
      `run: ${folder}: ${upload.files} files, ${(upload.bytes / 1e6).toFixed(1)} MB; ${upload.uploadedFiles} stored now, the rest already in ${pipeline.storage.url}\n`,
    );
    await startRun(pipeline.queues, pipeline.storage, { ...payload, datasetPrefix: upload.datasetPrefix });
    process.stderr.write(`run: run ${runId} queued\n`);
    const run = await pipeline.follow(runId, started);
    if (!run.report) return 1;
    const totalS = (performance.now() - started) / 1000;
    const staging = `${out}.partial`;
    await rm(staging, { recursive: true, force: true });
    const copied = await downloadRunArtifacts(pipeline.storage, runId, staging, { models: false });
    // The run's reports folder becomes --out itself: report.html, report.json, figures, manifest.
    await rm(out, { recursive: true, force: true });
    await cp(path.join(staging, "reports"), out, { recursive: true });
    await cp(path.join(staging, "manifest.json"), path.join(out, "manifest.json"));
    await rm(staging, { recursive: true, force: true });
    process.stdout.write(`\n${renderReport(run.report)}\n`);
    process.stdout.write(`${phaseTable(run, [["upload", uploadS]], totalS)}\n`);
    process.stdout.write(
      `\n${copied.files} files in ${out}: ${path.join(out, "report.html")}, ${path.join(out, "report.json")}\nrun id: ${runId} (storage ${pipeline.storage.url})\n`,
    );
    return run.report.state === "done" ? 0 : 1;
  } finally {
    await pipeline.close();
  }
}
