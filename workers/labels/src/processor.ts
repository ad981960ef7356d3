import {
  addresses,
  artifactKeys,
  type LabelOptions,
  type LabelsJobResult,
  labelsResultSchema,
  sha256Of,
  trialLabelsSchema,
  type VideoReference,
} from "@hrpipe/contracts";
import {
  ArtifactNotFoundError,
  BadInputError,
  type Logger,
  readArtifact,
  type Storage,
  writeArtifact,
} from "@hrpipe/runtime";
import { labelReference, ReferenceInputError } from "./label-reference.ts";
import { EcgInputError, labelMatFile } from "./label-trials.ts";

/** An AMIGOS participant's .mat (every trial), or one video's own reference file. */
export type LabelsJobInput =
  | { participant: string; matKey: string; options: LabelOptions }
  | {
      participant: string;
      videoId: string;
      reference: VideoReference;
      video: { fps: number; frameCount: number };
      options: LabelOptions;
    };

export interface LabelsJobContext {
  storage: Storage;
  logger?: Logger;
}

/**
 * Labels one participant: reads the .mat from storage, writes one label file per usable trial, then
 * a summary that marks the participant done. Labels are addressed by the file's SHA-256 and the
 * options, so a re-run on the same bytes finds the summary and skips the work, and a file replaced by
 * other bytes is labelled afresh. Bad input fails as BadInputError before anything is written.
 */
export async function processLabelsJob(
  input: LabelsJobInput,
  context: LabelsJobContext,
): Promise<LabelsJobResult> {
  if ("reference" in input) return labelVideoReference(input, context);
  const { storage, logger } = context;
  if (!(await storage.exists(input.matKey))) throw new ArtifactNotFoundError(storage.url, input.matKey);
  const bytes = await storage.get(input.matKey);
  const hash = addresses.labels({ sourceSha256: sha256Of(bytes), options: input.options });
  const summary = artifactKeys.labelsSummary(hash, input.participant);
  if (await storage.exists(summary)) {
    const done = await readArtifact(storage, summary, labelsResultSchema);
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

  const labels: LabelsJobResult["labels"] = [];
  for (const trial of labelled.trials) {
    const key = artifactKeys.labels(hash, input.participant, trial.videoId);
    await writeArtifact(storage, key, trialLabelsSchema, trial);
    labels.push({ videoId: trial.videoId, key, labelledShare: trial.quality.labelledShare });
  }
  for (const exclusion of labelled.excluded) logger?.warn({ videoId: exclusion.videoId }, exclusion.reason);
  const result: LabelsJobResult = {
    participant: input.participant,
    hash,
    labels,
    excluded: labelled.excluded,
    reused: false,
  };
  await writeArtifact(storage, summary, labelsResultSchema, result);
  return result;
}

/**
 * Labels one video from its own reference file (and frame-times table): addressed by their bytes, how
 * they are read and the video's clock, so a re-run finds its labels and skips the work.
 */
async function labelVideoReference(
  input: Extract<LabelsJobInput, { reference: VideoReference }>,
  context: LabelsJobContext,
): Promise<LabelsJobResult> {
  const { storage, logger } = context;
  const { reference } = input;
  const read = async (key: string) => {
    if (!(await storage.exists(key))) throw new ArtifactNotFoundError(storage.url, key);
    return storage.get(key);
  };
  const referenceBytes = await read(reference.key);
  const frameTimesBytes = reference.frameTimes ? await read(reference.frameTimes.key) : undefined;
  const { key: _key, frameTimes, ...reading } = reference;
  const hash = addresses.labels({
    sourceSha256: sha256Of(referenceBytes),
    options: input.options,
    reading: {
      ...reading,
      frameTimes: frameTimesBytes && { ...frameTimes, key: undefined, sha256: sha256Of(frameTimesBytes) },
      video: input.video,
      videoId: input.videoId,
    },
  });
  const summary = artifactKeys.labelsSummary(hash, input.participant);
  if (await storage.exists(summary)) {
    const done = await readArtifact(storage, summary, labelsResultSchema);
    logger?.info({ participant: input.participant, videoId: input.videoId, hash }, "labels exist; skipping");
    return { ...done, reused: true };
  }
  let labels: ReturnType<typeof labelReference>;
  try {
    labels = labelReference(input, {
      reference: referenceBytes,
      frameTimes: frameTimesBytes,
    });
  } catch (error) {
    if (error instanceof ReferenceInputError) throw new BadInputError(error.message);
    throw error;
  }
  const key = artifactKeys.labels(hash, input.participant, input.videoId);
  await writeArtifact(storage, key, trialLabelsSchema, labels);
  const result: LabelsJobResult = {
    participant: input.participant,
    hash,
    labels: [{ videoId: input.videoId, key, labelledShare: labels.quality.labelledShare }],
    excluded: [],
    reused: false,
  };
  await writeArtifact(storage, summary, labelsResultSchema, result);
  return result;
}
