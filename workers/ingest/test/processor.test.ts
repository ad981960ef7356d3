import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { jobIds, parsePayload, stageGraph } from "@hrpipe/contracts";
import { FileStorage, readManifest, writeManifest } from "@hrpipe/runtime";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processIngestJob } from "../src/processor.ts";

/** A run's children as the runtime hands them over, without Redis. */
const outcomes = (results: Record<string, unknown>, failures: Record<string, string>) => ({
  results: async () => results,
  failures: async () => failures,
});

describe("the ingest processor (plan, then gather), on storage without Redis", () => {
  let dir: string;
  let storage: FileStorage;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-ingest-"));
    storage = new FileStorage(dir);
    await storage.put("ds/alice/clip.mp4", Buffer.from("not decoded here"));
    await storage.put("ds/bob/clip.mkv", Buffer.from("not decoded here"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const plan = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds" });
  const gather = { ...plan, step: "gather" as const };

  it("plan: writes the manifest of the folder's videos, and its links add a decode job per video, then gather", async () => {
    const output = await processIngestJob(plan, { storage, children: outcomes({}, {}) });
    expect(output).toMatchObject({ runId: "r1", state: "planned", reused: false });
    const stored = await readManifest(storage, "r1");
    expect(stored.layout).toBe("videos");
    expect(stored.videos.map((v) => `${v.participant}/${v.videoId}`)).toEqual(["alice/clip", "bob/clip"]);
    expect(output.manifest).toEqual(stored);
    const links = stageGraph.ingest.links.jobs(plan, output);
    expect(links.gathered.map((job) => job.jobId)).toEqual([
      jobIds.decode("r1", "alice", "clip"),
      jobIds.decode("r1", "bob", "clip"),
    ]);
    expect(links.resumeWith).toEqual(gather);
  });

  it("gather: folds the children's failures into the manifest, which goes to training", async () => {
    await processIngestJob(plan, { storage, children: outcomes({}, {}) });
    const failures = {
      [`bull:decode:${jobIds.decode("r1", "alice", "clip")}`]: "alice/clip.mp4 is not a video",
      [`bull:decode:${jobIds.decode("r1", "bob", "clip")}`]: "bob/clip.mkv is not a video",
    };
    const output = await processIngestJob(gather, { storage, children: outcomes({}, failures) });
    expect(output).toMatchObject({ runId: "r1", state: "training", videos: 0, excluded: 2, reused: false });
    const stored = await readManifest(storage, "r1");
    expect(stored.state).toBe("training");
    expect(stored.excluded.map((e) => e.reason)).toEqual(
      expect.arrayContaining([expect.stringContaining("alice/clip.mp4 is not a video")]),
    );
    // The result stored in Redis is the stage's result schema's part of the output: no manifest.
    expect(stageGraph.ingest.result.parse(output)).not.toHaveProperty("manifest");
    expect(stageGraph.ingest.links.jobs(gather, output).flow?.stage).toBe("report");
  });

  it("gather: a cancelled run stays cancelled and leads nowhere", async () => {
    await processIngestJob(plan, { storage, children: outcomes({}, {}) });
    await writeManifest(storage, { ...(await readManifest(storage, "r1")), state: "cancelled" });
    const output = await processIngestJob(gather, { storage, children: outcomes({}, {}) });
    expect(output).toEqual({ runId: "r1", state: "cancelled", reused: false });
    expect(stageGraph.ingest.links.jobs(gather, output)).toEqual({ gathered: [] });
  });
});
