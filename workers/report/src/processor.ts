import {
  artifactKeys,
  type CnnWindows,
  cnnWindowsSchema,
  type ProtocolName,
  type ProtocolReport,
  protocolReportSchema,
  type ReportJobResult,
  type RunManifest,
  type RunReport,
  referenceKindsOf,
  reportVersion,
  runReportSchema,
  type VideoReport,
} from "@hrpipe/contracts";
import {
  hrvAgreement,
  type ProtocolTunedNetworks,
  readTunedNetworks,
  runVideoReports,
  videoMetrics,
} from "@hrpipe/estimation";
import { hrOverTimeSpec, renderHtml, renderSvg } from "@hrpipe/report";
import {
  type Logger,
  readArtifact,
  readManifest,
  type Storage,
  writeArtifact,
  writeManifest,
} from "@hrpipe/runtime";

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
 * final state in its manifest: done when at least one protocol was evaluated or, where the data left
 * none to try, at least one video was measured; failed otherwise.
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
  // The protocols the gather queued: the others were not evaluated for lack of data (manifest says why).
  const queued = manifest.options.protocols.filter(
    (protocol) => !manifest.notEvaluated.some((n) => n.protocol === protocol),
  );
  for (const protocol of queued) {
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
  const cnn: CnnWindows[] = [];
  for (const protocol of evaluated) {
    const key = artifactKeys.report(input.runId, protocol, "windows.json");
    if (await storage.exists(key)) cnn.push(await readArtifact(storage, key, cnnWindowsSchema));
  }
  const tuned = [];
  for (const protocol of evaluated) tuned.push(await readTunedNetworks(storage, manifest, protocol));
  const videos = await videoReports(storage, manifest, cnn, tuned);
  // A run whose data leaves no protocol to queue (no video has a reference, or one subject has them
  // all) is done when it measured at least one video: its rPPG results are what it can give. A queued
  // protocol that failed, with none evaluated, fails the run.
  const state =
    evaluated.length > 0 || (queued.length === 0 && videos.some((v) => v.excluded === null))
      ? "done"
      : "failed";
  const run: RunReport = {
    reportVersion,
    runId: input.runId,
    createdAt: new Date().toISOString(),
    state,
    protocols: reports,
    notEvaluated,
    exclusions: manifest.excluded,
    layout: manifest.layout,
    videos,
    videoMetrics: videoMetrics(videos),
    hrvAgreement: hrvAgreement(videos),
    features: manifest.features,
    referenceKinds: referenceKindsOf(manifest),
  };
  await writeArtifact(storage, artifactKeys.runReport(input.runId), runReportSchema, run);
  const videoFigures: Record<string, string> = {};
  for (const video of videos)
    if (video.figure) videoFigures[video.figure] = (await storage.get(video.figure)).toString();
  await storage.put(artifactKeys.runReportHtml(input.runId), renderHtml(run, figures, videoFigures));
  // The manifest's final state is written last: a run is done only once its report can be read.
  const current = await readManifest(storage, input.runId);
  if (current.state !== "cancelled") await writeManifest(storage, { ...current, state, notEvaluated });
  context.logger?.info(
    { state, evaluated, notEvaluated: notEvaluated.map((n) => n.protocol) },
    "run finished",
  );
  return { runId: input.runId, state, evaluated, notEvaluated, reused: false };
}

/**
 * Every video of the run (runVideoReports) with its HR-over-time figure
 * (runs/<runId>/reports/videos/<participant>-<videoId>.svg) where it has a method's rate.
 */
async function videoReports(
  storage: Storage,
  manifest: RunManifest,
  cnn: CnnWindows[],
  tuned: ProtocolTunedNetworks[],
): Promise<VideoReport[]> {
  const reports: VideoReport[] = [];
  for (const report of await runVideoReports(storage, manifest, cnn, manifest.options.eval, tuned)) {
    let figure: string | null = null;
    if (Object.keys(report.methods).length > 0) {
      figure = artifactKeys.report(manifest.runId, "videos", `${report.participant}-${report.videoId}.svg`);
      await storage.put(figure, await renderSvg(hrOverTimeSpec({ ...report, figure })));
    }
    reports.push({ ...report, figure });
  }
  return reports;
}
