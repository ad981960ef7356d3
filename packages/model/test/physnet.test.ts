import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeSafetensors } from "@hrpipe/contracts";
import { tailPulse } from "@hrpipe/signal";
import { describe, expect, it } from "vitest";
import { importedTail } from "../src/network-tail.ts";
import { clipStarts, importCheckpoint, NetworkSession, networkOutputs, videoClips } from "../src/neural.ts";
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
      // The tail's activations, through the imported tail, give the pulse: what fine-tuning trains on.
      expect(output.activations!.shape).toEqual([2, 64 * 16, 128]);
      const tail = importedTail("physnet", network.weights);
      for (let clip = 0; clip < 2; clip++) {
        const perFrame = new Float32Array(128 * 64 * 16);
        for (let row = 0; row < 64 * 16; row++)
          for (let t = 0; t < 128; t++)
            perFrame[t * 64 * 16 + row] = output.activations!.data[(clip * 64 * 16 + row) * 128 + t]!;
        expect(
          maxAbsDiff(tailPulse(perFrame, 16, tail), output.data.subarray(clip * 128, (clip + 1) * 128)),
        ).toBeLessThanOrEqual(1e-5);
      }
    }, 60_000);
  }

  it("makes the fixture's DiffNormalized input from its crops (max abs error <= 1e-5)", () => {
    const crops = fixture.tensors.crops!;
    const [frames, size] = crops.shape as [number, number];
    const input = new Float32Array(2 * 3 * 128 * size * size);
    videoClips(crops.data as Uint8Array, frames, { frames: 128, size, normalisation: "diff-normalized" })(
      [0, 128],
      input,
    );
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
      "--arch physformer is not an architecture hrpipe builds; choose one of physnet, factorizephys.",
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
      // Two rows of activations: the echo and its double.
      const activations = new Float32Array(clips * 2 * frames);
      for (let c = 0; c < clips; c++)
        for (let t = 0; t < frames; t++) {
          activations[(c * 2 + 0) * frames + t] = data[c * frames + t]!;
          activations[(c * 2 + 1) * frames + t] = 2 * data[c * frames + t]!;
        }
      return {
        data,
        shape: [clips, frames],
        activations: { data: activations, shape: [clips, 2, frames] },
      };
    },
  } as unknown as NetworkSession;

  it("covers every frame with overlapping clips, the last ending at the last frame, and blends them", async () => {
    const frames = 300;
    const size = 2;
    const crops = new Uint8Array(frames * size * size * 3);
    for (let f = 0; f < frames; f++)
      crops.fill(100 + (f % 7) * 10, f * size * size * 3, (f + 1) * size * size * 3);
    const { pulse, activations } = (await networkOutputs(echo, crops, frames, {
      frames: 128,
      size,
      normalisation: "diff-normalized",
    }))!;
    expect(pulse).toHaveLength(frames);
    // Every clip covering a frame echoes its normalised difference, so the blend gives it back.
    // The whole video as one clip: each frame's DiffNormalized value at channel 0, pixel 0.
    const normalised = new Float32Array(3 * frames * size * size);
    videoClips(crops, frames, { frames, size, normalisation: "diff-normalized" })([0], normalised);
    for (let f = 0; f < frames; f++) {
      expect(pulse[f], `frame ${f}`).toBeCloseTo(normalised[f * size * size]!, 5);
      // The activations are blended with the same weights, frame by frame.
      expect(activations!.data[f * 2], `frame ${f}`).toBeCloseTo(pulse[f]!, 5);
      expect(activations!.data[f * 2 + 1], `frame ${f}`).toBeCloseTo(2 * pulse[f]!, 5);
    }
    expect(activations!.rows).toBe(2);
    expect(pulse[frames - 1]).toBe(0);
    expect(
      await networkOutputs(echo, crops.subarray(0, 100 * size * size * 3), 100, {
        frames: 128,
        size,
        normalisation: "diff-normalized",
      }),
    ).toBeUndefined();
  });

  it("starts clips every half clip within each stretch between cuts, none across a cut where it fits", () => {
    expect(clipStarts(300, 128)).toEqual([0, 64, 128, 172]);
    // Three 10-s face segments of a 30-fps video: each is its own run of clips.
    expect(clipStarts(900, 160, [300, 600])).toEqual([0, 80, 140, 300, 380, 440, 600, 680, 740]);
    // A stretch shorter than a clip (frames 300-399) gets one clip centred on it; at the end, within the video.
    expect(clipStarts(1000, 160, [300, 400])).toEqual([0, 80, 140, 270, 400, 480, 560, 640, 720, 800, 840]);
    expect(clipStarts(700, 160, [300, 600])).toEqual([0, 80, 140, 300, 380, 440, 540]);
  });
});
