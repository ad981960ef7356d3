import {
  artifactKeys,
  formatVersions,
  type NetworkRef,
  type NeuralModel,
  neuralModelNameSchema,
  neuralModelSchema,
} from "@hrpipe/contracts";
import { ArtifactSchemaError, readArtifact } from "./artifact-io.ts";
import { BadInputError } from "./errors.ts";
import type { Storage } from "./storage/index.ts";

/**
 * The imported networks a run names (`--neural`), as their names point now in the storage: a run keeps
 * measuring with these weights if a name is imported again meanwhile. A name with no model is bad input.
 */
export async function resolveNetworks(storage: Storage, names: readonly string[]): Promise<NetworkRef[]> {
  const networks: NetworkRef[] = [];
  for (const name of names) {
    const model = await readNamedNetwork(storage, name);
    if (!model)
      throw new BadInputError(
        `--neural ${name}: no model of that name in ${storage.url}; import it with hrpipe model import FILE.pth --arch physnet --name ${name} (hrpipe model list shows the installed ones).`,
      );
    networks.push({ name, hash: model.hash, architecture: model.architecture, trainedOn: model.trainedOn });
  }
  return networks;
}

/** The network a name points to now (models/names/<name>.json), or undefined where no model has that name. */
export async function readNamedNetwork(storage: Storage, name: string): Promise<NeuralModel | undefined> {
  const key = artifactKeys.neuralModelName(name);
  if (!(await storage.exists(key))) return undefined;
  const { hash } = await readArtifact(storage, key, neuralModelNameSchema);
  return readNeuralModel(storage, hash);
}

/**
 * An imported network's description (models/<hash>/model.json); one imported by an earlier hrpipe,
 * whose graph lacks what this one reads, is bad input naming the import to do again.
 */
export async function readNeuralModel(storage: Storage, hash: string): Promise<NeuralModel> {
  const key = artifactKeys.neuralModel(hash, "model.json");
  try {
    return await readArtifact(storage, key, neuralModelSchema);
  } catch (error) {
    if (!(error instanceof ArtifactSchemaError)) throw error;
    // Only a refused document is read again, to say why when its version is the reason.
    const { name, version } = JSON.parse((await storage.get(key)).toString("utf8")) as Partial<NeuralModel>;
    if (version !== formatVersions.neural)
      throw new BadInputError(
        `${key} in ${storage.url}: model ${name} was imported by an hrpipe whose graphs are version ${version}, this one needs ${formatVersions.neural}; import its checkpoint again (hrpipe model import FILE.pth --arch ... --name ${name}).`,
      );
    throw error;
  }
}
