import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeFacesShard, decodeSafetensors, faceOptionsSchema, getTensor } from "@hrpipe/contracts";
import {
  analyseFaces,
  analyseVideo,
  decodePictures,
  detectLargestFace,
  FaceAnalysisThreads,
  FaceDetector,
  iou,
  LandmarkDetector,
  LocalFaceAnalyser,
  skinArea,
} from "@hrpipe/face";
import { copySegment, probeVideo, VideoEncoder, yuv420Matrix } from "@hrpipe/media";
import { BadInputError, FileStorage } from "@hrpipe/runtime";
import { cachedFaceVideo, faceVideoSpec } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processFaceJob } from "../src/processor.ts";

const options = faceOptionsSchema.parse({});

describe("face stage on a generated 720p video of a real face moving smoothly", () => {
  let dir: string;
  let storage: FileStorage;
  let source: string;
  let detector: FaceDetector;
  let landmarks: LandmarkDetector;
  // Face jobs analyse their chunks on a thread, as a worker does.
  const analyser = new FaceAnalysisThreads(1);
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-face-test-"));
    storage = new FileStorage(dir);
    source = await cachedFaceVideo(faceVideoSpec({ durationS: 10 }));
    detector = await FaceDetector.create({ kind: options.detector, inputSize: options.inputSize });
    landmarks = await LandmarkDetector.create();
  }, 120_000);
  afterAll(async () => {
    await analyser.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finds a face in >= 99% of frames, tracks within mean IoU >= 0.85 of per-frame detection, one trace row per frame", async () => {
    const { info, window, analysis: tracked } = await analyseVideo(source, detector, options);
    const perFrame = [];
    for await (const picture of decodePictures(source, window))
      perFrame.push(await detectLargestFace(detector, picture));
    let iouSum = 0;
    let pairs = 0;
    for (const [k, box] of tracked.boxes.entries()) {
      const reference = perFrame[k];
      if (box && reference) {
        iouSum += iou(box, reference);
        pairs++;
      }
    }
    expect(tracked.frameIndex.length / info.frameCount).toBeGreaterThanOrEqual(0.99);
    expect(iouSum / pairs).toBeGreaterThanOrEqual(0.85);
    expect(tracked.detectorCalls).toBeLessThanOrEqual(Math.ceil(info.frameCount / options.detectEvery) + 1);
    expect(tracked.faceFound.length).toBe(info.frameCount);
    expect(tracked.rgb.length).toBe(info.frameCount * 3);
  }, 180_000);

  it("with the landmark net, measures the skin inside the face box, eyes and mouth cut out, in every frame with a face", async () => {
    const { analysis } = await analyseVideo(source, detector, options, undefined, landmarks);
    expect(analysis.landmarks).toBeDefined();
    let framesWithFace = 0;
    for (const [k, box] of analysis.boxes.entries()) {
      if (!box) continue;
      framesWithFace++;
      expect(Number.isFinite(analysis.rgb[k * 3]!), `frame ${k}`).toBe(true);
      const area = skinArea(analysis.landmarks!.subarray(k * 136, (k + 1) * 136));
      // The outline lies in the box (with slack for the forehead above a detector's box) and holds 4 holes.
      for (let i = 0; i < area.outline.length; i += 2) {
        expect(area.outline[i]!).toBeGreaterThan(box.x - 0.1 * box.width);
        expect(area.outline[i]!).toBeLessThan(box.x + 1.1 * box.width);
        expect(area.outline[i + 1]!).toBeGreaterThan(box.y - 0.4 * box.height);
        expect(area.outline[i + 1]!).toBeLessThan(box.y + 1.2 * box.height);
      }
      expect(area.holes).toHaveLength(4);
    }
    expect(framesWithFace).toBeGreaterThanOrEqual(0.99 * analysis.faceFound.length);
  }, 180_000);

  it("with detectEvery 1 uses the study's method: a whole-frame detection in every frame, boxes as detected", async () => {
    const info = await probeVideo(source);
    const window = { firstFrame: 100, frameCount: 20, fps: info.fps, width: info.width, height: info.height };
    const study = await analyseFaces(decodePictures(source, window), window, detector, {
      detectEvery: 1,
      cropSize: 128,
    });
    const perFrame = [];
    for await (const picture of decodePictures(source, window))
      perFrame.push(await detectLargestFace(detector, picture));
    expect(study.detectorCalls).toBe(window.frameCount);
    expect(study.boxes).toEqual(perFrame);
  });

  it("turns a chunk into faces and traces shards of the design and deletes the chunk", async () => {
    const info = await probeVideo(source);
    // A chunk as the decode stage writes it: the source's frames copied into Matroska.
    const chunk = path.join(dir, "chunk.mkv");
    await copySegment(source, chunk, 0, info.durationS);
    const bytes = await readFile(chunk);
    await storage.put("frames/h1/P01/4/0000.mov", bytes);
    const result = await processFaceJob(
      {
        participant: "P01",
        videoId: "4",
        facesHash: "h1",
        segment: 0,
        chunkKey: "frames/h1/P01/4/0000.mov",
        chunkSha256: createHash("sha256").update(bytes).digest("hex"),
        firstFrame: 50,
        frameCount: 100,
        fps: info.fps,
        width: info.width,
        height: info.height,
        options,
      },
      { storage, analyser },
    );
    expect(result).toMatchObject({
      facesKey: "faces/h1/P01/4/0000.safetensors",
      tracesKey: "traces/h1/P01/4/0000.safetensors",
      frames: 100,
    });
    const faces = decodeSafetensors(await storage.get(result.facesKey));
    const n = result.facesFound;
    expect(getTensor(faces, "images", "U8").shape).toEqual([n, 128, 128, 3]);
    expect(Array.from(getTensor(faces, "frameIndex", "I32").data).slice(0, 3)).toEqual([50, 51, 52]);
    expect(getTensor(faces, "timeS", "F32").data[0]).toBeCloseTo(2, 5);
    expect(getTensor(faces, "box", "F32").shape).toEqual([n, 4]);
    const traces = decodeSafetensors(await storage.get(result.tracesKey));
    expect(getTensor(traces, "rgb", "F32").shape).toEqual([100, 3]);
    expect(getTensor(traces, "faceFound", "U8").shape).toEqual([100]);
    // Every face option reaches the analysis (the 720p frames analysed at 640x360 among them): the
    // shards hold what the same window of the source gives with the same options.
    const window = { firstFrame: 50, frameCount: 100, fps: info.fps, width: info.width, height: info.height };
    const direct = await new LocalFaceAnalyser().analyse({ file: source, window, options });
    expect(Array.from(getTensor(traces, "rgb", "F32").data)).toEqual(Array.from(direct.rgb));
    expect(Array.from(getTensor(faces, "box", "F32").data)).toEqual(Array.from(direct.box));
    expect(faces.metadata).toMatchObject({
      participant: "P01",
      videoId: "4",
      segment: "0",
      detector: "tiny",
    });
    expect(await storage.exists("frames/h1/P01/4/0000.mov")).toBe(false);
  }, 120_000);

  /**
   * A face job of participant P02 on frames 50-89 of the source, its chunk copied as the decode stage
   * does and stored under `facesHash` first; `change` adds to the payload.
   */
  async function faceJobOnSource(facesHash: string, change: Partial<Parameters<typeof processFaceJob>[0]>) {
    const info = await probeVideo(source);
    const chunk = path.join(dir, `chunk-${facesHash}.mkv`);
    await copySegment(source, chunk, 0, info.durationS);
    const bytes = await readFile(chunk);
    const chunkKey = `frames/${facesHash}/P02/4/0000.mkv`;
    await storage.put(chunkKey, bytes);
    return processFaceJob(
      {
        participant: "P02",
        videoId: "4",
        facesHash,
        segment: 0,
        chunkKey,
        chunkSha256: createHash("sha256").update(bytes).digest("hex"),
        firstFrame: 50,
        frameCount: 40,
        fps: info.fps,
        width: info.width,
        height: info.height,
        options,
        ...change,
      },
      { storage, analyser },
    );
  }

  /** The shards of a face job on the source with `faceOptions`, its chunk carried as 4:2:0 or as RGB24. */
  async function shards(facesHash: string, faceOptions: typeof options, yuv420: boolean) {
    const result = await faceJobOnSource(facesHash, {
      options: faceOptions,
      ...(yuv420 ? { yuv420: yuv420Matrix(await probeVideo(source)) } : {}),
    });
    const faces = decodeSafetensors(await storage.get(result.facesKey));
    const traces = decodeSafetensors(await storage.get(result.tracesKey));
    return {
      images: getTensor(faces, "images", "U8").data,
      box: Array.from(getTensor(faces, "box", "F32").data),
      rgb: Array.from(getTensor(traces, "rgb", "F32").data),
    };
  }

  it("gives the same shards from a chunk carried as 4:2:0 as from ffmpeg's RGB24 (decode's yuv420)", async () => {
    // At its stored size (720p, not the 640x360 default analysis size).
    const fullSize = { ...options, analysisSide: 0 };
    const [rgb24, yuv420] = [await shards("rgb24", fullSize, false), await shards("yuv420", fullSize, true)];
    expect(yuv420.rgb.filter(Number.isFinite).length).toBeGreaterThan(100);
    expect(yuv420.rgb).toEqual(rgb24.rgb);
    expect(yuv420.box).toEqual(rgb24.box);
    expect(Buffer.compare(Buffer.from(yuv420.images), Buffer.from(rgb24.images))).toBe(0);
  }, 120_000);

  it("finds the same face at half size from a chunk carried as 4:2:0 as from ffmpeg's scaled RGB24", async () => {
    // 720p analysed at 640x360 (the default): halved here, each pixel with its own chroma sample,
    // where ffmpeg's scaled RGB24 shares one between two pixels: near, not equal.
    const [rgb24, yuv420] = [await shards("scaled", options, false), await shards("halved", options, true)];
    expect(yuv420.box).toHaveLength(rgb24.box.length);
    expect(Math.max(...yuv420.box.map((value, i) => Math.abs(value - rgb24.box[i]!)))).toBeLessThan(1.5);
    const levels = yuv420.rgb.map((value, i) => Math.abs(value - rgb24.rgb[i]!)).filter(Number.isFinite);
    expect(levels.length).toBeGreaterThan(100);
    expect(Math.max(...levels)).toBeLessThan(2);
  }, 120_000);

  it("without crops (a run no network reads) writes the same traces and a faces shard its readers refuse", async () => {
    const withCrops = await faceJobOnSource("crops", {});
    const without = await faceJobOnSource("nocrops", { options: { ...options, crops: false } });
    const traces = async (key: string) =>
      Array.from(getTensor(decodeSafetensors(await storage.get(key)), "rgb", "F32").data);
    expect(await traces(without.tracesKey)).toEqual(await traces(withCrops.tracesKey));
    expect(without.facesFound).toBe(withCrops.facesFound);
    const faces = decodeSafetensors(await storage.get(without.facesKey));
    expect(getTensor(faces, "images", "U8").shape).toEqual([without.facesFound, 0, 0, 3]);
    expect(getTensor(faces, "box", "F32").shape).toEqual([without.facesFound, 4]);
    const stored = await storage.get(without.facesKey);
    expect(() => decodeFacesShard(stored, without.facesKey)).toThrow(
      /faces\/nocrops\/P02\/4\/0000\.safetensors holds no face crops .*--neural or --cnn/,
    );
    expect(decodeFacesShard(await storage.get(withCrops.facesKey), withCrops.facesKey).cropSize).toBe(128);
  }, 120_000);

  /** A face job of participant P09 on a 1-s 320x240 segment, its chunk stored first with its SHA-256. */
  async function faceJobOnChunk(
    input: { videoId: string; facesHash: string; chunkKey: string },
    bytes: Buffer,
  ) {
    await storage.put(input.chunkKey, bytes);
    return processFaceJob(
      {
        participant: "P09",
        ...input,
        segment: 0,
        chunkSha256: createHash("sha256").update(bytes).digest("hex"),
        firstFrame: 0,
        frameCount: 25,
        fps: 25,
        width: 320,
        height: 240,
        options,
      },
      { storage, analyser },
    );
  }

  it("names the chunk's storage key, not the worker's scratch copy, when the chunk cannot be decoded", async () => {
    const job = faceJobOnChunk(
      { videoId: "8", facesHash: "h3", chunkKey: "frames/h3/P09/8/0000-broken.mkv" },
      Buffer.from("these bytes are not a video at all"),
    );
    await expect(job).rejects.toThrow(/frames\/h3\/P09\/8\/0000-broken\.mkv/);
    await expect(job).rejects.not.toThrow(/hrpipe-face-/);
  });

  it("fails a segment without any face as bad input, writing no shards but a note a re-run reads", async () => {
    const file = path.join(dir, "noface.mkv");
    const encoder = new VideoEncoder(file, { width: 320, height: 240, fps: 25 });
    const frame = new Uint8Array(320 * 240 * 3);
    for (let k = 0; k < 25; k++) {
      for (let p = 0; p < frame.length; p++) frame[p] = (p * 7 + k * 13) % 256;
      await encoder.write(frame);
    }
    await encoder.close();
    const job = faceJobOnChunk(
      { videoId: "7", facesHash: "h2", chunkKey: "frames/h2/P09/7/0000.mov" },
      await readFile(file),
    );
    await expect(job).rejects.toBeInstanceOf(BadInputError);
    await expect(job).rejects.toThrow(/^P09\/7: no face in frames 0-24 \(segment 0\)/);
    // No shards: only the note that this content, with these options, shows no face.
    expect((await storage.list("faces/h2/")).map((o) => o.key)).toEqual([
      "faces/h2/P09/7/0000.faceless.json",
    ]);
    expect((await storage.list("traces/h2/")).map((o) => o.key)).toEqual([]);
  });
});
