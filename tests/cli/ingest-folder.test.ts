import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { datasetIndexSchema, uploadKeys } from "@hrpipe/contracts";
import {
  readArtifact,
  readManifest,
  type StageQueues,
  startStageWorkers,
  type WorkerSet,
} from "@hrpipe/runtime";
import { ingestStage } from "@hrpipe/worker-ingest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { waitUntil } from "../harness/processes.ts";
import { runCli } from "./run-cli.ts";

/** `hrpipe ingest ./folder`: a local folder is uploaded by content, then planned with its layout. */
describe("hrpipe ingest <local folder>", () => {
  let services: TestServices;
  let ingest: WorkerSet;
  let queues: StageQueues;
  let root: string;
  let folder: string;

  beforeAll(async () => {
    services = await createTestServices("ingest-folder");
    // Only an ingest worker: each run is planned, then waits for decode jobs nobody takes.
    ingest = startStageWorkers([ingestStage], services);
    queues = services.queues();
    root = await mkdtemp(path.join(tmpdir(), "hrpipe-ingest-folder-"));
    folder = path.join(root, "my UBFC copy");
    for (const subject of ["subject1", "subject 2"]) {
      await mkdir(path.join(folder, subject), { recursive: true });
      await writeFile(path.join(folder, subject, "vid.avi"), `not really a video of ${subject}`);
      await writeFile(path.join(folder, subject, "ground_truth.txt"), `1 2 3\n70 70 70\n0 0.033 0.066\n`);
    }
    await writeFile(path.join(folder, ".DS_Store"), "finder state");
    // A link out of the folder: not uploaded, but listed with why.
    await writeFile(path.join(root, "elsewhere.txt"), "not in the folder");
    await symlink(path.join(root, "elsewhere.txt"), path.join(folder, "notes.txt"));
  });

  afterAll(async () => {
    await ingest.close(true);
    await queues.close();
    await services.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  const planned = (runId: string) =>
    waitUntil(
      async () => (await readManifest(services.storage, runId).catch(() => undefined))?.state === "planned",
      `run ${runId} to be planned`,
      30_000,
    );

  it("uploads each file once by its content, detects the layout and plans every video with its reference", async () => {
    const first = await runCli(["ingest", folder, "--run-id", "f1"], services.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/4 files, 3 stored now/); // both ground truths hold the same bytes
    await planned("f1");
    const manifest = await readManifest(services.storage, "f1");
    expect(manifest.layout).toBe("ubfc-rppg");
    expect(manifest.videos.map((v) => [v.participant, v.path])).toEqual([
      ["subject_2", "subject 2/vid.avi"],
      ["subject1", "subject1/vid.avi"],
    ]);
    const index = await readArtifact(
      services.storage,
      uploadKeys.index(manifest.datasetPrefix),
      datasetIndexSchema,
    );
    expect(index.files.map((f) => f.path)).not.toContain(".DS_Store");
    // Every entry of the folder is uploaded or listed as left out, and the uploader's path stays home.
    expect(index.skipped.map((f) => f.path)).toEqual([".DS_Store", "notes.txt"]);
    expect(index.skipped[1]!.reason).toMatch(/^a symbolic link/);
    expect(index.source).not.toContain(root);
    expect(first.stderr).toMatch(/upload: left out notes\.txt: a symbolic link/);
    expect(manifest.ignored.map((i) => i.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^notes\.txt: a symbolic link/)]),
    );
    expect(manifest.files.listed).toBe(6);
    expect(manifest.files.listed).toBe(
      manifest.files.planned + manifest.files.excluded + manifest.files.ignored,
    );
    for (const file of index.files)
      expect(await services.storage.exists(uploadKeys.blob(file.sha256))).toBe(true);
  });

  it("uploads nothing the second time, and only what is missing after an interrupted upload", async () => {
    const second = await runCli(["ingest", folder, "--run-id", "f2"], services.env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/4 files, 0 stored now/);
    await planned("f2");
    const { datasetPrefix } = await readManifest(services.storage, "f2");
    expect(datasetPrefix).toBe((await readManifest(services.storage, "f1")).datasetPrefix);

    const index = await readArtifact(services.storage, uploadKeys.index(datasetPrefix), datasetIndexSchema);
    await services.storage.delete(uploadKeys.blob(index.files[0]!.sha256));
    const third = await runCli(["ingest", folder, "--run-id", "f3"], services.env);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/4 files, 1 stored now/);
  });

  it("refuses an unknown layout before uploading anything", async () => {
    const bad = await runCli(["ingest", folder, "--layout", "ubfc"], services.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--layout must be one of auto, amigos, ubfc-rppg/);
  });

  it("takes per-participant offsets from --ecg-offsets into the run's options, and names a bad row", async () => {
    const offsets = path.join(root, "offsets.csv");
    await writeFile(offsets, "participant,offset_s\nsubject1,1.5\n");
    const result = await runCli(["ingest", folder, "--run-id", "f4", "--ecg-offsets", offsets], services.env);
    expect(result.code, result.stderr).toBe(0);
    await planned("f4");
    expect((await readManifest(services.storage, "f4")).options.ecgOffsetsS).toEqual({ subject1: 1.5 });
    await writeFile(offsets, "participant,offset_s\nsubject1,later\n");
    const bad = await runCli(["ingest", folder, "--ecg-offsets", offsets], services.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/offsets\.csv line 2: give a participant and its offset in seconds\./);
  });
});
