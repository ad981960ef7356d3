import { availableParallelism } from "node:os";
import {
  type NeuralArchitecture,
  type NeuralInputNormalisation,
  neuralArchitectures,
  type TensorMap,
  tensor,
} from "@hrpipe/contracts";
import * as ort from "onnxruntime-node";
import {
  buildFactorizePhysGraph,
  factorizephysDefaults,
  factorizephysTailChannels,
  factorizephysTailPositions,
  factorizephysTensors,
  factorizephysTrainingOnly,
} from "./factorizephys.ts";
import { encodeOnnxModel, type OnnxModel } from "./onnx/graph.ts";
import { cudaProviderInstalled } from "./onnx-runtime.ts";
import {
  buildPhysNetGraph,
  ignoredTensor,
  physnetDefaults,
  physnetTailChannels,
  physnetTailPositions,
  physnetTensors,
} from "./physnet.ts";
import { type CheckpointTensor, readTorchCheckpoint } from "./torch/checkpoint.ts";

/** A checkpoint that does not fit the architecture it was imported as; the message names the tensor. */
export class NeuralImportError extends Error {
  override name = "NeuralImportError";
}

/** What hrpipe knows of each architecture: its tensors, its graph and the clip it takes. */
interface ArchitectureSpec {
  tensors(): { name: string; shape: number[] }[];
  /** Tensors a checkpoint may hold that training used and inference does not (left out of the import). */
  trainingOnly?: RegExp;
  build(weights: Map<string, CheckpointTensor>): OnnxModel;
  input: { frames: number; size: number; normalisation: NeuralInputNormalisation };
  /** The activations its graph gives for the tail (`activations`): channels and positions at an input size. */
  tail(size: number): { channels: number; positions: number };
}

const architectures: Record<NeuralArchitecture, ArchitectureSpec> = {
  physnet: {
    tensors: physnetTensors,
    build: (weights) => buildPhysNetGraph(weights),
    input: { ...physnetDefaults, normalisation: "diff-normalized" },
    tail: (size) => ({ channels: physnetTailChannels, positions: physnetTailPositions(size) }),
  },
  factorizephys: {
    tensors: factorizephysTensors,
    trainingOnly: factorizephysTrainingOnly,
    build: (weights) => buildFactorizePhysGraph(weights),
    input: { ...factorizephysDefaults, normalisation: "frame-differences" },
    tail: () => ({ channels: factorizephysTailChannels, positions: factorizephysTailPositions }),
  },
};

/** The shape of the tail activations a network's graph gives per frame. */
export function networkTailShape(
  architecture: NeuralArchitecture,
  size: number,
): { channels: number; positions: number } {
  return architectures[architecture].tail(size);
}

export interface ImportedNetwork {
  architecture: NeuralArchitecture;
  input: ArchitectureSpec["input"];
  /** The checkpoint's weights, by the state_dict's names, as safetensors holds them. */
  weights: TensorMap;
  /** The ONNX graph with the weights inside. */
  graph: Uint8Array;
  parameters: number;
}

/**
 * Reads a PyTorch checkpoint as the given architecture: every tensor it needs must be there with its
 * shape, and no other (BatchNorm's num_batches_tracked and the architecture's training-only tensors
 * aside); then its ONNX graph is built. A checkpoint saved from a model wrapped in DataParallel (rPPG-Toolbox's
 * FactorizePhys) has every name under `module.`; the names are read without it.
 */
export function importCheckpoint(bytes: Uint8Array, file: string, architecture: string): ImportedNetwork {
  if (!neuralArchitectures.includes(architecture as NeuralArchitecture))
    throw new NeuralImportError(
      `--arch ${architecture} is not an architecture hrpipe builds; choose one of ${neuralArchitectures.join(", ")}.`,
    );
  const spec = architectures[architecture as NeuralArchitecture];
  const saved = readTorchCheckpoint(bytes, file);
  const wrapped = [...saved.keys()].every((name) => name.startsWith("module."));
  const checkpoint = wrapped
    ? new Map([...saved].map(([name, value]) => [name.slice("module.".length), value]))
    : saved;
  const expected = spec.tensors();
  const weights = new Map<string, CheckpointTensor>();
  for (const { name, shape } of expected) {
    const found = checkpoint.get(name);
    if (!found)
      throw new NeuralImportError(
        `${file} lacks tensor ${name} of ${architecture}; is it a ${architecture} checkpoint?`,
      );
    if (found.dtype !== "F32" || found.shape.join(",") !== shape.join(","))
      throw new NeuralImportError(
        `${file}: tensor ${name} is ${found.dtype} [${found.shape.join(", ")}], ${architecture} needs F32 [${shape.join(", ")}].`,
      );
    weights.set(name, found);
  }
  const known = new Set(expected.map((t) => t.name));
  const extra = [...checkpoint.keys()].filter(
    (name) => !known.has(name) && !ignoredTensor.test(name) && !spec.trainingOnly?.test(name),
  );
  if (extra.length > 0)
    throw new NeuralImportError(
      `${file} holds tensor${extra.length > 1 ? "s" : ""} ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? ", ..." : ""} that ${architecture} does not have; is it another architecture?`,
    );
  const tensors: TensorMap = {};
  let parameters = 0;
  for (const [name, value] of weights) {
    tensors[name] = tensor("F32", value.shape, value.data as Float32Array);
    parameters += value.data.length;
  }
  return {
    architecture: architecture as NeuralArchitecture,
    input: spec.input,
    weights: tensors,
    graph: encodeOnnxModel(spec.build(weights), architecture),
    parameters,
  };
}

/** A network's clip: its length, the crops' side and how crops become its input. */
export type NetworkInputSpec = { frames: number; size: number; normalisation: NeuralInputNormalisation };

/** rPPG-Toolbox's DiffNormalized difference of a pixel from one frame (a) to the next (b), before its scaling. */
const relativeDifference = (a: number, b: number) => (b - a) / (b + a + 1e-7);

/** Writes the clips that start at these frames, [starts.length, 3, clip frames, size, size], into `out` from its start. */
export type ClipWriter = (starts: readonly number[], out: Float32Array) => void;

/**
 * A network's input clips over a whole video's face crops [frames, size, size, 3] (u8): each frame's
 * difference to the next, pixel by pixel, in NCDHW order. For `diff-normalized` (rPPG-Toolbox's
 * DiffNormalized, PhysNet's input) each is (x[t+1] - x[t]) / (x[t+1] + x[t] + 1e-7), divided by their
 * standard deviation over the whole video; for `frame-differences` (FactorizePhys's first step) it is
 * x[t+1] - x[t] in pixel levels. The video's last frame has no next one: zero. `cuts` are frames whose
 * crop does not continue the one before (a face found again, a new segment's own face box): the
 * difference into them is not a pulse but a jump, so it is zero and not counted. Clips are written
 * straight from the crops into the caller's buffer: a video-long copy of the differences, fresh
 * memory every video, cost more in page faults here than the network's own work.
 */
export function videoClips(
  crops: Uint8Array,
  frames: number,
  input: NetworkInputSpec,
  cuts: readonly number[] = [],
): ClipWriter {
  const { size, frames: clipFrames, normalisation } = input;
  const plane = size * size;
  const pixels = plane * 3;
  if (crops.length !== frames * pixels)
    throw new Error(`network input: ${crops.length} bytes are not ${frames} crops of ${size}x${size}x3.`);
  const jumps = new Set(cuts);
  const counted = (frame: number) => frame + 1 < frames && !jumps.has(frame + 1);
  const relative = normalisation === "diff-normalized";
  let scale = 1;
  if (relative) {
    let [sum, squares, count] = [0, 0, 0];
    for (let frame = 0; frame + 1 < frames; frame++) {
      if (!counted(frame)) continue;
      for (let i = frame * pixels, end = i + pixels; i < end; i++) {
        const d = relativeDifference(crops[i]!, crops[i + pixels]!);
        sum += d;
        squares += d * d;
      }
      count += pixels;
    }
    const mean = sum / (count || 1);
    scale = 1 / (Math.sqrt(Math.max(0, squares / (count || 1) - mean * mean)) || 1);
  }
  const channelStride = clipFrames * plane;
  return (starts, out) => {
    starts.forEach((start, clip) => {
      for (let t = 0; t < clipFrames; t++) {
        const frame = start + t;
        for (let c = 0; c < 3; c++) {
          const to = clip * 3 * channelStride + c * channelStride + t * plane;
          if (!counted(frame)) {
            out.fill(0, to, to + plane);
            continue;
          }
          // One channel at a time, the branch outside the loops: these loops are the stage's own work.
          const from = frame * pixels + c;
          if (relative)
            for (let p = 0, i = from; p < plane; p++, i += 3)
              out[to + p] = relativeDifference(crops[i]!, crops[i + pixels]!) * scale;
          else for (let p = 0, i = from; p < plane; p++, i += 3) out[to + p] = crops[i + pixels]! - crops[i]!;
        }
      }
    });
  };
}

/** A network's outputs over a whole video, one row per frame. */
export interface VideoNetworkOutputs {
  pulse: Float64Array;
  /** [frames, rows]: the activations the network's tail turns into the pulse, where the graph gives them (PhysNet). */
  activations?: { data: Float64Array; rows: number };
}

/**
 * Clip batch buffers of finished videos, by length, kept for the next video: a fresh 40-MB buffer
 * cost about 150 ms of page faults on this project's 2-core machines, more than the clips' own
 * arithmetic. At most one is kept for each video a process ran at once.
 */
const spareBatchBuffers = new Map<number, Float32Array[]>();

/**
 * Where a video's clips start: in every stretch of continuing crops (from a cut to the next) at least a
 * clip long, a clip every half clip from its first frame, the last ending at its last frame, so that
 * no clip holds a cut (a face job's fresh box moves every crop; a network whose clip straddles that
 * sees the face jump); a shorter stretch gets one clip centred on it, within the video.
 */
export function clipStarts(frames: number, clip: number, cuts: readonly number[] = []): number[] {
  const hop = clip / 2;
  const bounds = [0, ...cuts.filter((cut) => cut > 0 && cut < frames), frames];
  const starts = new Set<number>();
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [from, to] = [bounds[i]!, bounds[i + 1]!];
    if (to - from < clip) {
      starts.add(Math.max(0, Math.min(frames - clip, Math.round((from + to - clip) / 2))));
      continue;
    }
    for (let start = from; start + clip < to; start += hop) starts.add(start);
    starts.add(to - clip);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * A network's pulse over a whole video's crops [frames, size, size, 3] at its input size, in clips of
 * its length (clipStarts: every half clip, none across a cut where the stretch allows), so that every
 * frame is seen away from a clip's edge; the clips' outputs are blended with triangular weights that
 * vanish at their edges. The tail's activations are blended alike (the tail of blended activations gives the blended
 * pulse within 0.01 bpm on the development videos). Undefined for a video shorter than one clip.
 */
export async function networkOutputs(
  session: NetworkSession,
  crops: Uint8Array,
  frames: number,
  input: NetworkInputSpec,
  { cuts = [], batch = 4 }: { cuts?: readonly number[]; batch?: number } = {},
): Promise<VideoNetworkOutputs | undefined> {
  const clip = input.frames;
  if (frames < clip) return undefined;
  const starts = clipStarts(frames, clip, cuts);
  const writeClips = videoClips(crops, frames, input, cuts);
  const clipValues = 3 * clip * input.size * input.size;
  const bufferLength = Math.min(batch, starts.length) * clipValues;
  const buffer = spareBatchBuffers.get(bufferLength)?.pop() ?? new Float32Array(bufferLength);
  const sum = new Float64Array(frames);
  const weight = new Float64Array(frames);
  let activations: { data: Float64Array; rows: number } | undefined;
  try {
    for (let first = 0; first < starts.length; first += batch) {
      const group = starts.slice(first, first + batch);
      const clips = buffer.subarray(0, clipValues * group.length);
      writeClips(group, clips);
      const outputs = await session.run(clips, [group.length, 3, clip, input.size, input.size]);
      const rows = outputs.activations?.shape[1] ?? 0;
      if (outputs.activations) activations ??= { data: new Float64Array(frames * rows), rows };
      group.forEach((start, i) => {
        for (let t = 0; t < clip; t++) {
          // Triangular weights, never quite zero so that the video's first and last frames count.
          const w = 1 - Math.abs((t + 0.5) / clip - 0.5) * 2 + 1e-3;
          sum[start + t]! += w * outputs.data[i * clip + t]!;
          weight[start + t]! += w;
          for (let r = 0; r < rows; r++)
            activations!.data[(start + t) * rows + r]! +=
              w * outputs.activations!.data[(i * rows + r) * clip + t]!;
        }
      });
    }
  } finally {
    const spare = spareBatchBuffers.get(bufferLength);
    if (spare) spare.push(buffer);
    else spareBatchBuffers.set(bufferLength, [buffer]);
  }
  if (activations)
    for (let frame = 0; frame < frames; frame++)
      for (let r = 0; r < activations.rows; r++)
        activations.data[frame * activations.rows + r]! /= weight[frame]!;
  return { pulse: sum.map((v, i) => v / weight[i]!), ...(activations ? { activations } : {}) };
}

/** A network's clip outputs: the pulse [N, T] and, where the graph has them, its tail's activations [N, rows, T]. */
export interface ClipOutputs {
  data: Float32Array;
  shape: number[];
  activations?: { data: Float32Array; shape: number[] };
}

/**
 * An imported network's graph in an ONNX Runtime session: clips [N, 3, T, H, W] to pulses [N, T], on
 * the CUDA execution provider where it is installed, else on the CPU with a thread per core (ONNX
 * Runtime's default here used one: 411 frames/s where two threads gave 659 on 2 cores).
 */
export class NetworkSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The execution provider the session asked for first. */
    readonly executionProvider: string,
  ) {}

  static async create(graph: Uint8Array, executionProviders?: string[]): Promise<NetworkSession> {
    const wanted = executionProviders ?? (cudaProviderInstalled() ? ["cuda", "cpu"] : ["cpu"]);
    return new NetworkSession(
      await ort.InferenceSession.create(graph, { executionProviders: wanted, ...networkThreads }),
      wanted[0]!,
    );
  }

  async run(input: Float32Array, shape: number[]): Promise<ClipOutputs> {
    const { output, activations } = await this.session.run({
      input: new ort.Tensor("float32", input, shape),
    });
    return {
      data: output!.data as Float32Array,
      shape: [...output!.dims],
      ...(activations
        ? { activations: { data: activations.data as Float32Array, shape: [...activations.dims] } }
        : {}),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ONNX Runtime's threads for a network on the CPU: one per core. */
export const networkThreads = { intraOpNumThreads: availableParallelism() };

/** A process's network sessions, one per imported network, made on first use and released on close. */
export class NetworkSessions {
  private readonly sessions = new Map<string, Promise<NetworkSession>>();

  constructor(private readonly graphOf: (hash: string) => Promise<Uint8Array>) {}

  get(hash: string): Promise<NetworkSession> {
    let session = this.sessions.get(hash);
    if (!session) {
      session = this.graphOf(hash).then((graph) => NetworkSession.create(graph));
      // A failed build is not kept: the next job tries again.
      session.catch(() => this.sessions.delete(hash));
      this.sessions.set(hash, session);
    }
    return session;
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of await Promise.allSettled(sessions))
      if (session.status === "fulfilled") await session.value.release();
  }
}
