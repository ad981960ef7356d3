import {
  artifactKeys,
  type Logger,
  type ProtocolName,
  type ProtocolReport,
  protocolReportSchema,
  type ReportJobResult,
  type RunReport,
  readArtifact,
  readManifest,
  reportVersion,
  runReportSchema,
  type Storage,
  writeArtifact,
  writeManifest,
} from "@hrpipe/queue";
import { renderHtml } from "@hrpipe/report";

export interface ReportJobInput {
  runId: string;
  /** Why a protocol's train or eval job failed, by protocol (from BullMQ). */
  failures: Partial<Record<ProtocolName, string>>;
}

export interface ReportJobContext {
  storage: Storage;
  logger?: Logger;
}

/**
 * The end of every run: one report.json and report.html with every protocol that was evaluated and,
 * for each one that was not, the reason (too few videos, a failed train or eval job); then the run's
 * final state in its manifest: done when at least one protocol was evaluated, failed when none was.
 */
export async function processReportJob(
  input: ReportJobInput,
  context: ReportJobContext,
): Promise<ReportJobResult> {
  const { storage } = context;
  const manifest = await readManifest(storage, input.runId);
  const reports: Partial<Record<ProtocolName, ProtocolReport>> = {};
  const figures: Partial<Record<ProtocolName, Record<string, string>>> = {};
  const notEvaluated = [...manifest.notEvaluated];
  for (const protocol of manifest.options.protocols) {
    if (notEvaluated.some((n) => n.protocol === protocol)) continue;
    const key = artifactKeys.report(input.runId, protocol, "report.json");
    if (!(await storage.exists(key))) {
      notEvaluated.push({
        protocol,
        reason: input.failures[protocol] ?? `${key} was not written, and its jobs left no reason.`,
      });
      continue;
    }
    const report = await readArtifact(storage, key, protocolReportSchema);
    reports[protocol] = report;
    figures[protocol] = {};
    for (const [name, figureKey] of Object.entries(report.figures))
      figures[protocol][name] = (await storage.get(figureKey)).toString();
  }
  const evaluated = Object.keys(reports) as ProtocolName[];
  const state = evaluated.length > 0 ? "done" : "failed";
  const run: RunReport = {
    reportVersion,
    runId: input.runId,
    createdAt: new Date().toISOString(),
    state,
    protocols: reports,
    notEvaluated,
    exclusions: manifest.excluded,
  };
  await writeArtifact(storage, artifactKeys.runReport(input.runId), runReportSchema, run);
  await storage.put(artifactKeys.runReportHtml(input.runId), renderHtml(run, figures));
  // The manifest's final state is written last: a run is done only once its report can be read.
  const current = await readManifest(storage, input.runId);
  if (current.state !== "cancelled") await writeManifest(storage, { ...current, state, notEvaluated });
  context.logger?.info(
    { state, evaluated, notEvaluated: notEvaluated.map((n) => n.protocol) },
    "run finished",
  );
  return { runId: input.runId, state, evaluated, notEvaluated, reused: false };
}
