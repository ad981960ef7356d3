import { parsePayload, type RunManifest, runManifestSchema, runOptionsOf } from "@hrpipe/contracts";

/** The manifest of a run just planned with default options and no videos, as hrpipe writes one. */
export function plannedRunManifest(runId: string, storageUrl: string): RunManifest {
  return runManifestSchema.parse({
    version: 1,
    runId,
    createdAt: "2026-12-01T00:00:00.000Z",
    state: "ingested",
    storageUrl,
    datasetPrefix: "ds",
    options: runOptionsOf(parsePayload("ingest", { runId: "planned", datasetPrefix: "ds" })),
    participants: [],
    videos: [],
    artifacts: [],
    splits: {},
    reused: { labels: 0, faceSegments: 0 },
    notEvaluated: [],
    excluded: [],
  });
}
