import type { z } from "zod";
import { payloadSchemas, type StageName, stageNames } from "./payloads.ts";
import {
  decodeResultSchema,
  ecgResultSchema,
  evalResultSchema,
  faceResultSchema,
  featuresResultSchema,
  ingestResultSchema,
  reportResultSchema,
  trainResultSchema,
} from "./results.ts";

/** How a stage's workers run unless HRPIPE_* variables or flags say otherwise. */
export interface StageRuntimeDefaults {
  /** Jobs one worker process runs at once. */
  concurrency: number;
  /**
   * How long a job's lock lasts without renewal. CPU-bound stages get minutes: a busy event loop
   * cannot renew the lock, and a lock that lapses makes BullMQ run the job a second time elsewhere.
   */
  lockDurationMs: number;
  /** How often stalled jobs (lost locks) are looked for and moved back to waiting. */
  stalledIntervalMs: number;
  /** Attempts for transient faults, with exponential backoff from backoffMs (bad input fails at once). */
  attempts: number;
  backoffMs: number;
  /**
   * Retention: completed jobs are kept this long and at most this many per stage, failed ones
   * likewise, so that a month of runs does not fill Redis (a run's results live in its manifest and
   * in storage; `hrpipe runs delete` removes a run's jobs at once).
   */
  keepCompletedS: number;
  keepCompletedJobs: number;
  keepFailedS: number;
  keepFailedJobs: number;
}

/** One stage of the pipeline: its contract and its place in the graph. */
export interface StageDefinition {
  name: StageName;
  /** What one job is about. */
  unit: string;
  payload: z.ZodType;
  result: z.ZodType;
  /** What a job reads and writes (artifact families). */
  reads: string[];
  writes: string[];
  /** Who adds this stage's jobs (ingest adds ecg and decode when it plans, train and eval when it gathers). */
  addedBy: StageName | "user";
  /** Its jobs are children of the run's ingest job, whose gather step waits for all of them. */
  gathered: boolean;
  /** The stages whose jobs follow this one's. */
  next: StageName[];
  defaults: StageRuntimeDefaults;
}

const ioBound: StageRuntimeDefaults = {
  concurrency: 1,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  attempts: 6,
  backoffMs: 2_000,
  keepCompletedS: 7 * 24 * 3600,
  // An AMIGOS-size run is about 25,000 face jobs: room for four.
  keepCompletedJobs: 100_000,
  keepFailedS: 30 * 24 * 3600,
  keepFailedJobs: 100_000,
};
const cpuBound: StageRuntimeDefaults = { ...ioBound, lockDurationMs: 15 * 60_000 };

/**
 * The stage graph, declared once. The ingest flow, `hrpipe status`, the dashboard's queue list, the
 * worker defaults and the README picture all derive from this table.
 */
export const stageGraph: Record<StageName, StageDefinition> = {
  ingest: {
    name: "ingest",
    gathered: false,
    unit: "run",
    payload: payloadSchemas.ingest,
    result: ingestResultSchema,
    reads: ["dataset listing"],
    writes: ["runs/<id>/manifest.json"],
    addedBy: "user",
    next: ["ecg", "decode"],
    defaults: ioBound,
  },
  ecg: {
    name: "ecg",
    gathered: true,
    // AMIGOS: ingest adds one per participant's .mat; a video with its own reference file (UBFC,
    // a manifest.csv) gets its own from decode, which knows the video's clock.
    unit: "participant or referenced video",
    payload: payloadSchemas.ecg,
    result: ecgResultSchema,
    reads: ["Data_Preprocessed_Pxx.mat", "a video's reference file"],
    writes: ["labels/<h>/<subject>/<video>.json"],
    addedBy: "ingest",
    next: ["train"],
    defaults: ioBound,
  },
  decode: {
    name: "decode",
    gathered: true,
    unit: "video",
    payload: payloadSchemas.decode,
    result: decodeResultSchema,
    reads: ["a video"],
    writes: ["frames/<h>/<subject>/<video>/<seg>-<sha>.mkv (transient)"],
    addedBy: "ingest",
    next: ["face"],
    defaults: ioBound,
  },
  face: {
    name: "face",
    gathered: true,
    unit: "segment",
    payload: payloadSchemas.face,
    result: faceResultSchema,
    reads: ["frames/<h>/..."],
    writes: ["faces/<h>/.../<seg>.safetensors", "traces/<h>/.../<seg>.safetensors"],
    addedBy: "decode",
    next: ["features", "train"],
    defaults: ioBound,
  },
  features: {
    name: "features",
    gathered: true,
    // Only for videos the CNN trains or tests on (those with a reference); decode adds it directly
    // for a segment whose faces an earlier run already wrote.
    unit: "face segment",
    payload: payloadSchemas.features,
    result: featuresResultSchema,
    reads: ["faces/<h>/..."],
    writes: ["features/<h>/.../<seg>.safetensors"],
    addedBy: "face",
    next: ["train"],
    // The backbone runs on a thread of its own (ONNX Runtime's run blocks the thread that calls it
    // for a whole batch), so the main thread renews the lock on time: a 30-s lock holds, and a killed
    // worker's job moves on within a minute rather than after minutes.
    defaults: ioBound,
  },
  train: {
    name: "train",
    gathered: false,
    unit: "protocol",
    payload: payloadSchemas.train,
    result: trainResultSchema,
    reads: ["labels", "features/<h>/..."],
    writes: ["heads/<h>/...", "runs/<id>/models/<protocol>/..."],
    addedBy: "ingest",
    next: ["eval"],
    defaults: cpuBound,
  },
  eval: {
    name: "eval",
    gathered: false,
    unit: "protocol",
    payload: payloadSchemas.eval,
    result: evalResultSchema,
    reads: ["labels", "traces", "features", "runs/<id>/models/<protocol>/..."],
    writes: ["runs/<id>/reports/<protocol>/..."],
    addedBy: "ingest",
    next: ["report"],
    defaults: cpuBound,
  },
  report: {
    name: "report",
    gathered: false,
    unit: "run",
    payload: payloadSchemas.report,
    result: reportResultSchema,
    reads: ["runs/<id>/reports/<protocol>/...", "runs/<id>/manifest.json", "labels", "traces"],
    writes: ["runs/<id>/reports/report.json|html, videos/*.svg; the run's final state"],
    addedBy: "ingest",
    next: [],
    defaults: ioBound,
  },
};

/** The stages in data-flow order (the order of `stageNames`). */
export const stages: StageDefinition[] = stageNames.map((name) => stageGraph[name]);

/** The stages whose jobs a run's gather step waits for. */
export const gatheredStages: StageName[] = stages
  .filter((stage) => stage.gathered)
  .map((stage) => stage.name);

/**
 * The stage graph as the README draws it: who adds whose jobs, one job per what, and what each writes.
 * README.md embeds this text; a unit test keeps the two identical.
 */
export function renderStageGraph(): string {
  const rows: [string, string][] = [];
  const node = (stage: StageDefinition, prefix: string) =>
    rows.push([`${prefix}[${stage.name}] one job per ${stage.unit} `, stage.writes.join(", ")]);
  const addedBy = (parent: StageName, gathered: boolean) =>
    stages.filter((stage) => stage.addedBy === parent && stage.gathered === gathered);
  const tree = (stage: StageDefinition, indent: string) => {
    const children = stages.filter((child) => child.addedBy === stage.name && child.gathered);
    children.forEach((child, i) => {
      node(child, `${indent}${i < children.length - 1 ? "|-> " : "`-> "}`);
      tree(child, `${indent}    `);
    });
  };
  node(stageGraph.ingest, "");
  tree(stageGraph.ingest, "");
  const gather = `[gather] when every ${gatheredStages.join(", ")} job has finished or failed`;
  let indent = "";
  for (const stage of addedBy("ingest", false)) {
    node(stage, `${indent}\`-> `);
    indent += "    ";
  }
  const column = Math.max(...rows.map(([prefix]) => prefix.length)) + 2;
  const lines = rows.map(([prefix, writes]) => `${prefix.padEnd(column, "-")}> ${writes}`);
  const planned = 1 + stages.filter((stage) => stage.gathered).length;
  return [
    "hrpipe ingest <dataset>",
    ...lines.slice(0, planned),
    `${gather}: the manifest's artifacts, exclusions and splits`,
    ...lines.slice(planned),
  ].join("\n");
}
