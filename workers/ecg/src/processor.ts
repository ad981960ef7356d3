import {
  ArtifactNotFoundError,
  artifactHash,
  artifactKeys,
  BadInputError,
  type EcgJobResult,
  type EcgOptions,
  getJson,
  joinKey,
  type Logger,
  putJson,
  type Storage,
} from "@hrpipe/queue";
import { EcgInputError, labelMatFile } from "./label-trials.ts";

/** Bumped whenever the label file layout or the labelling method changes, so old labels are not reused. */
export const ecgFormatVersion = 1;

export interface EcgProcessorInput {
  participant: string;
  matKey: string;
  options: EcgOptions;
}

export type EcgProcessorResult = EcgJobResult;

export interface EcgProcessorContext {
  storage: Storage;
  logger?: Logger;
}

function summaryKey(hash: string, participant: string): string {
  return joinKey("labels", hash, participant, "_summary.json");
}

/**
 * Labels one participant: reads the .mat from storage, writes one label file per usable trial, then
 * a summary that marks the participant done. A re-run with the same input and options finds the
 * summary and skips the work. Bad input fails as BadInputError before anything is written.
 */
export async function processEcg(
  input: EcgProcessorInput,
  context: EcgProcessorContext,
): Promise<EcgProcessorResult> {
  const { storage, logger } = context;
  const object = (await storage.list(input.matKey)).find((o) => o.key === input.matKey);
  if (!object) throw new ArtifactNotFoundError(storage.url, input.matKey);
  const hash = artifactHash({
    input: { key: input.matKey, size: object.size },
    options: input.options,
    formatVersion: ecgFormatVersion,
  });
  const summary = summaryKey(hash, input.participant);
  if (await storage.exists(summary)) {
    const done = await getJson<EcgProcessorResult>(storage, summary);
    logger?.info({ participant: input.participant, hash }, "labels exist; skipping");
    return { ...done, skipped: true };
  }

  let labelled: ReturnType<typeof labelMatFile>;
  try {
    labelled = labelMatFile(await storage.get(input.matKey), input.matKey, input.participant, input.options);
  } catch (error) {
    if (error instanceof EcgInputError) throw new BadInputError(error.message);
    throw error;
  }
  if (labelled.trials.length === 0) {
    const reasons = labelled.excluded.map((e) => e.reason).join("; ");
    throw new BadInputError(`${input.matKey} has no trial with usable ECG (${reasons || "no trials"}).`);
  }

  const labels: EcgProcessorResult["labels"] = [];
  for (const trial of labelled.trials) {
    const key = artifactKeys.labels(hash, input.participant, trial.videoId);
    await putJson(storage, key, trial);
    labels.push({ videoId: trial.videoId, key, labelledShare: trial.quality.labelledShare });
  }
  for (const exclusion of labelled.excluded) logger?.warn({ videoId: exclusion.videoId }, exclusion.reason);
  const result: EcgProcessorResult = {
    participant: input.participant,
    hash,
    labels,
    excluded: labelled.excluded,
    skipped: false,
  };
  await putJson(storage, summary, result);
  return result;
}
