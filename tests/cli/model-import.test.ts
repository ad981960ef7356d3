import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeSafetensors, encodeSafetensors, tensor } from "@hrpipe/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ubfcClips } from "../harness/ubfc-clips.ts";
import { runCli } from "./run-cli.ts";

const shared = path.resolve(import.meta.dirname, "../../../shared");
const pure = path.join(shared, "models/rppg-toolbox/PURE_PhysNet_DiffNormalized.pth");
const fixture = path.join(shared, "fixtures/rppg-toolbox-neural/subject3-first-256-frames.safetensors");

describe("hrpipe model import, list and run", () => {
  let dir: string;
  let storage: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-model-"));
    storage = `file://${path.join(dir, "store")}`;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("imports rPPG-Toolbox's PURE PhysNet, lists it with its provenance, and runs it as PyTorch does", async () => {
    const imported = await runCli([
      ...["model", "import", pure, "--arch", "physnet", "--name", "physnet-pure"],
      ...["--trained-on", "PURE", "--storage", storage],
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(
      /^imported physnet-pure: physnet, 68 tensors, 769,825 parameters, input \[N, 3, 128, 72, 72\]/,
    );

    const listed = await runCli(["model", "list", "--json", "--storage", storage]);
    expect(listed.code, listed.stderr).toBe(0);
    const [model] = JSON.parse(listed.stdout) as {
      name: string;
      trainedOn: string;
      source: { file: string; sha256: string };
    }[];
    expect(model).toMatchObject({
      name: "physnet-pure",
      trainedOn: "PURE",
      source: { file: "PURE_PhysNet_DiffNormalized.pth" },
    });
    expect(model!.source.sha256).toMatch(/^[0-9a-f]{64}$/);

    const clips = decodeSafetensors(await readFile(fixture));
    const input = path.join(dir, "input.safetensors");
    await writeFile(input, encodeSafetensors({ input: clips.tensors.input! }));
    const out = path.join(dir, "output.safetensors");
    const run = await runCli([
      ...["model", "run", "--model", "physnet-pure", "--input", input, "--out", out, "--storage", storage],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const output = decodeSafetensors(await readFile(out)).tensors.output!;
    expect(output.shape).toEqual([2, 128]);
    const want = clips.tensors.output_PURE_PhysNet_DiffNormalized!.data as Float32Array;
    const got = output.data as Float32Array;
    expect(Math.max(...Array.from(want, (w, i) => Math.abs(w - got[i]!)))).toBeLessThanOrEqual(1e-4);
  }, 120_000);

  it("imports rPPG-Toolbox's PURE FactorizePhys: DataParallel's names read, its training-only FSAM left out", async () => {
    const imported = await runCli([
      ...["model", "import", path.join(shared, "models/rppg-toolbox/PURE_FactorizePhys_FSAM_Res.pth")],
      ...[
        "--arch",
        "factorizephys",
        "--name",
        "factorizephys-pure",
        "--trained-on",
        "PURE",
        "--storage",
        storage,
      ],
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(
      /^imported factorizephys-pure: factorizephys, 12 tensors, 51,\d{3} parameters, input \[N, 3, 160, 72, 72\] frame-differences/,
    );
  }, 60_000);

  it("hrpipe rppg measures a video with imported networks beside the methods, through the same windows", async () => {
    const clip = path.join(dir, "clip");
    await ubfcClips(clip, ["subject3"], 16, { videosOnly: true });
    const out = path.join(dir, "rppg.json");
    const result = await runCli(
      ["rppg", path.join(clip, "subject3", "vid.mp4"), "--skin-area", "box", "--out", out],
      { STORAGE_URL: storage },
    );
    expect(result.code, result.stderr).toBe(0);
    const { methods } = JSON.parse(await readFile(out, "utf8")) as {
      methods: Record<string, { hrBpm: number | null; windows: { startS: number }[] }>;
    };
    expect(Object.keys(methods)).toEqual([
      "pos",
      "chrom",
      "omit",
      "lgi",
      "pbv",
      "ica",
      "green",
      "factorizephys-pure",
      "physnet-pure",
    ]);
    for (const network of ["factorizephys-pure", "physnet-pure"]) {
      expect(methods[network]!.hrBpm).toBeGreaterThan(40);
      expect(methods[network]!.hrBpm).toBeLessThan(180);
      expect(methods[network]!.windows.map((w) => w.startS)).toEqual(
        methods.pos!.windows.map((w) => w.startS),
      );
      expect(result.stdout).toMatch(new RegExp(`^${network} +\\d+\\.\\d bpm`, "m"));
    }
  }, 120_000);

  it("refuses an unknown architecture, a bad name and a wrongly shaped input, each in one sentence (exit 2)", async () => {
    const arch = await runCli(["model", "import", pure, "--arch", "physformer", "--storage", storage]);
    expect(arch.code).toBe(2);
    expect(arch.stderr).toContain(
      "--arch physformer is not an architecture hrpipe builds; choose one of physnet, factorizephys.",
    );
    const name = await runCli([
      "model",
      "import",
      pure,
      "--arch",
      "physnet",
      "--name",
      "Bad Name",
      "--storage",
      storage,
    ]);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/--name Bad Name must be 1-63 lower-case letters/);
    const input = path.join(dir, "small.safetensors");
    await writeFile(
      input,
      encodeSafetensors({ input: tensor("F32", [1, 3, 64, 72, 72], new Float32Array(3 * 64 * 72 * 72)) }),
    );
    const run = await runCli([
      ...[
        "model",
        "run",
        "--model",
        "physnet-pure",
        "--input",
        input,
        "--out",
        path.join(dir, "o.st"),
        "--storage",
        storage,
      ],
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "must hold input F32 [N, 3, 128, 72, 72] for physnet-pure; it holds F32 [1, 3, 64, 72, 72].",
    );
    const unknown = await runCli([
      "model",
      "run",
      "--model",
      "nope",
      "--input",
      input,
      "--out",
      "x",
      "--storage",
      storage,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no model named nope in .*; hrpipe model list shows the installed ones\./);
  }, 120_000);

  it("refuses a model an older hrpipe imported, naming the import to do again", async () => {
    const old = `file://${path.join(dir, "old-store")}`;
    const imported = await runCli(["model", "import", pure, "--arch", "physnet", "--storage", old]);
    expect(imported.code, imported.stderr).toBe(0);
    const store = path.join(dir, "old-store");
    const { hash } = JSON.parse(
      await readFile(path.join(store, "models/names/pure-physnet-diffnormalized.json"), "utf8"),
    );
    const described = path.join(store, "models", hash, "model.json");
    // What a version-1 import wrote: a graph that gives the last layer's features, not the tail's activations.
    await writeFile(
      described,
      JSON.stringify({ ...JSON.parse(await readFile(described, "utf8")), version: 1 }),
    );
    const listed = await runCli(["model", "list", "--storage", old]);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(
      /model pure-physnet-diffnormalized was imported by an hrpipe whose graphs are version 1, this one needs 2; import its checkpoint again/,
    );
  }, 120_000);
});
