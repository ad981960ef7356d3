import type { z } from "zod";
import { BadInputError, UnretryableError } from "./errors.ts";
import type { Storage } from "./storage/index.ts";

/** A stored document that does not match its schema: stale, foreign or hand-edited. */
export class ArtifactSchemaError extends BadInputError {
  override name = "ArtifactSchemaError";
}

/** Reads a JSON artifact and validates it; the error names the key and the first field at fault. */
export async function readArtifact<S extends z.ZodType>(
  storage: Storage,
  key: string,
  schema: S,
): Promise<z.output<S>> {
  const bytes = await storage.get(key);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new ArtifactSchemaError(
      `${key} in ${storage.url} is not valid JSON (${(error as Error).message}); delete it and re-run the stage that writes it.`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArtifactSchemaError(
      `${key} in ${storage.url} does not match its schema at ${issue.path.join(".") || "(document)"}: ${issue.message}; delete it and re-run the stage that writes it.`,
    );
  }
  return parsed.data;
}

/** Validates a document against its schema before writing it, so no stage writes what others cannot read. */
export function writeArtifact<S extends z.ZodType>(
  storage: Storage,
  key: string,
  schema: S,
  value: z.input<S>,
): Promise<void> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A bug, not a fault: retrying cannot help.
    throw new UnretryableError(
      `refusing to write ${key}: it does not match its schema at ${issue.path.join(".") || "(document)"} (${issue.message}); this is a bug in the stage that writes it.`,
    );
  }
  return storage.put(key, JSON.stringify(value, null, 2));
}
