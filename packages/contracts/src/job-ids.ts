/**
 * Job ids of a run: deterministic, so that a retried step never enqueues the same work twice, and
 * readable back (`<stage>.<runId>.<participant>[.<videoId>[.<segment>]]`) when results are gathered.
 */
export const jobIds = {
  ingest: (runId: string) => `ingest.${runId}`,
  /** An AMIGOS participant's .mat, or (with its video id) one video's own reference. */
  labels: (runId: string, participant: string, videoId?: string) =>
    videoId === undefined ? `labels.${runId}.${participant}` : `labels.${runId}.${participant}.${videoId}`,
  decode: (runId: string, participant: string, videoId: string) =>
    `decode.${runId}.${participant}.${videoId}`,
  face: (runId: string, participant: string, videoId: string, segment: number) =>
    `face.${runId}.${participant}.${videoId}.${segment}`,
  features: (runId: string, participant: string, videoId: string, segment: number) =>
    `features.${runId}.${participant}.${videoId}.${segment}`,
  neural: (runId: string, participant: string, videoId: string, model: string) =>
    `neural.${runId}.${participant}.${videoId}.${model}`,
  train: (runId: string, protocol: string) => `train.${runId}.${protocol}`,
  eval: (runId: string, protocol: string) => `eval.${runId}.${protocol}`,
  report: (runId: string) => `report.${runId}`,
};

/** The parts of a job id made by `jobIds` (the key may carry BullMQ's `prefix:queue:` in front). */
export function parseJobId(jobKey: string): {
  stage: string;
  runId: string;
  participant?: string;
  videoId?: string;
  segment?: number;
} {
  const id = jobKey.split(":").pop() ?? "";
  const [stage = "", runId = "", participant, videoId, segment] = id.split(".");
  return { stage, runId, participant, videoId, segment: segment === undefined ? undefined : Number(segment) };
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `run-${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}
