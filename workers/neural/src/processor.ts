import {
  addresses,
  artifactKeys,
  decodeFacesShard,
  encodePulseShard,
  type NeuralJobResult,
  type NeuralModel,
} from "@hrpipe/contracts";
import { cropSequence } from "@hrpipe/face";
import { type NetworkSession, networkOutputs, networkTailShape } from "@hrpipe/model";
import { BadInputError, type Logger, readNeuralModel, type Storage } from "@hrpipe/runtime";

export interface NeuralJobInput {
  participant: string;
  videoId: string;
  facesKeys: string[];
  frameCount: number;
  fps: number;
  model: { name: string; hash: string };
}

export interface NeuralJobContext {
  storage: Storage;
  /** The network's session, made once per model by the worker (NetworkSessions). */
  session: (model: NeuralModel) => Promise<NetworkSession>;
  logger?: Logger;
}

/**
 * One imported network over one video: the faces shards' crops joined in frame order, resized to the
 * network's input (each shard's first frame a cut: its face box was found afresh, and the jump between
 * two boxes is not a pulse), run in overlapping clips (networkOutputs: no frame is lost at a clip's edge), and
 * its pulse and tail activations for every frame written under a content address of the faces and
 * the weights, so another run over the same faces with the same network reads them back.
 */
export async function processNeuralJob(
  input: NeuralJobInput,
  context: NeuralJobContext,
): Promise<NeuralJobResult> {
  const { storage } = context;
  const hash = addresses.pulses({ facesKeys: input.facesKeys, modelHash: input.model.hash });
  const pulseKey = artifactKeys.pulse(hash, input.participant, input.videoId);
  const identity = {
    participant: input.participant,
    videoId: input.videoId,
    model: input.model.name,
    pulseKey,
  };
  if (await storage.exists(pulseKey))
    return { ...identity, frames: input.frameCount, executionProvider: "none", reused: true };
  const model = await readNeuralModel(storage, input.model.hash);
  const shards = [];
  for (const key of input.facesKeys) shards.push(decodeFacesShard(await storage.get(key), key));
  const side = shards[0]!.cropSize;
  const count = shards.reduce((sum, shard) => sum + shard.frameIndex.length, 0);
  const images = new Uint8Array(count * side * side * 3);
  const frameIndex = new Int32Array(count);
  // Each faces shard was followed from a fresh detection: its first frame does not continue the last.
  const segmentStarts: number[] = [];
  let row = 0;
  for (const shard of shards) {
    images.set(shard.images, row * side * side * 3);
    frameIndex.set(shard.frameIndex, row);
    if (row > 0 && shard.frameIndex.length > 0) segmentStarts.push(shard.frameIndex[0]!);
    row += shard.frameIndex.length;
  }
  const { frames: clip, size } = model.input;
  if (input.frameCount < clip)
    throw new BadInputError(
      `${input.participant}/${input.videoId}: ${input.frameCount} frames is shorter than one ${clip}-frame clip of ${model.name}; the video is left out of its estimates.`,
    );
  const session = await context.session(model);
  const started = performance.now();
  const sequence = cropSequence({ images, frameIndex, side }, input.frameCount, size, segmentStarts);
  const outputs = (await networkOutputs(session, sequence.frames, input.frameCount, model.input, {
    cuts: sequence.cuts,
  }))!;
  const faceFound = new Uint8Array(input.frameCount);
  for (const frame of frameIndex) faceFound[frame] = 1;
  await storage.put(
    pulseKey,
    encodePulseShard(
      {
        pulse: Float32Array.from(outputs.pulse),
        faceFound,
        activations: outputs.activations ? Float32Array.from(outputs.activations.data) : null,
        ...networkTailShape(model.architecture, size),
      },
      { model: model.name, modelHash: model.hash, participant: input.participant, videoId: input.videoId },
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  context.logger?.info(
    { model: model.name, frames: input.frameCount, framesPerS: Math.round(input.frameCount / seconds) },
    "pulse written",
  );
  return {
    ...identity,
    frames: input.frameCount,
    executionProvider: session.executionProvider,
    reused: false,
  };
}
