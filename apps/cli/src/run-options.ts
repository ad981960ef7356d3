import { readFile } from "node:fs/promises";
import {
  ecgOffsetsSchema,
  flagOfField,
  ingestPayloadSchema,
  type PayloadInput,
  runFlags,
  studyProtocols,
} from "@hrpipe/contracts";
import { parseParticipantOffsets } from "@hrpipe/datasets";
import { Option } from "commander";
import { UserError } from "./output.ts";

/**
 * The options of a run, shared by `hrpipe ingest` and `hrpipe run`, as commander names them: each
 * flag of `runFlags` (packages/contracts) by its attribute name (`--learning-rate` -> learningRate).
 */
export type RunCommandOptions = Record<string, string | number | boolean | undefined>;

/** The options-object name commander gives a flag (`--learning-rate <x>` -> learningRate), by commander's own rule. */
export function attributeOf(flag: string): string {
  return new Option(flag).attributeName();
}

/**
 * The ingest payload a command's flags describe, validated by the payload schema; an invalid value
 * is named by its flag. Every flag sets the field `runFlags` declares for it.
 */
export async function ingestPayload(
  runId: string,
  datasetPrefix: string,
  options: RunCommandOptions,
): Promise<PayloadInput<"ingest">> {
  const payload: Record<string, unknown> = { runId, datasetPrefix };
  for (const { flag, field, value: kind } of runFlags) {
    const value = options[attributeOf(flag)];
    if (value === undefined) continue;
    if (field === "trainedOn") {
      payload.trainedOn = parseTrainedOn(String(value));
    } else if (field === "ecgOffsetsS") {
      payload.ecgOffsetsS = await readEcgOffsets(String(value));
    } else {
      const path = field.split(".");
      let parent = payload;
      for (const part of path.slice(0, -1)) {
        parent[part] ??= {};
        parent = parent[part] as Record<string, unknown>;
      }
      parent[path.at(-1)!] =
        kind === "list"
          ? String(value)
              .split(",")
              .map((item) => item.trim())
          : value;
    }
  }
  // --cross-dataset alone runs the cross-dataset protocol only: the head is trained elsewhere.
  if (payload.trainedOn) payload.protocols = ["cross-dataset"];
  const parsed = ingestPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.filter((part) => typeof part === "string").join(".");
    const flag = flagOfField(field) ?? field;
    const given = issue.path.reduce<unknown>(
      (at, part) => (at as Record<PropertyKey, unknown> | undefined)?.[part as PropertyKey],
      payload,
    );
    throw new UserError(
      issue.code === "invalid_value"
        ? `${flag} must be one of ${issue.values.join(", ")}, got ${JSON.stringify(given)}.`
        : `${flag} is invalid${given === undefined ? "" : ` (${JSON.stringify(given)})`}: ${issue.message}.`,
    );
  }
  return payload as PayloadInput<"ingest">;
}

/** `--ecg-offsets FILE`: per-participant offsets, each within the range --ecg-offset allows. */
async function readEcgOffsets(file: string): Promise<Record<string, number>> {
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new UserError(
      `--ecg-offsets ${file} cannot be read (${error.message}); pass a CSV of participant,offset_s.`,
    );
  });
  let offsetsS: Record<string, number>;
  try {
    offsetsS = parseParticipantOffsets(file, text);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const valid = ecgOffsetsSchema.safeParse(offsetsS);
  if (!valid.success)
    throw new UserError(
      `${file}: ${valid.error.issues[0]!.path.join(".")}'s offset must be within an hour either way.`,
    );
  return offsetsS;
}

/** `--cross-dataset RUN[:protocol]`: which earlier run's head to test. */
function parseTrainedOn(value: string): { runId: string; protocol: (typeof studyProtocols)[number] } {
  const [runId = "", protocol = "unseen-participants"] = value.split(":");
  if (
    !/^[A-Za-z0-9_-]{1,64}$/.test(runId) ||
    !studyProtocols.includes(protocol as (typeof studyProtocols)[number])
  )
    throw new UserError(
      `--cross-dataset must be RUN or RUN:protocol with protocol ${studyProtocols.join(" or ")}, not ${JSON.stringify(value)}.`,
    );
  return { runId, protocol: protocol as (typeof studyProtocols)[number] };
}
