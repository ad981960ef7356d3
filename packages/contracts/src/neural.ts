import { z } from "zod";
import { formatVersions } from "./addresses.ts";

/** The temporal rPPG networks hrpipe builds as ONNX graphs from a checkpoint's weights. */
export const neuralArchitectures = ["physnet", "factorizephys"] as const;
export type NeuralArchitecture = (typeof neuralArchitectures)[number];

/**
 * How face crops become a network's input: PhysNet takes rPPG-Toolbox's DiffNormalized frames,
 * FactorizePhys the frames' plain differences (its own first step, normalised inside the network).
 */
export const neuralInputNormalisations = ["diff-normalized", "frame-differences"] as const;
export type NeuralInputNormalisation = (typeof neuralInputNormalisations)[number];

/** A model name as `--model` and `--neural` take it, and as storage keys hold it. */
export const neuralModelName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "must be 1-63 lower-case letters, digits or '-', starting with a letter or digit",
  );

/**
 * An imported network (models/<hash>/model.json): what it is, where its weights came from and how its
 * input is made. Written last, after its graph and weights, so that its presence means a whole model.
 */
export const neuralModelSchema = z.object({
  format: z.literal("hrpipe-neural-model"),
  /** formatVersions.neural when it was imported: an older import's graph lacks what this hrpipe reads. */
  version: z.literal(formatVersions.neural),
  name: neuralModelName,
  architecture: z.enum(neuralArchitectures),
  /** The content address: architecture, weights and the graph builder's format version. */
  hash: z.string(),
  /** What the weights were trained on, as the user says (PURE, SCAMPS, ...), or null when unsaid. */
  trainedOn: z.string().nullable(),
  source: z.object({ file: z.string(), sha256: z.string(), bytes: z.number().int() }),
  /** The clip the network takes: [N, 3, frames, size, size], and how crops become its input. */
  input: z.object({
    frames: z.number().int(),
    size: z.number().int(),
    normalisation: z.enum(neuralInputNormalisations),
  }),
  /** Tensors taken from the checkpoint, and parameters in them. */
  tensors: z.number().int(),
  parameters: z.number().int(),
  importedAt: z.string(),
});
export type NeuralModel = z.infer<typeof neuralModelSchema>;

/** models/names/<name>.json: which content address a name points at (the last import under that name). */
export const neuralModelNameSchema = z.object({ name: neuralModelName, hash: z.string() });

/**
 * A fine-tuned network's trained tail (signal's NetworkTail): PhysNet's last normalisation as a
 * per-channel scale and shift with its last layer's weights and bias (`normalised-mean`), or
 * FactorizePhys's last layer, weights [channels, taps, positions] (`temporal-conv`).
 */
export const tunedTailSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("normalised-mean"),
    scale: z.array(z.number()),
    shift: z.array(z.number()),
    weight: z.array(z.number()),
    bias: z.number(),
  }),
  z.object({ kind: z.literal("temporal-conv"), weight: z.array(z.number()), taps: z.number().int() }),
]);

/**
 * A network fine-tuned in a run's train stage (tuned/<hash>.json; the run's models folder holds a
 * copy named `<name>-ft.json`): which network, what was trained and how, and its trained tail.
 */
export const tunedNetworkSchema = z.object({
  format: z.literal("hrpipe-tuned-network"),
  /** formatVersions.tuned when it was written. */
  version: z.literal(formatVersions.tuned),
  /** Its content address (tuned/<hash>.json): the training set, the options and the format versions. */
  hash: z.string(),
  network: z.object({ name: neuralModelName, hash: z.string() }),
  /** The layers trained (the rest stay as imported) and their weights. */
  layers: z.array(z.string()),
  tail: tunedTailSchema,
  loss: z.string(),
  target: z.string(),
  options: z.object({
    chunkFrames: z.number().int(),
    epochs: z.number().int(),
    patience: z.number().int(),
    learningRate: z.number(),
    normalisationLearningRate: z.number(),
    batchChunks: z.number().int(),
    seed: z.number().int(),
  }),
  trainVideos: z.array(z.string()),
  validationVideos: z.array(z.string()),
  bestEpoch: z.number().int(),
  curve: z.array(
    z.object({ epoch: z.number().int(), trainLoss: z.number(), validationLoss: z.number().nullable() }),
  ),
  trainChunks: z.number().int(),
  validationChunks: z.number().int(),
  framesPerS: z.number(),
  device: z.string(),
});
export type TunedNetwork = z.infer<typeof tunedNetworkSchema>;
