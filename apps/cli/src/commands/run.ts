import path from "node:path";
import { loadConfig, newRunId } from "@hrpipe/contracts";
import { openStorage } from "@hrpipe/runtime/storage";
import { LocalPipeline, phaseTable } from "../local-pipeline.ts";
import { UserError } from "../output.ts";
import { OutputFolder } from "../output-folder.ts";
import { ingestPayload, type RunCommandOptions } from "../run-options.ts";
import { uploadFolder } from "../upload.ts";
import { checkNetworks, isLocalFolder, startRun } from "./ingest.ts";
import { downloadRunArtifacts, renderReport } from "./report.ts";

export interface RunFolderOptions extends RunCommandOptions {
  out?: string;
  force?: boolean;
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
  const relativeOut = path.relative(path.resolve(folder), path.resolve(out));
  if (!relativeOut.startsWith("..") && !path.isAbsolute(relativeOut))
    throw new UserError(
      `--out ${out} is inside the folder being run (${folder}); the next run would take the report for data: pass a folder outside it.`,
    );
  // Checked before any work: a bad option, a network not imported or a refused --out should cost
  // neither an upload nor a Redis and workers started only to be stopped.
  const payload = await ingestPayload(runId, "", options);
  await checkNetworks(openStorage(options.storage, loadConfig()), payload);
  const outFolder = await OutputFolder.open(out, { command: "run", force: options.force });
  const started = performance.now();
  const pipeline = await LocalPipeline.start({
    redis: options.redis,
    storage: options.storage,
    name: "run",
    cnn: payload.cnn ?? "none",
  });
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
    // The run's reports folder becomes --out itself: report.html, report.json, figures, manifest.
    const copied = await downloadRunArtifacts(pipeline.storage, runId, outFolder, {
      models: false,
      place: (relative) => relative.replace(/^reports\//, ""),
    });
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
