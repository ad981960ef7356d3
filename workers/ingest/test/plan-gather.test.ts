import {
  artifactKeys,
  type DecodeJobResult,
  type FaceJobResult,
  type FeaturesJobResult,
  imageSequenceSchema,
  type LabelsJobResult,
  parsePayload,
  plannedJobs,
} from "@hrpipe/contracts";
import { describe, expect, it } from "vitest";
import { gatherRun } from "../src/gather.ts";
import { planRun } from "../src/plan.ts";

const payload = parsePayload("ingest", { runId: "r1", datasetPrefix: "ds" });
const listing = (keys: string[]) => ({
  storageUrl: "file:///data",
  files: keys.map((key) => ({ path: key.slice("ds/".length), key })),
  texts: {},
  createdAt: "2026-11-30T00:00:00.000Z",
});

describe("planRun (dataset listing -> manifest), pure", () => {
  const { manifest } = planRun(
    payload,
    listing([
      "ds/ecg/Data_Preprocessed_P1.mat",
      "ds/ecg/Data_Preprocessed_P01.mat",
      "ds/ecg/Data_Preprocessed_P02.mat",
      "ds/faces/P01/P1_4_face.mov",
      "ds/faces/P01/P01_N1_face.mp4",
      "ds/faces/P02/P02_4_face.mov",
      "ds/faces/P03/P03_4_face.mov",
    ]),
  );

  it("gives a participant listed in --ecg-offsets its own offset, the others the run's, and refuses a stranger", () => {
    const listed = listing([
      "ds/Data_Preprocessed_P01.mat",
      "ds/P01_4_face.mov",
      "ds/Data_Preprocessed_P02.mat",
      "ds/P02_4_face.mov",
    ]);
    const offsets = (ecgOffsetsS: Record<string, number>) =>
      parsePayload("ingest", { runId: "r5", datasetPrefix: "ds", labels: { offsetS: 0.5 }, ecgOffsetsS });
    const { manifest: offset } = planRun(offsets({ P02: -1.25 }), listed);
    expect(
      plannedJobs(offset)
        .filter((job) => job.stage === "labels")
        .map((job) => [job.payload.participant, parsePayload("labels", job.payload).options.offsetS]),
    ).toEqual([
      ["P01", 0.5],
      ["P02", -1.25],
    ]);
    expect(() => planRun(offsets({ P09: 2 }), listed)).toThrow(
      /^the ECG offsets name P09, which .* does not have \(its participants: P01, P02\); fix the offsets file/,
    );
  });

  it("treats P1 and P01 as one participant and keeps the first .mat", () => {
    expect(manifest.participants).toEqual([
      { participant: "P01", matKey: "ds/ecg/Data_Preprocessed_P1.mat" },
      { participant: "P02", matKey: "ds/ecg/Data_Preprocessed_P02.mat" },
    ]);
    expect(manifest.excluded).toContainEqual(
      expect.objectContaining({ stage: "ingest", key: "ds/ecg/Data_Preprocessed_P01.mat" }),
    );
  });

  it("plans every labelled video and excludes one without a .mat, naming it", () => {
    expect(manifest.videos.map((v) => `${v.participant}/${v.videoId}`)).toEqual(["P01/4", "P01/N1", "P02/4"]);
    expect(manifest.excluded).toContainEqual(
      expect.objectContaining({
        participant: "P03",
        videoId: "4",
        reason: expect.stringContaining("no Data_Preprocessed_P03.mat in the dataset"),
      }),
    );
    expect(manifest.options.eval).toEqual({ windowS: 10, strideS: 1 });
  });

  it("adds one labels job per participant and one decode job per video, with deterministic ids", () => {
    const jobs = plannedJobs(manifest);
    expect(jobs.map((j) => j.jobId)).toEqual([
      "labels.r1.P01",
      "labels.r1.P02",
      "decode.r1.P01.4",
      "decode.r1.P01.N1",
      "decode.r1.P02.4",
    ]);
    for (const job of jobs) expect(() => parsePayload(job.stage, job.payload)).not.toThrow();
    // No CNN unless asked: no video's segments get features jobs.
    for (const job of jobs.filter((j) => j.stage === "decode"))
      expect(job.stage === "decode" && job.payload.features).toBeUndefined();
    // With --cnn densenet every AMIGOS video trains or tests the CNN: features jobs with the run's options.
    const withCnn = plannedJobs({ ...manifest, options: { ...manifest.options, cnn: "densenet" } });
    for (const job of withCnn.filter((j) => j.stage === "decode"))
      expect(job.stage === "decode" && job.payload.features).toEqual(manifest.options.features);
  });
});

describe("gatherRun (stage results -> train and eval inputs), pure", () => {
  const { manifest } = planRun(
    payload,
    listing([
      "ds/Data_Preprocessed_P01.mat",
      "ds/Data_Preprocessed_P02.mat",
      "ds/P01_4_face.mov",
      "ds/P01_5_face.mov",
      "ds/P02_4_face.mov",
      "ds/P02_5_face.mov",
    ]),
  );
  const ecg = (participant: string, reused: boolean): LabelsJobResult => ({
    participant,
    hash: "l",
    labels: ["4", "5"].map((videoId) => ({
      videoId,
      key: artifactKeys.labels("l", participant, videoId),
      labelledShare: 1,
    })),
    excluded: [],
    reused,
  });
  const decode = (
    participant: string,
    videoId: string,
    over: Partial<DecodeJobResult> = {},
  ): DecodeJobResult => ({
    participant,
    videoId,
    facesHash: "f",
    fps: 25,
    frameCount: 500,
    width: 320,
    height: 240,
    segments: [
      { segment: 0, firstFrame: 0, frameCount: 250 },
      { segment: 1, firstFrame: 250, frameCount: 250 },
    ],
    done: [],
    faceless: [],
    chunkCount: 0,
    chunkBytesPerVideoS: 0,
    reused: false,
    ...over,
  });
  const face = (participant: string, videoId: string, segment: number): FaceJobResult => ({
    participant,
    videoId,
    segment,
    facesKey: artifactKeys.faces("f", participant, videoId, segment),
    tracesKey: artifactKeys.traces("f", participant, videoId, segment),
    frames: 250,
    facesFound: 250,
    reused: false,
  });
  const key = (id: string) => `bull:${id.split(".")[0]}:${id}`;
  const backbone = {
    kind: "random-init" as const,
    source: "seed 1",
    weightsHash: "w1",
    config: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, bnSize: 4 },
    note: "random",
  };
  const features = (
    participant: string,
    videoId: string,
    segment: number,
    over: Partial<FeaturesJobResult> = {},
  ): FeaturesJobResult => ({
    participant,
    videoId,
    segment,
    featuresKey: artifactKeys.features("x", participant, videoId, segment),
    frames: 250,
    weightsHash: "w1",
    executionProvider: "cpu",
    batchSize: 16,
    reused: false,
    ...over,
  });

  const gathered = gatherRun(
    manifest,
    {
      [key("labels.r1.P01")]: ecg("P01", false),
      [key("labels.r1.P02")]: ecg("P02", true),
      [key("decode.r1.P01.4")]: decode("P01", "4"),
      [key("decode.r1.P01.5")]: decode("P01", "5", { done: [0, 1], reused: true }),
      [key("decode.r1.P02.4")]: decode("P02", "4", {
        done: [0],
        faceless: [{ segment: 1, reason: "P02/4: no face in frames 250-499 (segment 1)" }],
      }),
      [key("face.r1.P01.4.0")]: face("P01", "4", 0),
      [key("face.r1.P01.4.1")]: face("P01", "4", 1),
      [key("features.r1.P01.4.0")]: features("P01", "4", 0),
      [key("features.r1.P01.5.0")]: features("P01", "5", 0, { reused: true, frames: -1 }),
      [key("features.r1.P01.5.1")]: features("P01", "5", 1, { executionProvider: "cuda", batchSize: 64 }),
      [key("features.r1.P02.4.0")]: features("P02", "4", 0),
    },
    {
      [key("decode.r1.P02.5")]: "ds/P02_5_face.mov is truncated",
      [key("features.r1.P01.4.1")]: "storage unreachable after 6 attempts",
    },
    { w1: backbone },
  );

  it("joins labels and shards per video, from face jobs and from shards found done", () => {
    expect(gathered.state).toBe("ingested");
    expect(gathered.artifacts.map((v) => [`${v.participant}/${v.videoId}`, v.segments.length])).toEqual([
      ["P01/4", 2],
      ["P01/5", 2],
      ["P02/4", 1],
    ]);
    expect(gathered.artifacts[1]!.segments[0]!.facesKey).toBe(artifactKeys.faces("f", "P01", "5", 0));
    expect(gathered.reused).toEqual({ labels: 2, faceSegments: 3 });
  });

  it("turns failures and remembered faceless segments into exclusions with their reasons", () => {
    expect(gathered.excluded).toContainEqual(
      expect.objectContaining({
        stage: "decode",
        participant: "P02",
        videoId: "5",
        reason: "ds/P02_5_face.mov is truncated",
      }),
    );
    expect(gathered.excluded).toContainEqual(
      expect.objectContaining({ stage: "face", participant: "P02", videoId: "4", segment: 1 }),
    );
  });

  it("splits the usable videos for every protocol", () => {
    expect(Object.keys(gathered.splits).sort()).toEqual(["unseen-participants", "unseen-videos"]);
    const videos = gathered.splits["unseen-videos"]!;
    expect([...videos.train, ...videos.test].sort()).toEqual(["P01/4", "P01/5", "P02/4"]);
  });

  it("gives each segment its features shard, and names the one backbone and where it ran", () => {
    expect(gathered.artifacts.map((v) => v.segments.map((s) => s.featuresKey))).toEqual([
      [artifactKeys.features("x", "P01", "4", 0), null],
      [artifactKeys.features("x", "P01", "5", 0), artifactKeys.features("x", "P01", "5", 1)],
      [artifactKeys.features("x", "P02", "4", 0)],
    ]);
    expect(gathered.excluded).toContainEqual(
      expect.objectContaining({ stage: "features", participant: "P01", videoId: "4", segment: 1 }),
    );
    expect(gathered.features).toEqual({
      weights: backbone,
      executionProviders: ["cpu", "cuda"],
      batchSizes: [16, 64],
    });
  });

  it("refuses features of two backbones, naming both and the setting to fix", () => {
    const mixed = {
      [key("decode.r1.P01.4")]: decode("P01", "4"),
      [key("face.r1.P01.4.0")]: face("P01", "4", 0),
      [key("face.r1.P01.4.1")]: face("P01", "4", 1),
      [key("features.r1.P01.4.0")]: features("P01", "4", 0),
      [key("features.r1.P01.4.1")]: features("P01", "4", 1, { weightsHash: "w2" }),
    };
    const pretrained = { ...backbone, kind: "pretrained" as const, source: "/w/densenet161.safetensors" };
    expect(() => gatherRun(manifest, mixed, {}, { w1: backbone, w2: pretrained })).toThrow(
      /two backbones \(seed 1, hash w1, and \/w\/densenet161\.safetensors, hash w2\).*HRPIPE_DENSENET_WEIGHTS/,
    );
  });

  it("refuses a child result of another shape, naming the job", () => {
    expect(() => gatherRun(manifest, { [key("labels.r1.P01")]: { participant: "P01" } }, {})).toThrow(
      /labels\.r1\.P01 does not match its stage's result schema/,
    );
  });
});

describe("planRun accounts for every file it lists", () => {
  const keys = [
    "ds/Data_Preprocessed_P01.mat",
    "ds/Data_Preprocessed_P1.mat",
    "ds/P01_4_face.mov",
    "ds/P02_4_face.mov",
    "ds/My Data/P01_5_face.mov",
    "ds/P01_5 copy_face.mov",
    "ds/P01_9_fäce.mov",
    "ds/P01_6_face.mov.mp4.mkv",
    "ds/<script>alert(1)</script>_face.mov",
    "ds/P01_9&<b>_face.mov",
    `ds/P01_${"a".repeat(70)}_face.mov`,
    "ds/random.mat",
    "ds/notes.txt",
    "ds/truth/P01.json",
    "ds/Thumbs.db",
  ];
  const { manifest } = planRun(payload, listing(keys));
  const planned = new Set([
    ...manifest.participants.map((p) => p.matKey),
    ...manifest.videos.map((v) => v.videoKey),
  ]);
  const excluded = manifest.excluded.filter((e) => e.key !== undefined);
  const ignored = manifest.ignored;

  it("puts each file in exactly one of plan, exclusions and ignored, with a reason", () => {
    for (const key of keys) {
      const places = [
        planned.has(key) ? "planned" : undefined,
        ...excluded.filter((e) => e.key === key).map(() => "excluded"),
        ...ignored.filter((i) => i.key === key).map(() => "ignored"),
      ].filter((place) => place !== undefined);
      expect(places, key).toHaveLength(1);
    }
    for (const item of [...excluded, ...ignored]) expect(item.reason.length).toBeGreaterThan(20);
  });

  it("counts them so that they add up to the files present", () => {
    expect(manifest.files).toEqual({ listed: keys.length, planned: 2, excluded: 10, ignored: 3 });
    expect(manifest.files.planned + manifest.files.excluded + manifest.files.ignored).toBe(keys.length);
  });

  it("says how to fix a file meant as data", () => {
    const reason = (key: string) => manifest.excluded.find((e) => e.key === key)?.reason;
    expect(reason("ds/P01_5 copy_face.mov")).toMatch(/is not a safe storage name.*Rename it/);
    expect(reason("ds/P01_6_face.mov.mp4.mkv")).toMatch(
      /looks like a face video .* rename it, e\.g\. to P01_5_face\.mov/,
    );
    expect(reason("ds/random.mat")).toMatch(/not named Data_Preprocessed_Pxx\.mat/);
    expect(reason("ds/P02_4_face.mov")).toMatch(/no Data_Preprocessed_P02\.mat/);
    expect(reason("ds/Data_Preprocessed_P1.mat")).toMatch(
      /^Data_Preprocessed_P1\.mat duplicates Data_Preprocessed_P01\.mat/,
    );
    expect(ignored.find((i) => i.key === "ds/notes.txt")?.reason).toMatch(
      /^notes\.txt: not a file of the layout/,
    );
  });
});

describe("planRun with a layout of packages/datasets", () => {
  const ubfcPayload = parsePayload("ingest", { runId: "r2", datasetPrefix: "up" });
  // An uploaded folder: paths as the owner named them, keys by content.
  const uploaded = (paths: string[], texts: Record<string, string> = {}) => ({
    storageUrl: "file:///data",
    files: paths.map((path, i) => ({ path, key: `blobs/${String(i).padStart(2, "0")}/${i}` })),
    texts,
    createdAt: "2026-11-30T00:00:00.000Z",
  });

  it("detects UBFC-rPPG and gives each video its PPG reference, on decode's job", () => {
    const { manifest } = planRun(
      ubfcPayload,
      uploaded([
        "subject1/vid.avi",
        "subject1/ground_truth.txt",
        "subject 2/vid.avi",
        "subject 2/ground_truth.txt",
        "subject3/vid.avi",
        "readme.txt",
      ]),
    );
    expect(manifest.layout).toBe("ubfc-rppg");
    expect(manifest.videos.map((v) => [v.participant, v.videoId, v.path, v.reference?.file])).toEqual([
      ["subject_2", "vid", "subject 2/vid.avi", "subject 2/ground_truth.txt"],
      ["subject1", "vid", "subject1/vid.avi", "subject1/ground_truth.txt"],
    ]);
    expect(manifest.videos[1]!.reference).toMatchObject({
      layout: "ubfc-rppg",
      kind: "ppg",
      key: "blobs/01/1",
    });
    expect(manifest.excluded).toEqual([
      expect.objectContaining({
        participant: "subject3",
        path: "subject3/vid.avi",
        reason: expect.stringMatching(/neither ground_truth/),
      }),
    ]);
    expect(manifest.ignored).toEqual([
      { key: "blobs/05/5", reason: expect.stringMatching(/^readme\.txt: not a UBFC/) },
    ]);
    expect(manifest.files).toEqual({ listed: 6, planned: 4, excluded: 1, ignored: 1 });
    const jobs = plannedJobs(manifest);
    expect(jobs.map((j) => j.jobId)).toEqual(["decode.r2.subject_2.vid", "decode.r2.subject1.vid"]);
    for (const job of jobs) {
      const decode = parsePayload("decode", job.payload);
      expect(decode.reference?.file).toMatch(/ground_truth\.txt$/);
      expect(decode.labels).toEqual(manifest.options.labels);
    }
    // A recording's own reference takes its participant's offset too, through the decode job.
    const offset = planRun(
      parsePayload("ingest", { runId: "r2", datasetPrefix: "up", ecgOffsetsS: { subject1: 2 } }),
      uploaded([
        "subject1/vid.avi",
        "subject1/ground_truth.txt",
        "subject 2/vid.avi",
        "subject 2/ground_truth.txt",
      ]),
    ).manifest;
    expect(plannedJobs(offset).map((job) => parsePayload("decode", job.payload).labels.offsetS)).toEqual([
      0, 2,
    ]);
  });

  it("plans a folder of videos without references, ids made safe and unique", () => {
    const { manifest } = planRun(
      parsePayload("ingest", { runId: "r3", datasetPrefix: "up", layout: "videos" }),
      uploaded(["my clips/a.b c.mp4", "my clips/a.b c.mov", "top.mkv", "notes.md"]),
    );
    expect(manifest.videos.map((v) => `${v.participant}/${v.videoId}`)).toEqual([
      "my_clips/a_b_c",
      "my_clips/a_b_c-2",
      "top/top",
    ]);
    expect(manifest.videos.every((v) => v.reference === undefined)).toBe(true);
    for (const job of plannedJobs(manifest)) {
      expect(() => parsePayload(job.stage, job.payload)).not.toThrow();
      // Nothing to train or test the CNN on: no video is embedded.
      expect(job.stage === "decode" && job.payload.features).toBeFalsy();
    }
  });

  it("plans PURE's frame folders as image sequences, frames in capture order, each labelled from its JSON", () => {
    const { manifest, imageSequences } = planRun(
      ubfcPayload,
      uploaded(["01-01/Image2000.png", "01-01/Image1000.png", "01-01.json", "01-02/Image1.png"]),
    );
    expect(manifest.layout).toBe("pure");
    expect(imageSequences).toHaveLength(1);
    const [{ key, sequence }] = imageSequences as [(typeof imageSequences)[number]];
    expect(key).toMatch(/^sequences\/[0-9a-f]{64}\.json$/);
    expect(imageSequenceSchema.parse(sequence)).toEqual({
      format: "hrpipe-image-sequence",
      version: 1,
      folder: "01-01",
      fps: 1e6,
      frames: [
        { path: "01-01/Image1000.png", key: "blobs/01/1" },
        { path: "01-01/Image2000.png", key: "blobs/00/0" },
      ],
    });
    expect(manifest.videos).toEqual([
      expect.objectContaining({ participant: "01", videoKey: key, imageSequence: true, path: "01-01" }),
    ]);
    expect(manifest.excluded[0]).toMatchObject({
      path: "01-02",
      reason: expect.stringMatching(/no 01-02\.json/),
    });
    // The folder has no key of its own, and its sequence was never stored: the exclusion names no key.
    expect(manifest.excluded[0]!.key).toBeUndefined();
    const decode = parsePayload("decode", plannedJobs(manifest)[0]!.payload);
    expect(decode).toMatchObject({ videoKey: key, imageSequence: true, videoName: "01-01" });
    expect(decode.reference).toMatchObject({ layout: "pure", file: "01-01.json", key: "blobs/02/2" });
    // The same folder plans the same sequence key: stored once, reused by a second run.
    expect(
      planRun(ubfcPayload, uploaded(["01-01/Image2000.png", "01-01/Image1000.png", "01-01.json"]))
        .imageSequences[0]!.key,
    ).toBe(key);
  });

  it("reads a generic manifest's settings into the reference and refuses an unknown layout's folder", () => {
    const { manifest } = planRun(
      ubfcPayload,
      uploaded(["manifest.csv", "v1.mp4", "v1.csv"], {
        "manifest.csv":
          "video,subject,reference,kind,column,fs_hz,offset_s\nv1.mp4,s1,v1.csv,ppg,bvp,64,1.5\n",
      }),
    );
    expect(manifest.layout).toBe("generic");
    expect(manifest.videos[0]!.reference).toMatchObject({
      kind: "ppg",
      column: "bvp",
      fsHz: 64,
      offsetS: 1.5,
    });
    expect(() => planRun(ubfcPayload, uploaded(["notes.txt"]))).toThrow(/no videos and no dataset layout/);
  });
});

describe("gatherRun for an inference run (no references)", () => {
  it("keeps videos without labels for the report and says why the CNN is not evaluated", () => {
    const { manifest } = planRun(
      parsePayload("ingest", { runId: "r4", datasetPrefix: "up", layout: "videos" }),
      {
        storageUrl: "file:///data",
        files: [{ path: "a.mp4", key: "blobs/aa/a" }],
        texts: {},
        createdAt: "2026-11-30T00:00:00.000Z",
      },
    );
    const gathered = gatherRun(
      manifest,
      {
        "bull:decode:decode.r4.a.a": {
          participant: "a",
          videoId: "a",
          facesHash: "f",
          fps: 30,
          frameCount: 300,
          width: 64,
          height: 64,
          segments: [{ segment: 0, firstFrame: 0, frameCount: 300 }],
          done: [0],
          faceless: [],
          chunkCount: 0,
          chunkBytesPerVideoS: 0,
          reused: true,
        },
      },
      {},
    );
    expect(gathered.artifacts).toEqual([expect.objectContaining({ participant: "a", labelsKey: null })]);
    expect(gathered.splits["unseen-videos"]).toMatchObject({ train: [], test: [] });
    expect(gathered.notEvaluated.map((n) => n.reason)).toEqual([
      expect.stringMatching(/no video has a reference/),
      expect.stringMatching(/no video has a reference/),
    ]);
  });
});

describe("the cross-dataset protocol", () => {
  it("needs the run whose head it tests, and that run needs it", () => {
    expect(() =>
      parsePayload("ingest", { runId: "c", datasetPrefix: "d", protocols: ["cross-dataset"] }),
    ).toThrow(/trainedOn: the cross-dataset protocol needs trainedOn/);
    expect(() =>
      parsePayload("ingest", { runId: "c", datasetPrefix: "d", trainedOn: { runId: "amigos-run" } }),
    ).toThrow(/trainedOn/);
    // It tests a CNN head: a run without one is refused, naming the flag.
    expect(() =>
      parsePayload("ingest", {
        runId: "c",
        datasetPrefix: "d",
        protocols: ["cross-dataset"],
        trainedOn: { runId: "amigos-run" },
      }),
    ).toThrow(/add --cnn densenet/);
  });

  it("tests every labelled video with the other run's head and trains nothing", () => {
    const crossPayload = parsePayload("ingest", {
      runId: "c1",
      datasetPrefix: "ds",
      protocols: ["cross-dataset"],
      trainedOn: { runId: "amigos-run" },
      cnn: "densenet",
    });
    const { manifest } = planRun(
      crossPayload,
      listing(["ds/Data_Preprocessed_P01.mat", "ds/P01_4_face.mov"]),
    );
    const gathered = gatherRun(
      manifest,
      {
        "bull:labels:labels.c1.P01": {
          participant: "P01",
          hash: "l",
          labels: [{ videoId: "4", key: artifactKeys.labels("l", "P01", "4"), labelledShare: 1 }],
          excluded: [],
          reused: false,
        },
        "bull:decode:decode.c1.P01.4": {
          participant: "P01",
          videoId: "4",
          facesHash: "f",
          fps: 25,
          frameCount: 250,
          width: 64,
          height: 64,
          segments: [{ segment: 0, firstFrame: 0, frameCount: 250 }],
          done: [0],
          faceless: [],
          chunkCount: 0,
          chunkBytesPerVideoS: 0,
          reused: true,
        },
      },
      {},
    );
    expect(gathered.splits["cross-dataset"]).toEqual({
      train: [],
      test: ["P01/4"],
      rule: "every video with a reference is tested by the head of run amigos-run (unseen-participants)",
    });
    expect(gathered.notEvaluated).toEqual([]);
  });
});
