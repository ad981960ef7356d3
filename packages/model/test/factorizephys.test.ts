import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeSafetensors } from "@hrpipe/contracts";
import { tailPulse } from "@hrpipe/signal";
import { describe, expect, it } from "vitest";
import { importedTail } from "../src/network-tail.ts";
import { importCheckpoint, NetworkSession, videoClips } from "../src/neural.ts";

const shared = path.resolve(import.meta.dirname, "../../../../shared");
const checkpoint = (name: string) => readFileSync(path.join(shared, "models/rppg-toolbox", `${name}.pth`));
const crops = decodeSafetensors(
  readFileSync(path.join(shared, "fixtures/rppg-toolbox-neural/subject3-first-256-frames.safetensors")),
).tensors.crops!;
/** PyTorch's outputs of the toolbox's FactorizePhys on two clips of those crops (fixtures/factorizephys-outputs.py). */
const reference = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "fixtures/factorizephys-subject3.json"), "utf8"),
) as { clipStarts: number[]; frames: number; outputs: Record<string, number[][]> };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

describe("FactorizePhys imported from rPPG-Toolbox's checkpoints, run in ONNX Runtime", () => {
  const { clipStarts, frames } = reference;
  const [, size] = crops.shape as [number, number];
  const spec = { frames, size, normalisation: "frame-differences" } as const;
  /** Each clip's own frame differences, its last zero: the toolbox repeats a clip's last frame. */
  const clipInput = () => {
    const clipValues = 3 * frames * size * size;
    const input = new Float32Array(clipStarts.length * clipValues);
    clipStarts.forEach((start, i) => {
      const pixels = size * size * 3;
      const own = (crops.data as Uint8Array).subarray(start * pixels, (start + frames) * pixels);
      videoClips(own, frames, spec)([0], input.subarray(i * clipValues));
    });
    return input;
  };

  for (const name of ["PURE_FactorizePhys_FSAM_Res", "SCAMPS_FactorizePhys_FSAM_Res"]) {
    it(`${name}: ONNX Runtime's pulse equals PyTorch's on two 160-frame clips (max abs error <= 1e-4)`, async () => {
      const network = importCheckpoint(checkpoint(name), `${name}.pth`, "factorizephys");
      // The inference network's 12 convolutions; the FSAM module's 4 tensors are training-only.
      expect(Object.keys(network.weights)).toHaveLength(12);
      expect(network.input).toEqual({ frames: 160, size: 72, normalisation: "frame-differences" });
      const session = await NetworkSession.create(network.graph);
      const output = await session.run(clipInput(), [clipStarts.length, 3, frames, size, size]);
      await session.release();
      expect(output.shape).toEqual([2, 160]);
      expect(maxAbsDiff(output.data, reference.outputs[name]!.flat())).toBeLessThanOrEqual(1e-4);
      // The last block's activations, through the imported last layer, give the pulse: what fine-tuning trains on.
      const rows = 8 * 9;
      expect(output.activations!.shape).toEqual([2, rows, 160]);
      const tail = importedTail("factorizephys", network.weights);
      for (let clip = 0; clip < 2; clip++) {
        const perFrame = new Float32Array(160 * rows);
        for (let row = 0; row < rows; row++)
          for (let t = 0; t < 160; t++)
            perFrame[t * rows + row] = output.activations!.data[(clip * rows + row) * 160 + t]!;
        expect(
          maxAbsDiff(tailPulse(perFrame, 9, tail), output.data.subarray(clip * 160, (clip + 1) * 160)),
        ).toBeLessThanOrEqual(1e-5);
      }
    }, 60_000);
  }

  it("is refused as PhysNet, and PhysNet as FactorizePhys, naming a missing tensor", () => {
    expect(() =>
      importCheckpoint(checkpoint("PURE_PhysNet_DiffNormalized"), "p.pth", "factorizephys"),
    ).toThrow(
      /^p\.pth lacks tensor rppg_feature_extractor\.FeatureExtractor\.0\.conv_block_3d\.0\.weight of factorizephys/,
    );
  });

  it("takes the frames' differences in pixel levels, zero into a cut and at the last frame", () => {
    // Three 1x1 frames: 10, 14, 5 in red, twice that in green and blue; frame 2 starts a new face segment.
    const three = Uint8Array.from([10, 20, 20, 14, 28, 28, 5, 10, 10]);
    const differences = (cuts: number[]) => {
      const out = new Float32Array(9);
      videoClips(three, 3, { frames: 3, size: 1, normalisation: "frame-differences" }, cuts)([0], out);
      return [...out];
    };
    // Channel planes: red's three frames, then green's, then blue's.
    expect(differences([])).toEqual([4, -9, 0, 8, -18, 0, 8, -18, 0]);
    expect(differences([2])).toEqual([4, 0, 0, 8, 0, 0, 8, 0, 0]);
  });
});
