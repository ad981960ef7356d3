import { describe, expect, it } from "vitest";
import { ingestPayloadSchema } from "../src/payloads.ts";
import { runFieldsWithoutFlag, runFlags } from "../src/run-flags.ts";

/** Every field of an ingest payload as a dotted path: the leaves of its defaults, and its optional fields. */
function payloadFields(): string[] {
  const defaults = ingestPayloadSchema.parse({ runId: "r", datasetPrefix: "" }) as Record<string, unknown>;
  const leaves = (value: unknown, path: string): string[] =>
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0
      ? Object.entries(value).flatMap(([key, inner]) => leaves(inner, path ? `${path}.${key}` : key))
      : [path];
  const optional = Object.keys(ingestPayloadSchema.shape).filter((key) => !(key in defaults));
  return [...leaves(defaults, ""), ...optional].sort();
}

describe("run options are declared once", () => {
  it("gives every ingest payload field a flag or a reason why not, never both", () => {
    const flagged = runFlags.map((declared) => declared.field);
    const unflagged = Object.keys(runFieldsWithoutFlag);
    for (const field of payloadFields())
      expect([flagged.includes(field), unflagged.includes(field)], field).toEqual(
        flagged.includes(field) ? [true, false] : [false, true],
      );
  });

  it("sets a field of the payload with every flag, each flag and field once", () => {
    const fields = payloadFields();
    for (const { flag, field } of runFlags) expect(fields, flag).toContain(field);
    for (const field of Object.keys(runFieldsWithoutFlag)) expect(fields, field).toContain(field);
    const names = runFlags.map((declared) => declared.flag.split(" ")[0]);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(runFlags.map((declared) => declared.field)).size).toBe(runFlags.length);
  });
});
