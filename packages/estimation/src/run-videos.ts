import { type CnnWindows, type RunManifest, trialLabelsSchema, type VideoReport } from "@hrpipe/contracts";
import { loadVideoTraces, readArtifact, type Storage } from "@hrpipe/runtime";
import { type EstimationOptions, videoReport } from "./video.ts";

/**
 * Every planned video of a gathered run, and every one its plan excluded, each with every method's
 * heart rate over time against its labels: what the run report and `hrpipe rppg <folder>` list.
 */
export async function runVideoReports(
  storage: Storage,
  manifest: RunManifest,
  cnn: CnnWindows[],
  options: EstimationOptions = manifest.options.eval,
): Promise<Omit<VideoReport, "figure">[]> {
  const reports: Omit<VideoReport, "figure">[] = [];
  for (const video of manifest.videos) {
    const artifacts = manifest.artifacts.find(
      (a) => a.participant === video.participant && a.videoId === video.videoId,
    );
    const excluded = manifest.excluded.find(
      (e) => e.participant === video.participant && e.videoId === video.videoId && e.segment === undefined,
    );
    reports.push(
      videoReport(
        {
          video,
          artifacts,
          labels: artifacts?.labelsKey
            ? await readArtifact(storage, artifacts.labelsKey, trialLabelsSchema)
            : undefined,
          traces: artifacts ? await loadVideoTraces(storage, artifacts) : undefined,
          excluded: artifacts ? undefined : excluded?.reason,
        },
        cnn,
        options,
      ),
    );
  }
  for (const exclusion of manifest.excluded) {
    if (exclusion.stage !== "ingest" || exclusion.videoId === undefined) continue;
    reports.push({
      subject: exclusion.participant,
      video: exclusion.path ?? exclusion.key ?? exclusion.videoId,
      participant: exclusion.participant,
      videoId: exclusion.videoId,
      durationS: null,
      referenceHrBpm: null,
      excluded: exclusion.reason,
      methods: {},
    });
  }
  return reports;
}
