import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  addresses,
  artifactKeys,
  decodeSafetensors,
  encodeSafetensors,
  formatVersions,
  loadConfig,
  type NeuralModel,
  neuralModelName,
  neuralModelNameSchema,
  neuralModelSchema,
  sha256Of,
  tensor,
} from "@hrpipe/contracts";
import { cropSequence } from "@hrpipe/face";
import {
  CheckpointError,
  importCheckpoint,
  NetworkSession,
  NeuralImportError,
  networkOutputs,
  type VideoNetworkOutputs,
} from "@hrpipe/model";
import {
  BadInputError,
  openStorage,
  readNamedNetwork,
  type Storage,
  writeArtifact,
} from "@hrpipe/runtime/storage";
import { formatTable, UserError } from "../output.ts";

export interface ModelStorageOptions {
  /** file://dir or s3://bucket/prefix; STORAGE_URL by default. */
  storage?: string;
}

export interface ModelImportOptions extends ModelStorageOptions {
  arch: string;
  name?: string;
  trainedOn?: string;
}

export interface ModelRunOptions extends ModelStorageOptions {
  model: string;
  input: string;
  out: string;
}

export function modelStorage(options: ModelStorageOptions): Storage {
  const config = loadConfig();
  return openStorage(options.storage ?? config.storageUrl, config);
}

/** A name from a checkpoint's file name: `PURE_PhysNet_DiffNormalized.pth` -> `pure-physnet-diffnormalized`. */
function nameOf(file: string): string {
  return path
    .basename(file, path.extname(file))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
}

/**
 * `hrpipe model import FILE.pth --arch physnet`: a PyTorch checkpoint read without Python, checked
 * tensor by tensor against the architecture, its ONNX graph built, and both stored under a content
 * address (the architecture and the checkpoint's SHA-256) with where they came from; the name points
 * at it.
 */
export async function modelImportCommand(file: string, options: ModelImportOptions): Promise<number> {
  const bytes = await readFile(file).catch(() => {
    throw new UserError(`${file} cannot be read; pass the path of a .pth checkpoint.`);
  });
  const name = options.name ?? nameOf(file);
  const checked = neuralModelName.safeParse(name);
  if (!checked.success) throw new UserError(`--name ${name} ${checked.error.issues[0]!.message}.`);
  let network: ReturnType<typeof importCheckpoint>;
  try {
    network = importCheckpoint(bytes, file, options.arch);
  } catch (error) {
    if (error instanceof NeuralImportError || error instanceof CheckpointError)
      throw new UserError(error.message);
    throw error;
  }
  const sha256 = sha256Of(bytes);
  const hash = addresses.neuralModel({ architecture: network.architecture, sourceSha256: sha256 });
  const storage = modelStorage(options);
  try {
    await storage.put(artifactKeys.neuralModel(hash, "model.onnx"), network.graph);
    await storage.put(
      artifactKeys.neuralModel(hash, "weights.safetensors"),
      encodeSafetensors(network.weights),
    );
    const model: NeuralModel = {
      format: "hrpipe-neural-model",
      version: formatVersions.neural,
      name,
      architecture: network.architecture,
      hash,
      trainedOn: options.trainedOn ?? null,
      source: { file: path.basename(file), sha256, bytes: bytes.length },
      input: network.input,
      tensors: Object.keys(network.weights).length,
      parameters: network.parameters,
      importedAt: new Date().toISOString(),
    };
    // model.json last: its presence means the whole model is there.
    await writeArtifact(storage, artifactKeys.neuralModel(hash, "model.json"), neuralModelSchema, model);
    await writeArtifact(storage, artifactKeys.neuralModelName(name), neuralModelNameSchema, { name, hash });
    process.stdout.write(
      `imported ${name}: ${network.architecture}, ${model.tensors} tensors, ${network.parameters.toLocaleString("en")} parameters, input [N, 3, ${network.input.frames}, ${network.input.size}, ${network.input.size}] ${network.input.normalisation}; ${storage.url}/models/${hash}\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}

/** Every imported network's name in the storage, sorted. */
export async function installedModels(storage: Storage): Promise<string[]> {
  return (await storage.list("models/names/")).map(({ key }) => path.basename(key, ".json"));
}

/**
 * A network's pulse (and its tail's activations) over a video's crops (one per frame with a face,
 * [count, side, side, 3] u8, at the video's frame indices), as the neural stage computes them
 * (cropSequence, networkOutputs). Undefined for a video shorter than a clip.
 */
export async function videoNetworkOutputs(
  storage: Storage,
  name: string,
  crops: { images: Uint8Array; frameIndex: Int32Array; side: number },
  frames: number,
): Promise<VideoNetworkOutputs | undefined> {
  const model = await readInstalledModel(storage, name);
  const session = await NetworkSession.create(
    await storage.get(artifactKeys.neuralModel(model.hash, "model.onnx")),
  );
  try {
    const sequence = cropSequence(crops, frames, model.input.size);
    return await networkOutputs(session, sequence.frames, frames, model.input, { cuts: sequence.cuts });
  } finally {
    await session.release();
  }
}

/** The imported network a name points to, or a user error naming the name and the storage. */
export async function readInstalledModel(storage: Storage, name: string): Promise<NeuralModel> {
  const model = await readNamedNetwork(storage, name).catch((error: unknown) => {
    throw error instanceof BadInputError ? new UserError(error.message) : error;
  });
  if (!model)
    throw new UserError(
      `no model named ${name} in ${storage.url}; hrpipe model list shows the installed ones.`,
    );
  return model;
}

/** `hrpipe model list`: every imported network, by name. */
export async function modelListCommand(options: ModelStorageOptions & { json?: boolean }): Promise<number> {
  const storage = modelStorage(options);
  try {
    const models: NeuralModel[] = [];
    for (const name of await installedModels(storage)) models.push(await readInstalledModel(storage, name));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      process.stdout.write(
        `no imported models in ${storage.url}; add one with hrpipe model import FILE.pth --arch physnet.\n`,
      );
      return 0;
    }
    process.stdout.write(
      `${formatTable(
        ["name", "architecture", "trained on", "parameters", "source", "hash", "imported"],
        models.map((m) => [
          m.name,
          m.architecture,
          m.trainedOn ?? "-",
          m.parameters.toLocaleString("en"),
          m.source.file,
          m.hash,
          m.importedAt.slice(0, 10),
        ]),
      )}\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}

/**
 * `hrpipe model run --model NAME --input X.safetensors --out Y.safetensors`: the network on a tensor
 * file (`input` F32 [N, 3, T, H, W] at the model's clip size) to `output` F32 [N, T].
 */
export async function modelRunCommand(options: ModelRunOptions): Promise<number> {
  const storage = modelStorage(options);
  try {
    const model = await readInstalledModel(storage, options.model);
    const file = decodeSafetensors(
      await readFile(options.input).catch(() => {
        throw new UserError(`${options.input} cannot be read; pass a safetensors file with an input tensor.`);
      }),
      options.input,
    );
    const input = file.tensors.input;
    const { frames, size } = model.input;
    const wanted = [3, frames, size, size];
    if (
      input?.dtype !== "F32" ||
      input.shape.length !== 5 ||
      input.shape.slice(1).join(",") !== wanted.join(",")
    )
      throw new UserError(
        `${options.input} must hold input F32 [N, ${wanted.join(", ")}] for ${model.name}; it holds ${input ? `${input.dtype} [${input.shape.join(", ")}]` : "no tensor named input"}.`,
      );
    const session = await NetworkSession.create(
      await storage.get(artifactKeys.neuralModel(model.hash, "model.onnx")),
    );
    const started = performance.now();
    const output = await session.run(input.data as Float32Array, input.shape);
    const seconds = (performance.now() - started) / 1000;
    await writeFile(
      options.out,
      encodeSafetensors(
        { output: tensor("F32", output.shape, output.data) },
        { model: model.name, hash: model.hash },
      ),
    );
    const clips = input.shape[0]!;
    process.stdout.write(
      `${model.name}: ${clips} clip${clips === 1 ? "" : "s"} of ${frames} frames in ${seconds.toFixed(2)} s (${((clips * frames) / seconds).toFixed(0)} frames/s); wrote ${options.out}\n`,
    );
    await session.release();
    return 0;
  } finally {
    await storage.close();
  }
}
