import { artifactKeys, type RunManifest, runManifestSchema } from "@hrpipe/contracts";
import type { z } from "zod";
import { readArtifact, writeArtifact } from "./artifact-io.ts";
import type { Storage } from "./storage/index.ts";

export function readManifest(storage: Storage, runId: string): Promise<RunManifest> {
  return readArtifact(storage, artifactKeys.manifest(runId), runManifestSchema);
}

/** Writes a run's manifest; fields with defaults (exclusions, counts, ...) may be left out. */
export function writeManifest(storage: Storage, manifest: z.input<typeof runManifestSchema>): Promise<void> {
  return writeArtifact(storage, artifactKeys.manifest(manifest.runId), runManifestSchema, manifest);
}
