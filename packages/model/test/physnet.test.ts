import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeSafetensors } from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { clipsOf, diffNormalized, importCheckpoint, NetworkSession, networkOutputs } from "../src/neural.ts";
import { CheckpointError, readTorchCheckpoint } from "../src/torch/checkpoint.ts";

const shared = path.resolve(import.meta.dirname, "../../../../shared");
const checkpoint = (name: string) => readFileSync(path.join(shared, "models/rppg-toolbox", `${name}.pth`));
const fixture = decodeSafetensors(
  readFileSync(path.join(shared, "fixtures/rppg-toolbox-neural/subject3-first-256-frames.safetensors")),
);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

describe("PhysNet imported from rPPG-Toolbox's checkpoints, run in ONNX Runtime", () => {
  for (const name of ["PURE_PhysNet_DiffNormalized", "SCAMPS_PhysNet_DiffNormalized"]) {
    it(`${name}: ONNX Runtime's pulse equals PyTorch's on the fixture's clips (max abs error <= 1e-4)`, async () => {
      const network = importCheckpoint(checkpoint(name), `${name}.pth`, "physnet");
      const session = await NetworkSession.create(network.graph);
      const input = fixture.tensors.input!;
      const output = await session.run(input.data as Float32Array, input.shape);
      await session.release();
      expect(output.shape).toEqual([2, 128]);
      expect(
        maxAbsDiff(output.data, fixture.tensors[`output_${name}`]!.data as Float32Array),
      ).toBeLessThanOrEqual(1e-4);
      // The last layer's features, weighed by its weights, give the pulse: what fine-tuning it trains on.
      expect(output.features!.shape).toEqual([2, 64, 128]);
      const weight = network.weights["ConvBlock10.weight"]!.data as Float32Array;
      const bias = (network.weights["ConvBlock10.bias"]!.data as Float32Array)[0]!;
      const weighed = output.data.map((_, i) => {
        const [clip, t] = [Math.floor(i / 128), i % 128];
        let sum = bias;
        for (let c = 0; c < 64; c++) sum += weight[c]! * output.features!.data[(clip * 64 + c) * 128 + t]!;
        return sum;
      });
      expect(maxAbsDiff(weighed, output.data)).toBeLessThanOrEqual(1e-5);
    }, 60_000);
  }

  it("makes the fixture's DiffNormalized input from its crops (max abs error <= 1e-5)", () => {
    const crops = fixture.tensors.crops!;
    const [frames, size] = crops.shape as [number, number];
    const input = clipsOf(diffNormalized(crops.data as Uint8Array, frames, size), [0, 128], 128, size);
    expect(maxAbsDiff(input, fixture.tensors.input!.data as Float32Array)).toBeLessThanOrEqual(1e-5);
  });
});

describe("a checkpoint that is not the architecture it is imported as", () => {
  const pure = () => new Uint8Array(checkpoint("PURE_PhysNet_DiffNormalized"));
  /** The checkpoint with `from` replaced by `to` (same length) at its first occurrence at or after `after`. */
  const doctored = (from: number[], to: number[], after = 0) => {
    const bytes = pure();
    const at = Buffer.from(bytes).indexOf(Buffer.from(from), after);
    expect(at, "the pattern to doctor").toBeGreaterThanOrEqual(0);
    bytes.set(to, at);
    return bytes;
  };
  const text = (s: string) => [...Buffer.from(s)];

  it("is refused naming a missing tensor", () => {
    const bytes = doctored(text("ConvBlock10.bias"), text("ConvBlock10.bjas"));
    expect(() => importCheckpoint(bytes, "doctored.pth", "physnet")).toThrow(
      "doctored.pth lacks tensor ConvBlock10.bias of physnet; is it a physnet checkpoint?",
    );
  });

  it("is refused naming a tensor physnet does not have", () => {
    const bytes = doctored(
      text("ConvBlock1.1.num_batches_tracked"),
      text("ConvBlock1.1.num_batches_trackeX"),
    );
    expect(() => importCheckpoint(bytes, "doctored.pth", "physnet")).toThrow(
      "doctored.pth holds tensor ConvBlock1.1.num_batches_trackeX that physnet does not have; is it another architecture?",
    );
  });

  it("is refused naming a tensor of the wrong shape", () => {
    const key = Buffer.from(pure()).indexOf(Buffer.from("ConvBlock10.weight"));
    // Its shape (1, 64, 1, 1, 1) as BININT1 opcodes, read as (1, 32, 1, 1, 1).
    const bytes = doctored(
      [0x4b, 1, 0x4b, 64, 0x4b, 1, 0x4b, 1, 0x4b, 1],
      [0x4b, 1, 0x4b, 32, 0x4b, 1, 0x4b, 1, 0x4b, 1],
      key,
    );
    expect(() => importCheckpoint(bytes, "doctored.pth", "physnet")).toThrow(
      "doctored.pth: tensor ConvBlock10.weight is F32 [1, 32, 1, 1, 1], physnet needs F32 [1, 64, 1, 1, 1].",
    );
  });

  it("is refused as another architecture (FactorizePhys as physnet), and an unknown architecture names the known", () => {
    expect(() => importCheckpoint(checkpoint("PURE_FactorizePhys_FSAM_Res"), "f.pth", "physnet")).toThrow(
      /^f\.pth lacks tensor ConvBlock1\.0\.weight of physnet/,
    );
    expect(() => importCheckpoint(pure(), "p.pth", "physformer")).toThrow(
      "--arch physformer is not an architecture hrpipe builds; choose one of physnet.",
    );
  });

  it("is refused with the file named when it is no checkpoint at all", () => {
    expect(() => readTorchCheckpoint(Buffer.from("not a zip"), "notes.pth")).toThrow(CheckpointError);
    expect(() => readTorchCheckpoint(Buffer.from("not a zip"), "notes.pth")).toThrow(
      /^notes\.pth is not a readable ZIP archive/,
    );
  });
});

describe("a network's pulse over a whole video", () => {
  /** A stand-in network whose output for frame t of a clip is the clip's first input value at t: the frame's own. */
  const echo = {
    run: async (input: Float32Array, shape: number[]) => {
      const [clips, , frames, height, width] = shape as [number, number, number, number, number];
      const data = new Float32Array(clips * frames);
      for (let c = 0; c < clips; c++)
        for (let t = 0; t < frames; t++) data[c * frames + t] = input[(c * 3 * frames + t) * height * width]!;
      // Two feature channels: the echo and its double.
      const features = new Float32Array(clips * 2 * frames);
      for (let c = 0; c < clips; c++)
        for (let t = 0; t < frames; t++) {
          features[(c * 2 + 0) * frames + t] = data[c * frames + t]!;
          features[(c * 2 + 1) * frames + t] = 2 * data[c * frames + t]!;
        }
      return { data, shape: [clips, frames], features: { data: features, shape: [clips, 2, frames] } };
    },
  } as unknown as NetworkSession;

  it("covers every frame with overlapping clips, the last ending at the last frame, and blends them", async () => {
    const frames = 300;
    const size = 2;
    const crops = new Uint8Array(frames * size * size * 3);
    for (let f = 0; f < frames; f++)
      crops.fill(100 + (f % 7) * 10, f * size * size * 3, (f + 1) * size * size * 3);
    const { pulse, features } = (await networkOutputs(echo, crops, frames, { frames: 128, size }))!;
    expect(pulse).toHaveLength(frames);
    // Every clip covering a frame echoes its normalised difference, so the blend gives it back.
    const normalised = diffNormalized(crops, frames, size);
    for (let f = 0; f < frames; f++) {
      expect(pulse[f], `frame ${f}`).toBeCloseTo(normalised[f * size * size * 3]!, 5);
      // The features are blended with the same weights, frame by frame.
      expect(features!.data[f * 2], `frame ${f}`).toBeCloseTo(pulse[f]!, 5);
      expect(features!.data[f * 2 + 1], `frame ${f}`).toBeCloseTo(2 * pulse[f]!, 5);
    }
    expect(features!.channels).toBe(2);
    expect(pulse[frames - 1]).toBe(0);
    expect(
      await networkOutputs(echo, crops.subarray(0, 100 * size * size * 3), 100, { frames: 128, size }),
    ).toBeUndefined();
  });
});
