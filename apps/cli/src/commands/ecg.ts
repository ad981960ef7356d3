import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { flagOfField, labelOptionsSchema, normaliseParticipant } from "@hrpipe/contracts";
import { labelMatFile } from "@hrpipe/worker-labels";
import { formatTable, UserError } from "../output.ts";
import { OutputFolder } from "../output-folder.ts";

export interface EcgCommandOptions {
  out: string;
  /** Write into a non-empty folder hrpipe did not make (nothing there is deleted). */
  force?: boolean;
  column: number;
  labelFps: number;
  labelWindow: number;
  participant?: string;
}

function participantFromFileName(file: string): string {
  const match = /P(\d{1,4})/i.exec(path.basename(file));
  if (!match)
    throw new UserError(`cannot tell the participant from ${path.basename(file)}; pass --participant P01.`);
  return normaliseParticipant(`P${match[1]}`);
}

function parseOptions(options: EcgCommandOptions) {
  const parsed = labelOptionsSchema.safeParse({
    column: options.column,
    fps: options.labelFps,
    windowS: options.labelWindow,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = flagOfField(`ecg.${String(issue.path[0])}`) ?? String(issue.path[0]);
    throw new UserError(`${flag} is invalid: ${issue.message}.`);
  }
  return parsed.data;
}

/** `hrpipe ecg <mat> --out dir`: labels one participant's trials locally, no Redis or storage needed. */
export async function ecgCommand(matFile: string, options: EcgCommandOptions): Promise<number> {
  const ecgOptions = parseOptions(options);
  const participant = options.participant
    ? normaliseParticipant(options.participant)
    : participantFromFileName(matFile);
  let bytes: Buffer;
  try {
    bytes = await readFile(matFile);
  } catch (error) {
    throw new UserError(
      `cannot read ${matFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
  const started = performance.now();
  const { trials, excluded } = labelMatFile(bytes, matFile, participant, ecgOptions);
  const elapsedS = (performance.now() - started) / 1000;
  const out = await OutputFolder.open(options.out, { command: "ecg", force: options.force });
  for (const trial of trials)
    await writeFile(await out.file(`${participant}_${trial.videoId}.labels.json`), JSON.stringify(trial));
  await out.finish();
  const fmt = (v: number | null) => (v === null ? "-" : v.toFixed(1));
  const rows = trials.map((t) => [
    t.videoId,
    String(t.quality.beats),
    fmt(t.quality.meanHrBpm),
    fmt(t.quality.minHrBpm),
    fmt(t.quality.maxHrBpm),
    `${(100 * t.quality.labelledShare).toFixed(1)}%`,
    t.quality.polarity ?? "-",
  ]);
  process.stdout.write(
    `${formatTable(["trial", "beats", "mean HR", "min HR", "max HR", "labelled", "lead"], rows)}\n`,
  );
  for (const exclusion of excluded)
    process.stdout.write(`excluded ${exclusion.videoId}: ${exclusion.reason}\n`);
  const ecgSeconds = trials.reduce((sum, t) => sum + t.durationS, 0);
  process.stdout.write(
    `\n${participant}: ${trials.length} trials labelled, ${excluded.length} excluded, ${ecgSeconds.toFixed(0)} s of ECG in ${elapsedS.toFixed(2)} s; labels in ${options.out}\n`,
  );
  return trials.length > 0 ? 0 : 1;
}
