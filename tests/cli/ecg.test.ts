import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./run-cli.ts";

const fixture = path.resolve(repoRoot, "../shared/fixtures/amigos-mat/Data_Preprocessed_P01.mat");

describe("hrpipe ecg", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(path.join(tmpdir(), "hrpipe-ecg-"));
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it("writes one labels file per trial and prints a summary table", async () => {
    const result = await runCli(["ecg", fixture, "--out", out, "--column", "14", "--label-window", "24"]);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      ".hrpipe-output.json",
      "P01_4.labels.json",
      "P01_5.labels.json",
      "P01_9.labels.json",
      "P01_N1.labels.json",
    ]);
    const n1 = JSON.parse(await readFile(path.join(out, "P01_N1.labels.json"), "utf8"));
    expect(n1).toMatchObject({ participant: "P01", videoId: "N1", fps: 25, windowS: 24, column: 14 });
    expect(n1.beatTimesS.length).toBeGreaterThan(30);
    expect(n1.hrBpm).toHaveLength(45 * 25);
    expect(result.stdout).toMatch(/trial\s+beats\s+mean HR\s+min HR\s+max HR\s+labelled/);
    expect(result.stdout).toMatch(/N1\s+36\s+50\.\d\s.*inverted/);
    expect(result.stdout).toMatch(/P01: 4 trials labelled, 0 excluded/);
  });

  it("refuses an --out folder holding a file it did not write, and deletes nothing", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "hrpipe-ecg-user-"));
    try {
      await writeFile(path.join(folder, "thesis.tex"), "my work");
      const result = await runCli(["ecg", fixture, "--out", folder]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toMatch(
        /^hrpipe: --out .* already holds files hrpipe did not write \(thesis\.tex\); .*--force/,
      );
      expect(await readdir(folder)).toEqual(["thesis.tex"]);
      const forced = await runCli(["ecg", fixture, "--out", folder, "--force"]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(await readFile(path.join(folder, "thesis.tex"), "utf8")).toBe("my work");
      expect(await readdir(folder)).toHaveLength(6);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("rejects a file that is not a MAT-file with one sentence and a non-zero exit", async () => {
    const result = await runCli([
      "ecg",
      path.join(repoRoot, "package.json"),
      "--out",
      out,
      "--participant",
      "P03",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^hrpipe: .*package\.json is not a readable MAT-file: /);
  });
});
