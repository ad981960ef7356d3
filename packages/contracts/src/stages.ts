import type { z } from "zod";
import { decodeLink, faceLink, ingestLink, leadsNowhere, type StageLink } from "./links.ts";
import { payloadSchemas, type StageName, stageNames } from "./payloads.ts";
import {
  decodeResultSchema,
  evalResultSchema,
  faceResultSchema,
  featuresResultSchema,
  ingestResultSchema,
  labelsResultSchema,
  neuralResultSchema,
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
export interface StageDefinition<S extends StageName = StageName> {
  name: S;
  /** What one job is about. */
  unit: string;
  payload: z.ZodType;
  result: z.ZodType;
  /** What a job reads and writes (artifact families). */
  reads: string[];
  writes: string[];
  /** Its jobs are children of the run's ingest job, whose gather step waits for all of them. */
  gathered: boolean;
  /** Its jobs are added by the gather step (the run's networks), and training waits for them. */
  afterGather?: true;
  /** The jobs a job of this stage leads to (links.ts): the runtime adds them, no binding does. */
  links: StageLink<S>;
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
export const stageGraph: { [S in StageName]: StageDefinition<S> } = {
  ingest: {
    name: "ingest",
    gathered: false,
    unit: "run",
    payload: payloadSchemas.ingest,
    result: ingestResultSchema,
    reads: ["dataset listing"],
    writes: ["runs/<id>/manifest.json"],
    links: ingestLink,
    defaults: ioBound,
  },
  labels: {
    name: "labels",
    gathered: true,
    // AMIGOS: ingest adds one per participant's .mat; a video with its own reference file (UBFC,
    // a manifest.csv) gets its own from decode, which knows the video's clock.
    unit: "participant or referenced video",
    payload: payloadSchemas.labels,
    result: labelsResultSchema,
    reads: ["Data_Preprocessed_Pxx.mat", "a video's reference file"],
    writes: ["labels/<h>/<subject>/<video>.json"],
    links: leadsNowhere,
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
    links: decodeLink,
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
    links: faceLink,
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
    links: leadsNowhere,
    // The backbone runs on a thread of its own (ONNX Runtime's run blocks the thread that calls it
    // for a whole batch), so the main thread renews the lock on time: a 30-s lock holds, and a killed
    // worker's job moves on within a minute rather than after minutes.
    defaults: ioBound,
  },
  neural: {
    name: "neural",
    gathered: true,
    afterGather: true,
    unit: "video and network",
    payload: payloadSchemas.neural,
    result: neuralResultSchema,
    reads: ["faces/<h>/...", "models/<h>/model.onnx"],
    writes: ["pulses/<h>/<subject>/<video>.safetensors"],
    links: leadsNowhere,
    // Like the features stage, the network runs on ONNX Runtime's own threads between awaits.
    defaults: cpuBound,
  },
  train: {
    name: "train",
    gathered: false,
    unit: "protocol",
    payload: payloadSchemas.train,
    result: trainResultSchema,
    reads: ["labels", "features/<h>/...", "pulses/<h>/..."],
    writes: ["heads/<h>/...", "tuned/<h>.json", "runs/<id>/models/<protocol>/..."],
    links: leadsNowhere,
    defaults: cpuBound,
  },
  eval: {
    name: "eval",
    gathered: false,
    unit: "protocol",
    payload: payloadSchemas.eval,
    result: evalResultSchema,
    reads: ["labels", "traces", "features", "pulses", "runs/<id>/models/<protocol>/..."],
    writes: ["runs/<id>/reports/<protocol>/..."],
    links: leadsNowhere,
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
    links: leadsNowhere,
    defaults: ioBound,
  },
};

/** The stages in data-flow order (the order of `stageNames`). */
export const stages: StageDefinition[] = stageNames.map((name) => stageGraph[name]);

/** The stages whose jobs a run's gather step waits for. */
export const gatheredStages: StageName[] = stages
  .filter((stage) => stage.gathered && !stage.afterGather)
  .map((stage) => stage.name);

/**
 * The stages whose jobs a stage's links add, of one kind (gathered by the run or not, added by its
 * plan or after its gather), in data-flow order.
 */
function linkedStages(from: StageName, gathered: boolean, afterGather = false): StageDefinition[] {
  return stages.filter(
    (stage) =>
      stageGraph[from].links.adds.includes(stage.name) &&
      stage.gathered === gathered &&
      Boolean(stage.afterGather) === afterGather,
  );
}

/**
 * The stage graph as the README draws it, from the stages' links: whose jobs lead to whose, one job
 * per what, and what each writes; a stage reached a second time is drawn "(as above)". README.md
 * embeds this text; a unit test keeps the two identical.
 */
export function renderStageGraph(): string {
  const rows: [string, string | undefined][] = [];
  const drawn = new Set<StageName>();
  const node = (stage: StageDefinition, prefix: string) => {
    const first = !drawn.has(stage.name);
    drawn.add(stage.name);
    rows.push(
      first
        ? [`${prefix}[${stage.name}] one job per ${stage.unit} `, stage.writes.join(", ")]
        : [`${prefix}[${stage.name}] (as above)`, undefined],
    );
    return first;
  };
  const tree = (stage: StageDefinition, indent: string) => {
    const children = linkedStages(stage.name, true);
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      if (node(child, `${indent}${last ? "`-> " : "|-> "}`))
        tree(child, `${indent}${last ? "    " : "|   "}`);
    });
  };
  node(stageGraph.ingest, "");
  tree(stageGraph.ingest, "");
  const planned = rows.length;
  for (const stage of linkedStages("ingest", true, true)) node(stage, "|-> ");
  let indent = "";
  for (const stage of linkedStages("ingest", false)) {
    node(stage, `${indent}\`-> `);
    indent += "    ";
  }
  const column = Math.max(...rows.map(([prefix, writes]) => (writes === undefined ? 0 : prefix.length))) + 2;
  const lines = rows.map(([prefix, writes]) =>
    writes === undefined ? prefix : `${prefix.padEnd(column, "-")}> ${writes}`,
  );
  const gather = `[gather] when every ${gatheredStages.join(", ")} job has finished or failed`;
  return [
    "hrpipe ingest <dataset>",
    ...lines.slice(0, planned),
    `${gather}: the manifest's artifacts, exclusions and splits; where the run names networks, training waits for their jobs too`,
    ...lines.slice(planned),
  ].join("\n");
}
