import { describe, expect, it } from "vitest";
import { plannedRunManifest } from "../../../tests/harness/manifests.ts";
import { artifactKeys } from "../src/keys.ts";
import type { FlowNode, StageLinks } from "../src/links.ts";
import { parsePayload, type StageName } from "../src/payloads.ts";
import type { DecodedVideo, FaceJobResult } from "../src/results.ts";
import { stageGraph } from "../src/stages.ts";

function linkedStages(links: StageLinks): StageName[] {
  const flow = (node: FlowNode | undefined): StageName[] =>
    node ? [node.stage, ...(node.children ?? []).flatMap(flow)] : [];
  return [...links.gathered.map((job) => job.stage), ...flow(links.flow)];
}

/** Every job a link returns is one its stage declares, with a payload its stage's schema takes. */
function expectWellFormed(stage: StageName, links: StageLinks): void {
  for (const linked of linkedStages(links)) expect(stageGraph[stage].links.adds).toContain(linked);
  for (const job of links.gathered) expect(() => parsePayload(job.stage, job.payload)).not.toThrow();
}

const reference = {
  layout: "ubfc-rppg" as const,
  key: "blobs/abc",
  file: "subject1/ground_truth.txt",
  kind: "ppg" as const,
};

const decoded: DecodedVideo = {
  participant: "subject1",
  videoId: "vid",
  facesHash: "fh",
  fps: 30,
  frameCount: 900,
  width: 640,
  height: 480,
  segments: [0, 1, 2].map((segment) => ({ segment, firstFrame: segment * 300, frameCount: 300 })),
  done: [2],
  faceless: [],
  chunkCount: 2,
  chunkBytesPerVideoS: 1000,
  reused: false,
  chunks: [0, 1].map((segment) => ({
    segment,
    firstFrame: segment * 300,
    frameCount: 300,
    chunkKey: `frames/x/${segment}.mkv`,
    chunkSha256: "0".repeat(64),
    bytes: 10,
  })),
};

describe("decode's links (a decoded video -> its jobs), pure", () => {
  const run = { runId: "r1", participant: "subject1", videoId: "vid", videoKey: "blobs/v" };

  it("leads to the video's labels job on decode's clock, a face job per chunk and a features job per reused segment", () => {
    const payload = parsePayload("decode", { ...run, reference, features: {}, labels: { offsetS: 0.5 } });
    const links = stageGraph.decode.links.jobs(payload, decoded);
    expectWellFormed("decode", links);
    expect(links.gathered.map((job) => job.jobId)).toEqual([
      "labels.r1.subject1.vid",
      "face.r1.subject1.vid.0",
      "face.r1.subject1.vid.1",
      "features.r1.subject1.vid.2",
    ]);
    const ecg = parsePayload("labels", links.gathered[0]!.payload);
    expect(ecg).toMatchObject({ video: { fps: 30, frameCount: 900 }, reference, options: { offsetS: 0.5 } });
    const face = parsePayload("face", links.gathered[2]!.payload);
    expect(face).toMatchObject({ segment: 1, chunkKey: "frames/x/1.mkv", firstFrame: 300, facesHash: "fh" });
    expect(face.features).toEqual(payload.features);
    expect(parsePayload("features", links.gathered[3]!.payload).facesKey).toBe(
      artifactKeys.faces("fh", "subject1", "vid", 2),
    );
    expect(links.flow).toBeUndefined();
    expect(links.resumeWith).toBeUndefined();
  });

  it("leads to face jobs alone for a video without a reference (no labels, no CNN)", () => {
    const links = stageGraph.decode.links.jobs(parsePayload("decode", run), decoded);
    expectWellFormed("decode", links);
    expect(links.gathered.map((job) => job.stage)).toEqual(["face", "face"]);
    expect("features" in links.gathered[0]!.payload).toBe(false);
  });
});

describe("face's links (a segment's faces -> its features job), pure", () => {
  const facePayload = {
    runId: "r1",
    participant: "subject1",
    videoId: "vid",
    facesHash: "fh",
    segment: 3,
    chunkKey: "frames/x/3.mkv",
    chunkSha256: "0".repeat(64),
    firstFrame: 900,
    frameCount: 300,
    fps: 30,
    width: 640,
    height: 480,
  };
  const result: FaceJobResult = {
    participant: "subject1",
    videoId: "vid",
    segment: 3,
    facesKey: "faces/fh/subject1/vid/003.safetensors",
    tracesKey: "traces/fh/subject1/vid/003.safetensors",
    frames: 300,
    facesFound: 300,
    reused: false,
  };

  it("leads to the segment's features job, on the faces it wrote, where the CNN uses the video", () => {
    const links = stageGraph.face.links.jobs(parsePayload("face", { ...facePayload, features: {} }), result);
    expectWellFormed("face", links);
    expect(links.gathered).toEqual([
      expect.objectContaining({ stage: "features", jobId: "features.r1.subject1.vid.3" }),
    ]);
    expect(parsePayload("features", links.gathered[0]!.payload)).toMatchObject({
      facesKey: result.facesKey,
      fps: 30,
    });
  });

  it("leads nowhere for a video the CNN does not use", () => {
    expect(stageGraph.face.links.jobs(parsePayload("face", facePayload), result)).toEqual({ gathered: [] });
  });
});

describe("ingest's links (plan -> the run's jobs, gather -> its training), pure", () => {
  const planned = {
    ...plannedRunManifest("r1", "file:///s"),
    participants: [{ participant: "P01", matKey: "ds/P01.mat" }],
    videos: [{ participant: "P01", videoId: "4", videoKey: "ds/P01_4_face.mov" }],
  };

  it("plan: one labels job per participant and one decode job per video, then waits and gathers", () => {
    const payload = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds" });
    const links = stageGraph.ingest.links.jobs(payload, {
      runId: "r1",
      state: "planned",
      reused: false,
      manifest: planned,
    });
    expectWellFormed("ingest", links);
    expect(links.gathered.map((job) => job.jobId)).toEqual(["labels.r1.P01", "decode.r1.P01.4"]);
    expect(links.resumeWith).toEqual({ ...payload, step: "gather" });
    expect(links.flow).toBeUndefined();
    // No CNN unless asked (--cnn densenet): the decode job leads to no features jobs, and with no
    // network either, its face jobs keep no crops.
    expect("features" in links.gathered[1]!.payload).toBe(false);
    expect(parsePayload("decode", links.gathered[1]!.payload).face.crops).toBe(false);
    const withCnn = stageGraph.ingest.links.jobs(payload, {
      runId: "r1",
      state: "planned",
      reused: false,
      manifest: { ...planned, options: { ...planned.options, cnn: "densenet" } },
    });
    expect(parsePayload("decode", withCnn.gathered[1]!.payload).features).toEqual(planned.options.features);
    expect(parsePayload("decode", withCnn.gathered[1]!.payload).face.crops).toBe(true);
    const withNetwork = stageGraph.ingest.links.jobs(payload, {
      runId: "r1",
      state: "planned",
      reused: false,
      manifest: {
        ...planned,
        networks: [
          { name: "physnet-pure", hash: "abc", architecture: "physnet" as const, trainedOn: "PURE" },
        ],
      },
    });
    expect(parsePayload("decode", withNetwork.gathered[1]!.payload).face.crops).toBe(true);
  });

  it("gather: a train -> eval chain per protocol that can be evaluated, under one report job", () => {
    const payload = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds", step: "gather" });
    const gathered = {
      ...planned,
      options: {
        ...planned.options,
        cnn: "densenet" as const,
        protocols: ["unseen-participants" as const, "unseen-videos" as const],
      },
      notEvaluated: [{ protocol: "unseen-participants" as const, reason: "one participant" }],
    };
    const links = stageGraph.ingest.links.jobs(payload, {
      runId: "r1",
      state: "training",
      reused: false,
      manifest: gathered,
    });
    expectWellFormed("ingest", links);
    expect(links.gathered).toEqual([]);
    expect(links.resumeWith).toBeUndefined();
    expect(links.flow).toMatchObject({
      stage: "report",
      jobId: "report.r1",
      children: [
        {
          stage: "eval",
          jobId: "eval.r1.unseen-videos",
          onFailure: "continue",
          children: [{ stage: "train", jobId: "train.r1.unseen-videos", onFailure: "fail" }],
        },
      ],
    });
    // Without a CNN there is nothing to train: eval scores the methods on the protocol's test split.
    const rppgOnly = stageGraph.ingest.links.jobs(payload, {
      runId: "r1",
      state: "training",
      reused: false,
      manifest: { ...gathered, options: { ...gathered.options, cnn: "none" } },
    });
    expect(rppgOnly.flow?.children).toEqual([
      expect.objectContaining({ jobId: "eval.r1.unseen-videos", children: [] }),
    ]);
  });

  it("gather with networks: one neural job per video and network, then the networks step, then train -> eval", () => {
    const video = {
      participant: "P01",
      videoId: "4",
      labelsKey: "labels/h/P01/4.json",
      fps: 25,
      frameCount: 500,
      segments: [0, 1].map((segment) => ({
        segment,
        facesKey: `faces/fh/P01/4/000${segment}.safetensors`,
        tracesKey: `traces/fh/P01/4/000${segment}.safetensors`,
        featuresKey: null,
        frames: 250,
      })),
      pulses: {},
    };
    const network = {
      name: "physnet-pure",
      hash: "abc",
      architecture: "physnet" as const,
      trainedOn: "PURE",
    };
    const gathered = {
      ...planned,
      options: { ...planned.options, protocols: ["unseen-videos" as const], neural: ["physnet-pure"] },
      networks: [network],
      artifacts: [video],
    };
    const gather = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds", step: "gather" });
    const links = stageGraph.ingest.links.jobs(gather, {
      runId: "r1",
      state: "ingested",
      reused: false,
      manifest: gathered,
    });
    expectWellFormed("ingest", links);
    expect(links.gathered.map((job) => job.jobId)).toEqual(["neural.r1.P01.4.physnet-pure"]);
    expect(parsePayload("neural", links.gathered[0]!.payload)).toEqual({
      runId: "r1",
      participant: "P01",
      videoId: "4",
      facesKeys: video.segments.map((s) => s.facesKey),
      frameCount: 500,
      fps: 25,
      model: { name: "physnet-pure", hash: "abc" },
    });
    expect(links.resumeWith).toEqual({ ...gather, step: "networks" });
    expect(links.flow).toBeUndefined();
    // Once the pulses are in: a train job per protocol (the networks are fine-tuned there) before eval.
    const networksStep = { ...gather, step: "networks" as const };
    const training = stageGraph.ingest.links.jobs(networksStep, {
      runId: "r1",
      state: "training",
      reused: false,
      manifest: gathered,
    });
    expect(training.gathered).toEqual([]);
    expect(training.flow?.children).toEqual([
      expect.objectContaining({
        jobId: "eval.r1.unseen-videos",
        children: [expect.objectContaining({ jobId: "train.r1.unseen-videos" })],
      }),
    ]);
  });

  it("leads nowhere from a cancelled run (no manifest in its output)", () => {
    const payload = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds", step: "gather" });
    expect(stageGraph.ingest.links.jobs(payload, { runId: "r1", state: "cancelled", reused: false })).toEqual(
      {
        gathered: [],
      },
    );
  });
});
