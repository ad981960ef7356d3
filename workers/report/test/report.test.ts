import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { artifactKeys, parsePayload, runOptionsOf, runReportSchema } from "@hrpipe/contracts";
import { FileStorage, readArtifact, readManifest, writeManifest } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processReportJob } from "../src/processor.ts";

const options = parsePayload("ingest", { runId: "x", datasetPrefix: "" });

describe("the report job ends every run", () => {
  let dir: string;
  let storage: FileStorage;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-report-test-"));
    storage = new FileStorage(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("marks a run in which no protocol could be evaluated failed, and says why for each", async () => {
    await writeManifest(storage, {
      version: 1,
      runId: "r1",
      createdAt: "2026-11-30T00:00:00.000Z",
      state: "training",
      storageUrl: storage.url,
      datasetPrefix: "ds",
      options: runOptionsOf(options),
      participants: [],
      videos: [],
      artifacts: [],
      splits: {},
      reused: { labels: 0, faceSegments: 0 },
      excluded: [],
      notEvaluated: [
        { protocol: "unseen-participants", reason: "not enough usable videos to train and test" },
      ],
    });
    const result = await processReportJob(
      {
        runId: "r1",
        failures: { "unseen-videos": "training failed: only 3 labelled face frames to train on." },
      },
      { storage },
    );
    expect(result.state).toBe("failed");
    expect(result.evaluated).toEqual([]);
    const report = await readArtifact(storage, artifactKeys.runReport("r1"), runReportSchema);
    expect(report.state).toBe("failed");
    expect(report.notEvaluated).toEqual([
      { protocol: "unseen-participants", reason: "not enough usable videos to train and test" },
      { protocol: "unseen-videos", reason: "training failed: only 3 labelled face frames to train on." },
    ]);
    const html = (await storage.get(artifactKeys.runReportHtml("r1"))).toString();
    expect(html).toContain("run failed");
    expect(html).toContain("only 3 labelled face frames");
    const manifest = await readManifest(storage, "r1");
    expect(manifest.state).toBe("failed");
    expect(manifest.notEvaluated).toHaveLength(2);
  });

  it("names a protocol whose report is missing even when its jobs left no reason", async () => {
    const manifest = await readManifest(storage, "r1");
    await writeManifest(storage, { ...manifest, runId: "r2", state: "training", notEvaluated: [] });
    const result = await processReportJob({ runId: "r2", failures: {} }, { storage });
    expect(result.notEvaluated.map((n) => n.reason)).toEqual([
      "runs/r2/reports/unseen-participants/report.json was not written, and its jobs left no reason.",
      "runs/r2/reports/unseen-videos/report.json was not written, and its jobs left no reason.",
    ]);
  });
});
