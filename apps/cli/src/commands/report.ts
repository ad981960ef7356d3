import { createWriteStream } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  artifactKeys,
  joinKey,
  loadConfig,
  type RunReport,
  runReportSchema,
  safeId,
} from "@hrpipe/contracts";
import {
  hrvTables,
  metricsHeader,
  metricsRows,
  noCnnNote,
  tuningNotes,
  videoMetricsTable,
  videoTable,
} from "@hrpipe/report";
import { openStorage, readArtifact, type Storage } from "@hrpipe/runtime";
import { formatTable, ProgressLine, UserError } from "../output.ts";
import { OutputFolder } from "../output-folder.ts";

/** The metrics tables of a run report, one per protocol, with the study's published numbers beside them. */
export function renderReport(report: RunReport): string {
  const parts: string[] = [];
  for (const protocol of Object.values(report.protocols)) {
    if (!protocol) continue;
    const { published } = protocol;
    const study = !published
      ? "no published CNN RMSE"
      : published.medianRmse
        ? `published CNN RMSE ${published.meanRmse} mean / ${published.medianRmse} median bpm`
        : `published CNN RMSE ${published.meanRmse} mean bpm`;
    parts.push(
      `${protocol.protocol}: ${protocol.split.test.length} test videos, ${protocol.windows.count} windows; ${study}; ${protocol.cnn ? `backbone ${protocol.cnn.weights.kind}` : "no CNN"}`,
      formatTable(metricsHeader, metricsRows(protocol)),
      ...tuningNotes(protocol),
      "",
    );
  }
  if (Object.values(report.protocols).some((protocol) => protocol && !protocol.cnn))
    parts.push(noCnnNote, "");
  if (report.videos.length > 0) {
    const { header, rows } = videoTable(report);
    const shown = 40;
    parts.push(
      `per video, whole-video heart rate (bpm):`,
      formatTable(header, rows.slice(0, shown)),
      ...(rows.length > shown ? [`... and ${rows.length - shown} more videos (see report.json)`] : []),
      "",
    );
    const scored = videoMetricsTable(report);
    if (scored.rows.length > 0) parts.push(formatTable(scored.header, scored.rows), "");
    const hrv = hrvTables(report);
    if (hrv)
      parts.push(
        "beats and HRV against the reference's beats (150 ms after each video's lag):",
        formatTable(hrv.agreement.header, hrv.agreement.rows),
        "",
      );
  }
  for (const { protocol, reason } of report.notEvaluated) parts.push(`${protocol}: not evaluated: ${reason}`);
  parts.push(`run ${report.runId}: ${report.state}`);
  if (report.exclusions.length > 0) parts.push(`${report.exclusions.length} exclusions (see report.html)`);
  return parts.join("\n");
}

/** Where a stored object can be opened on this machine, when the storage is a local folder. */
export function localPathOf(storage: Storage, key: string): string | undefined {
  return storage.url.startsWith("file://")
    ? path.join(fileURLToPath(storage.url), ...key.split("/"))
    : undefined;
}

/** `hrpipe report <runId> [--json]`: print a run's metrics tables, or its report.json. */
export async function reportCommand(runId: string, options: { json?: boolean } = {}): Promise<number> {
  const config = loadConfig();
  const storage = openStorage(config.storageUrl, config);
  try {
    const key = artifactKeys.runReport(runId);
    if (!(await storage.exists(key))) {
      throw new UserError(
        `${key} does not exist in ${storage.url}; the run is not evaluated yet (hrpipe status ${runId}).`,
      );
    }
    const report = await readArtifact(storage, key, runReportSchema);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
  } finally {
    await storage.close();
  }
  return 0;
}

export interface ArtifactsCommandOptions {
  out: string;
  force?: boolean;
}

/**
 * Copies a run's reports, figures and manifest (and with `models`, its trained heads) into an output
 * folder; `place` names each file's path there from its path under the run (identity by default).
 */
export async function downloadRunArtifacts(
  storage: Storage,
  runId: string,
  out: OutputFolder,
  options: { models: boolean; place?: (relative: string) => string },
): Promise<{ files: number; bytes: number }> {
  const prefix = `${joinKey("runs", safeId(runId, "run id"))}/`;
  const objects = [
    ...(await storage.list(`${prefix}reports/`)),
    ...(options.models ? await storage.list(`${prefix}models/`) : []),
    ...(await storage.list(`${prefix}manifest.json`)),
  ];
  if (objects.length === 0)
    throw new UserError(
      `nothing is stored under ${storage.url}/${prefix}; check the run id (hrpipe status).`,
    );
  const progress = new ProgressLine(`artifacts ${runId}`);
  let done = 0;
  for (const object of objects) {
    const relative = object.key.slice(prefix.length);
    const target = await out.file(options.place ? options.place(relative) : relative);
    await pipeline(await storage.read(object.key), createWriteStream(target));
    progress.update(++done, objects.length, relative);
  }
  await out.finish();
  return { files: objects.length, bytes: objects.reduce((sum, o) => sum + o.size, 0) };
}

/** `hrpipe artifacts <runId> --out dir`: download a run's reports and models. */
export async function artifactsCommand(runId: string, options: ArtifactsCommandOptions): Promise<number> {
  const config = loadConfig();
  const storage = openStorage(config.storageUrl, config);
  try {
    const out = await OutputFolder.open(options.out, { command: "artifacts", force: options.force });
    const { files, bytes } = await downloadRunArtifacts(storage, runId, out, { models: true });
    const html = path.join(options.out, "reports", "report.html");
    process.stdout.write(`${files} files (${(bytes / 1e6).toFixed(1)} MB) in ${options.out}; open ${html}\n`);
  } finally {
    await storage.close();
  }
  return 0;
}
