import { type StageName, stageNames } from "@hrpipe/contracts";
import type { StageBinding } from "@hrpipe/runtime";
import { decodeStage } from "@hrpipe/worker-decode";
import { evalStage } from "@hrpipe/worker-eval";
import { faceStage } from "@hrpipe/worker-face";
import { featuresStage } from "@hrpipe/worker-features";
import { ingestStage } from "@hrpipe/worker-ingest";
import { labelsStage } from "@hrpipe/worker-labels";
import { neuralStage } from "@hrpipe/worker-neural";
import { reportStage } from "@hrpipe/worker-report";
import { trainStage } from "@hrpipe/worker-train";
import { UserError } from "./output.ts";

/** Every stage folder's binding, by stage: what `hrpipe worker`, `demo` and `run` start. */
export const stageBindings: Record<StageName, StageBinding> = {
  ingest: ingestStage,
  labels: labelsStage,
  decode: decodeStage,
  face: faceStage,
  features: featuresStage,
  neural: neuralStage,
  train: trainStage,
  eval: evalStage,
  report: reportStage,
};

/** Parses `hrpipe worker` stage names; `all` is every stage. */
export function parseStages(names: string[]): StageBinding[] {
  if (names.includes("all")) return stageNames.map((stage) => stageBindings[stage]);
  const unknown = names.filter((name) => !stageNames.includes(name as StageName));
  if (unknown.length > 0)
    throw new UserError(`unknown stage ${unknown.join(", ")}; choose from ${stageNames.join(", ")} or all.`);
  return [...new Set(names as StageName[])].map((stage) => stageBindings[stage]);
}
