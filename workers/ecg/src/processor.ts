import {
  ArtifactNotFoundError,
  addresses,
  artifactKeys,
  BadInputError,
  type EcgJobResult,
  type EcgOptions,
  ecgResultSchema,
  type Logger,
  readArtifact,
  type Storage,
  sha256Of,
  trialLabelsSchema,
  writeArtifact,
} from "@hrpipe/queue";
import { EcgInputError, labelMatFile } from "./label-trials.ts";

export interface EcgProcessorInput {
  participant: string;
  matKey: string;
  options: EcgOptions;
}

export interface EcgProcessorContext {
  storage: Storage;
  logger?: Logger;
}

/**
 * Labels one participant: reads the .mat from storage, writes one label file per usable trial, then
 * a summary that marks the participant done. Labels are addressed by the file's SHA-256 and the
 * options, so a re-run on the same bytes finds the summary and skips the work, and a file replaced by
 * other bytes is labelled afresh. Bad input fails as BadInputError before anything is written.
 */
export async function processEcg(
  input: EcgProcessorInput,
  context: EcgProcessorContext,
): Promise<EcgJobResult> {
  const { storage, logger } = context;
  if (!(await storage.exists(input.matKey))) throw new ArtifactNotFoundError(storage.url, input.matKey);
  const bytes = await storage.get(input.matKey);
  const hash = addresses.labels({ sourceSha256: sha256Of(bytes), options: input.options });
  const summary = artifactKeys.labelsSummary(hash, input.participant);
  if (await storage.exists(summary)) {
    const done = await readArtifact(storage, summary, ecgResultSchema);
    logger?.info({ participant: input.participant, hash }, "labels exist; skipping");
    return { ...done, reused: true };
  }

  let labelled: ReturnType<typeof labelMatFile>;
  try {
    labelled = labelMatFile(bytes, input.matKey, input.participant, input.options);
  } catch (error) {
    if (error instanceof EcgInputError) throw new BadInputError(error.message);
    throw error;
  }
  if (labelled.trials.length === 0) {
    const reasons = labelled.excluded.map((e) => e.reason).join("; ");
    throw new BadInputError(`${input.matKey} has no trial with usable ECG (${reasons || "no trials"}).`);
  }

  const labels: EcgJobResult["labels"] = [];
  for (const trial of labelled.trials) {
    const key = artifactKeys.labels(hash, input.participant, trial.videoId);
    await writeArtifact(storage, key, trialLabelsSchema, trial);
    labels.push({ videoId: trial.videoId, key, labelledShare: trial.quality.labelledShare });
  }
  for (const exclusion of labelled.excluded) logger?.warn({ videoId: exclusion.videoId }, exclusion.reason);
  const result: EcgJobResult = {
    participant: input.participant,
    hash,
    labels,
    excluded: labelled.excluded,
    reused: false,
  };
  await writeArtifact(storage, summary, ecgResultSchema, result);
  return result;
}
