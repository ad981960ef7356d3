import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.ts";

/** `hrpipe run --out` never deletes what hrpipe did not write; both refusals come before any work. */
describe("hrpipe run --out", () => {
  let root: string;
  let dataset: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-run-out-"));
    dataset = path.join(root, "my videos");
    await mkdir(dataset);
    await writeFile(path.join(dataset, "clip.mp4"), "not really a video");
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("refuses the input folder itself, and the folder keeps its files", async () => {
    const result = await runCli(["run", dataset, "--out", dataset, "--storage", `file://${root}/store`]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^hrpipe: --out .*my videos is inside the folder being run/);
    expect(await readdir(dataset)).toEqual(["clip.mp4"]);
  });

  it("refuses a folder holding a user's file, naming --force, and deletes nothing", async () => {
    const results = path.join(root, "results");
    await mkdir(results);
    await writeFile(path.join(results, "analysis.ipynb"), "{}");
    const result = await runCli(["run", dataset, "--out", results, "--storage", `file://${root}/store`]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^hrpipe: --out .*results already holds files hrpipe did not write \(analysis\.ipynb\); .*--force/,
    );
    expect(await readFile(path.join(results, "analysis.ipynb"), "utf8")).toBe("{}");
    // Refused before the upload: storage was not even created.
    expect(await readdir(root)).not.toContain("store");
  });

  it("refuses a --neural name that is not imported, before uploading anything, naming how to import it", async () => {
    const out = path.join(root, "neural out");
    const result = await runCli(
      ["run", dataset, "--out", out, "--storage", `file://${root}/neural-store`, "--neural", "physnet-pure"],
      { LOG_LEVEL: "error" },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /hrpipe: --neural physnet-pure: no model of that name in file:\/\/.*neural-store; import it with hrpipe model import FILE\.pth --arch physnet --name physnet-pure/,
    );
    expect(result.stderr).not.toMatch(/files, .* MB/);
    expect(await readdir(path.join(root, "neural-store")).catch(() => [])).not.toContain("blobs");
  });
});
