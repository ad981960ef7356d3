import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runReportSchema } from "@hrpipe/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCompiledTree } from "../../infra/compiled-tree.ts";
import { runCli } from "../cli/run-cli.ts";
import { onPath } from "../harness/processes.ts";
import { ubfcClips } from "../harness/ubfc-clips.ts";

function filesUnder(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && match(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * What infra/Dockerfile builds, without Docker (infra/compiled-tree.ts: the image's compile and
 * prod-install steps on a copy of the checkout). It must run the pipeline with no TypeScript, tsx or
 * dev dependency.
 */
describe.runIf(onPath("pnpm"))("the images' compiled tree", () => {
  let root: string;
  let out: string;
  let bin: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-compiled-"));
    ({ app: out, bin } = buildCompiledTree(root));
  }, 240_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("holds JavaScript only, and no tsx, vitest or npm-shipped ffmpeg", () => {
    for (const dir of ["apps", "packages", "workers"]) {
      const outside = (file: string) => !file.includes(`${path.sep}node_modules${path.sep}`);
      expect(filesUnder(path.join(out, dir), (name) => name.endsWith(".ts")).filter(outside)).toEqual([]);
      expect(
        filesUnder(path.join(out, dir), (name) => name.endsWith(".js")).filter(outside).length,
      ).toBeGreaterThan(0);
    }
    const installed = readdirSync(path.join(out, "node_modules/.pnpm"));
    for (const unwanted of [
      /^tsx@/,
      /^vitest@/,
      /^@vitest\+/,
      /^s3rver@/,
      /^playwright/,
      /^@ffmpeg-installer\+linux/,
    ])
      expect(
        installed.filter((name) => unwanted.test(name)),
        String(unwanted),
      ).toEqual([]);
    expect(existsSync(path.join(out, "apps/cli/src/bin.js"))).toBe(true);
  });

  it("runs the pipeline: a videos-only run on a real clip, decode, face and report", async () => {
    const videos = path.join(root, "videos");
    await ubfcClips(videos, ["subject3"], 12, { videosOnly: true });
    const run = await runCli(
      ["run", videos, "--layout", "videos", "--skin-area", "box", "--out", path.join(root, "out")],
      { STORAGE_URL: `file://${path.join(root, "storage")}`, LOG_LEVEL: "warn" },
      out,
      bin,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = runReportSchema.parse(
      JSON.parse(await readFile(path.join(root, "out/report.json"), "utf8")),
    );
    expect(report.videos).toHaveLength(1);
    expect(report.videos[0]!.methods.pos!.hrBpm).toBeGreaterThan(40);
  }, 120_000);

  it("answers --help from compiled code", async () => {
    const help = await runCli(["--help"], {}, out, bin);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: hrpipe");
  });
});
