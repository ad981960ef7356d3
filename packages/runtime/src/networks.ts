import { artifactKeys, type NetworkRef, neuralModelNameSchema, neuralModelSchema } from "@hrpipe/contracts";
import { readArtifact } from "./artifact-io.ts";
import { BadInputError } from "./queues.ts";
import type { Storage } from "./storage/index.ts";

/**
 * The imported networks a run names (`--neural`), as their names point now in the storage: a run keeps
 * measuring with these weights if a name is imported again meanwhile. A name with no model is bad input.
 */
export async function resolveNetworks(storage: Storage, names: readonly string[]): Promise<NetworkRef[]> {
  const networks: NetworkRef[] = [];
  for (const name of names) {
    const key = artifactKeys.neuralModelName(name);
    if (!(await storage.exists(key)))
      throw new BadInputError(
        `--neural ${name}: no model of that name in ${storage.url}; import it with hrpipe model import FILE.pth --arch physnet --name ${name} (hrpipe model list shows the installed ones).`,
      );
    const { hash } = await readArtifact(storage, key, neuralModelNameSchema);
    const model = await readArtifact(
      storage,
      artifactKeys.neuralModel(hash, "model.json"),
      neuralModelSchema,
    );
    networks.push({ name, hash, architecture: model.architecture, trainedOn: model.trainedOn });
  }
  return networks;
}
