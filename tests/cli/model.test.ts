import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeSafetensors, getTensor } from "@hrpipe/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.ts";

const tiny = path.resolve(repoRoot, "../shared/fixtures/densenet-tiny");

describe("hrpipe model", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-model-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("embed reproduces torchvision's features for the tiny fixture within 1e-4 of the largest", async () => {
    const out = path.join(dir, "features.safetensors");
    const result = await runCli([
      "model",
      "embed",
      "--images",
      path.join(tiny, "inputs.safetensors"),
      "--out",
      out,
      "--weights",
      path.join(tiny, "weights.safetensors"),
      "--arch",
      path.join(tiny, "config.json"),
      "--batch",
      "3",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const features = decodeSafetensors(readFileSync(out));
    const expected = getTensor(
      decodeSafetensors(readFileSync(path.join(tiny, "expected.safetensors"))),
      "features",
      "F32",
      2,
    );
    const got = getTensor(features, "features", "F32", 2);
    expect(got.shape).toEqual(expected.shape);
    const scale = Math.max(...expected.data.map(Math.abs));
    expect(Math.max(...got.data.map((v, i) => Math.abs(v - expected.data[i]!)))).toBeLessThanOrEqual(
      1e-4 * scale,
    );
    expect(features.metadata).toMatchObject({ weights: "pretrained" });
  });

  it("says clearly when the weights do not match --arch", async () => {
    const result = await runCli([
      "model",
      "embed",
      "--images",
      path.join(tiny, "inputs.safetensors"),
      "--out",
      path.join(dir, "x.st"),
      "--weights",
      path.join(tiny, "weights.safetensors"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /tensor features\.conv0\.weight has shape \[16,3,7,7\] but the config needs \[96,3,7,7\]; check --arch/,
    );
  });
});
