import type { RunManifest } from "@hrpipe/contracts";
import { writeManifest } from "@hrpipe/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../harness/context.ts";
import { runCli } from "./run-cli.ts";

/** A finished run whose one video's labels and shards live under the given content hashes. */
function manifest(
  runId: string,
  createdAt: string,
  hash: string,
  state: RunManifest["state"] = "done",
): RunManifest {
  return {
    version: 1,
    runId,
    createdAt,
    state,
    storageUrl: "s3://test",
    datasetPrefix: "ds",
    layout: "amigos",
    options: {
      protocols: ["unseen-videos"],
      labels: { column: 15, fps: 25, windowS: 10, offsetS: 0 },
      decode: { segmentS: 10 },
      face: { detector: "tiny", inputSize: 320, detectEvery: 8, cropSize: 128, keepChunks: false },
      train: { epochs: 1, batchSize: 32, learningRate: 0.001, validationSplit: 0.2, seed: 1 },
      eval: { windowS: 10, strideS: 1 },
    } as RunManifest["options"],
    participants: [{ participant: "P01", matKey: "ds/P01.mat" }],
    videos: [{ participant: "P01", videoId: "4", videoKey: "ds/P01_4_face.mov" }],
    features: null,
    networks: [],
    jobs: null,
    artifacts: [
      {
        participant: "P01",
        videoId: "4",
        labelsKey: `labels/${hash}/P01/4.json`,
        fps: 25,
        frameCount: 250,
        pulses: {},
        segments: [
          {
            segment: 0,
            facesKey: `faces/${hash}/P01/4/0000.safetensors`,
            tracesKey: `traces/${hash}/P01/4/0000.safetensors`,
            featuresKey: `features/${hash}/P01/4/0000.safetensors`,
            frames: 250,
          },
        ],
      },
    ],
    splits: {},
    reused: { labels: 0, faceSegments: 0 },
    excluded: [],
    ignored: [],
    files: { listed: 2, planned: 2, excluded: 0, ignored: 0 },
    notEvaluated: [],
  };
}

const folderFiles = (hash: string) => [
  `labels/${hash}/P01/4.json`,
  `labels/${hash}/P01/_summary.json`,
  `faces/${hash}/P01/4/0000.safetensors`,
  `traces/${hash}/P01/4/0000.safetensors`,
  `features/${hash}/P01/4/0000.safetensors`,
];

/**
 * `hrpipe runs list` and `hrpipe runs delete`: r1 and r2 share their shards (hash "shared"), r1 also
 * has its own (hash "own1"); r10's id starts with r1's, so deleting r1 must not touch its jobs.
 */
describe("hrpipe runs", () => {
  let services: TestServices;

  beforeAll(async () => {
    services = await createTestServices("runs");
    const { storage } = services;
    const r1 = manifest("r1", "2026-11-01T10:00:00.000Z", "shared");
    r1.artifacts.push({
      ...r1.artifacts[0]!,
      videoId: "5",
      labelsKey: "labels/own1/P01/5.json",
      segments: [
        {
          segment: 0,
          facesKey: "faces/own1/P01/5/0000.safetensors",
          tracesKey: "traces/own1/P01/5/0000.safetensors",
          featuresKey: "features/own1/P01/5/0000.safetensors",
          frames: 250,
        },
      ],
    });
    await writeManifest(storage, r1);
    await writeManifest(storage, manifest("r2", "2026-11-02T10:00:00.000Z", "shared"));
    await writeManifest(storage, manifest("r10", "2026-11-03T10:00:00.000Z", "own10", "training"));
    for (const key of [
      ...folderFiles("shared"),
      "labels/own1/P01/5.json",
      "labels/own1/P01/_summary.json",
      "faces/own1/P01/5/0000.safetensors",
      "faces/own1/P01/5/0001.faceless.json",
      "traces/own1/P01/5/0000.safetensors",
      "features/own1/P01/5/0000.safetensors",
      "runs/r1/reports/report.json",
      ...folderFiles("own10"),
    ])
      await storage.put(key, "x");
    const queues = services.queues();
    // Raw adds with the ids jobIds gives a run's jobs: the payloads are not under test.
    for (const [stage, id] of [
      ["ingest", "ingest.r1"],
      ["face", "face.r1.P01.4.0"],
      ["face", "face.r1.P01.5.0"],
      ["face", "face.r10.P01.4.0"],
      ["report", "report.r2"],
    ] as const)
      await queues.queue(stage).add(stage, {}, { jobId: id });
    await queues.close();
  });

  afterAll(async () => {
    await services.cleanup();
  });

  it("lists every run, newest first, as a table and as JSON", async () => {
    const listed = await runCli(["runs", "list", "--json"], services.env);
    expect(listed.code, listed.stderr).toBe(0);
    const { runs } = JSON.parse(listed.stdout) as {
      runs: { runId: string; state: string; hasReport: boolean }[];
    };
    expect(runs.map((r) => r.runId)).toEqual(["r10", "r2", "r1"]);
    expect(runs.find((r) => r.runId === "r1")).toMatchObject({ state: "done", hasReport: true });
    // Listing reads storage only: it works without REDIS_URL.
    const table = await runCli(["runs", "list"], { ...services.env, REDIS_URL: "" });
    expect(table.stdout).toMatch(/^r10 +2026-11-03 10:00:00 +training/m);
  });

  it("plans a delete with --dry-run and deletes nothing", async () => {
    const dry = await runCli(["runs", "delete", "r1", "--dry-run", "--json"], services.env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as {
      deleted: boolean;
      runObjects: string[];
      folders: { folder: string; keys: string[] }[];
      kept: { folder: string; usedBy: string[] }[];
      jobs: { stage: string; id: string }[];
    };
    expect(plan.deleted).toBe(false);
    expect(plan.runObjects.sort()).toEqual(["runs/r1/manifest.json", "runs/r1/reports/report.json"]);
    expect(plan.folders.map((f) => f.folder)).toEqual([
      "faces/own1/P01/5",
      "features/own1/P01/5",
      "labels/own1/P01",
      "traces/own1/P01/5",
    ]);
    expect(plan.folders.find((f) => f.folder === "faces/own1/P01/5")!.keys).toHaveLength(2);
    expect(plan.kept.map((k) => k.folder).sort()).toEqual([
      "faces/shared/P01/4",
      "features/shared/P01/4",
      "labels/shared/P01",
      "traces/shared/P01/4",
    ]);
    expect(plan.kept[0]!.usedBy).toEqual(["r2"]);
    expect(plan.jobs.map((j) => j.id).sort()).toEqual(["face.r1.P01.4.0", "face.r1.P01.5.0", "ingest.r1"]);
    expect(await services.storage.exists("faces/own1/P01/5/0000.safetensors")).toBe(true);
    expect(await services.storage.exists("runs/r1/manifest.json")).toBe(true);
  });

  it("deletes the run's folder, its own shards and its jobs, and keeps what other runs use", async () => {
    const deleted = await runCli(["runs", "delete", "r1"], services.env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/^run r1: deleted 8 objects .* and 3 jobs in Redis$/m);
    const { storage } = services;
    for (const key of [
      "runs/r1/manifest.json",
      "labels/own1/P01/_summary.json",
      "faces/own1/P01/5/0001.faceless.json",
    ])
      expect(await storage.exists(key), key).toBe(false);
    for (const key of [...folderFiles("shared"), ...folderFiles("own10"), "runs/r2/manifest.json"])
      expect(await storage.exists(key), key).toBe(true);
    const queues = services.queues();
    expect(await queues.queue("face").getJob("face.r1.P01.4.0")).toBeUndefined();
    expect(await queues.queue("ingest").getJob("ingest.r1")).toBeUndefined();
    expect(await queues.queue("face").getJob("face.r10.P01.4.0")).toBeDefined();
    expect(await queues.queue("report").getJob("report.r2")).toBeDefined();
    await queues.close();
  });

  it("refuses a run still going, and one that does not exist, with exit code 2", async () => {
    const going = await runCli(["runs", "delete", "r10"], services.env);
    expect(going.code).toBe(2);
    expect(going.stderr).toContain(
      "run r10 is training; cancel it first (hrpipe cancel r10), then delete it.",
    );
    const missing = await runCli(["runs", "delete", "nope"], services.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("run nope has no manifest, objects or jobs");
  });
});
