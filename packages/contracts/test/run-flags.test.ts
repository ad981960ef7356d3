import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ingestPayloadSchema } from "../src/payloads.ts";
import { runFieldsWithoutFlag, runFlags, runFlagsTable } from "../src/run-flags.ts";

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

  it("README.md's run options table is rendered from the declarations, each flag once", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, "../../../README.md"), "utf8");
    const section = readme.split(/^### Run options$/m)[1]?.split(/^##/m)[0] ?? "";
    expect(section, `README.md's table should be:\n${runFlagsTable()}`).toContain(runFlagsTable());
    // Declared in one row: other README lines may show a flag in use, never list its options again.
    for (const { flag } of runFlags)
      expect(
        readme.split("\n").filter((line) => line.startsWith(`| \`${flag.split(" ")[0]} `)),
        flag,
      ).toHaveLength(1);
  });
});
