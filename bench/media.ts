import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { faceOptionsSchema } from "@hrpipe/contracts";
import {
  analyseFaces,
  analysisSize,
  type Box,
  decodePictures,
  detectLargestFace,
  type FaceApiTensor,
  FaceDetector,
  iou,
  LandmarkDetector,
  LocalFaceAnalyser,
  loadFaceApi,
  onFaceApiImage,
  Picture,
  squareCrop,
  wholeVideo,
} from "@hrpipe/face";
import { launcher, probeVideo, resolveTool } from "@hrpipe/media";
import { FileStorage } from "@hrpipe/runtime";
import { median } from "@hrpipe/signal";
import { cachedFaceVideo, faceVideoSpec } from "@hrpipe/synth";
import { processDecodeJob } from "@hrpipe/worker-decode";
import { processFaceJob } from "@hrpipe/worker-face";
import { type BenchResult, machineDescription } from "./report.ts";

/**
 * Runs ffmpeg as the workers do, through the process launcher: forked from this process, which holds
 * the face nets, it would slow the face job timed after it (docs/profiles.md).
 */
async function ffmpeg(args: string[]): Promise<void> {
  const result = await launcher.launch(resolveTool("ffmpeg").path, args).result;
  if (result.code !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${result.stderr.trim()}`);
}
/** The pipeline's face options (tiny detector at 320, detect every 8, 128-px crops). */
const faceOptions = faceOptionsSchema.parse({});

const benchVideoKey = "v/P01_4_face.mov";

/** The decode stage on the stored benchmark video in 10-s segments, as a decode worker runs it. */
function segmentVideo(storage: FileStorage) {
  return processDecodeJob(
    {
      participant: "P01",
      videoId: "4",
      videoKey: "v/P01_4_face.mov",
      options: { segmentS: 10 },
      face: faceOptions,
    },
    { storage },
  );
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** Decode stage against `ffmpeg -f null` on the same 30-s 720p H.264 file, in the same run. */
export async function benchDecode(): Promise<BenchResult> {
  const source = await cachedFaceVideo(faceVideoSpec({ durationS: 30 }));
  const info = await probeVideo(source);
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-decode-"));
  try {
    const storage = new FileStorage(dir);
    await storage.put(benchVideoKey, await readFile(source));
    const reference = await timed(() => ffmpeg(["-v", "error", "-i", source, "-f", "null", "-"]));
    // What a face job reads: RGB24 at the analysis size. The least any consumer of those frames can
    // cost is ffmpeg making them and writing them to nowhere.
    const size = analysisSize(info.width, info.height, faceOptions.analysisSide);
    const framesReference = await timed(() =>
      ffmpeg([
        ...["-v", "error", "-i", source, "-vf", `scale=${size.width}:${size.height}:flags=area`],
        ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"],
      ]),
    );
    const stage = await timed(() => segmentVideo(storage));
    // The pixels themselves are decoded where they are used, in the face stage: time that path too.
    const pixels = await timed(async () => {
      let frames = 0;
      for (const chunk of stage.value.chunks) {
        const file = path.join(dir, `c${chunk.segment}.mkv`);
        await writeFile(file, await storage.get(chunk.chunkKey));
        const window = { ...chunk, fps: info.fps, width: info.width, height: info.height };
        const options = { format: "matroska" as const, analysisSide: faceOptions.analysisSide };
        for await (const _ of decodePictures(file, window, options)) frames++;
      }
      return frames;
    });
    const referenceFps = info.frameCount / reference.seconds;
    const rawBytesPerS = info.width * info.height * 3 * info.fps;
    return {
      name: "decode",
      title: "Decode stage",
      method:
        `A generated ${info.durationS}-s ${info.width}x${info.height} H.264 .mov at ${info.fps} fps (${info.frameCount} frames), 10-s segments. ` +
        "The decode stage probes, finds keyframes and copies each segment's coded frames into a chunk (no re-encode, bit-exact pixels); " +
        "the reference is `ffmpeg -f null` decoding the whole file, timed in the same run. Pixels are decoded where they are used, " +
        `in the face stage: decoding the chunks into the frames a face job reads (RGB24 at the analysis size, ${size.width}x${size.height}) in a worker's memory is timed too, against \`ffmpeg -f null\` and ` +
        "against ffmpeg decoding the file to the same frames into /dev/null (no consumer). Both cores are free.",
      rows: [
        {
          metric: "decode stage (segmenting)",
          value: info.frameCount / stage.seconds,
          unit: "frames/s",
          reference: { what: "ffmpeg -f null", value: referenceFps },
          target: ">= 0.8x reference",
          met: info.frameCount / stage.seconds >= 0.8 * referenceFps,
        },
        {
          metric: "chunk -> RGB24 frames at the analysis size in the worker",
          value: pixels.value / pixels.seconds,
          unit: "frames/s",
          reference: { what: "ffmpeg -f null", value: referenceFps },
        },
        {
          metric: "chunk -> RGB24 frames in the worker, against ffmpeg's own output of them",
          value: pixels.value / pixels.seconds,
          unit: "frames/s",
          reference: {
            what: "ffmpeg to RGB24 into /dev/null",
            value: info.frameCount / framesReference.seconds,
          },
        },
        {
          metric: "intermediate bytes",
          value: stage.value.chunkBytesPerVideoS / 1e6,
          unit: "MB per video-second",
          reference: { what: "raw RGB24 at the stored size", value: rawBytesPerS / 1e6 },
        },
      ],
      measuredAt: new Date().toISOString().slice(0, 10),
      machine: machineDescription(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Milliseconds per call of `work`, over `calls` calls after one warm-up call. */
async function perCallMs(calls: number, work: () => Promise<unknown>): Promise<number> {
  await work();
  const started = performance.now();
  for (let i = 0; i < calls; i++) await work();
  return (performance.now() - started) / calls;
}

/**
 * The face stage at 720p for one worker on one core: a face job end to end against ffmpeg's own decode
 * of the same chunk, the face nets in ONNX Runtime against face-api's tfjs, and the tracking agreement
 * that chose detectEvery.
 */
export async function benchFace(): Promise<BenchResult> {
  const source = await cachedFaceVideo(faceVideoSpec({ durationS: 10 }));
  const info = await probeVideo(source);
  const detector = await FaceDetector.create({
    kind: faceOptions.detector,
    inputSize: faceOptions.inputSize,
  });
  const landmarks = await LandmarkDetector.create();
  const rows: BenchResult["rows"] = [];
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-face-"));
  try {
    const storage = new FileStorage(dir);
    await storage.put(benchVideoKey, await readFile(source));
    const decoded = await segmentVideo(storage);
    const chunk = decoded.chunks[0]!;
    const chunkFile = path.join(dir, "chunk.mkv");
    await writeFile(chunkFile, await storage.get(chunk.chunkKey));
    // On this thread: a benchmark of one core measures one job.
    const analyser = new LocalFaceAnalyser();
    const faceJob = (jobStorage: FileStorage, options: typeof faceOptions) =>
      processFaceJob(
        {
          participant: "P01",
          videoId: "4",
          facesHash: decoded.facesHash,
          segment: 0,
          chunkKey: chunk.chunkKey,
          chunkSha256: chunk.chunkSha256,
          firstFrame: 0,
          frameCount: chunk.frameCount,
          fps: info.fps,
          width: info.width,
          height: info.height,
          yuv420: decoded.yuv420,
          options,
        },
        { storage: jobStorage, analyser },
      );
    // A warm-up window: the nets' first calls allocate their buffers.
    await analyser.analyse({
      file: source,
      window: { ...wholeVideo(info), frameCount: 25 },
      options: faceOptions,
    });
    // The median of three jobs and of three decodes: a shared machine's speed varies run to run. Each
    // job has a storage of its own holding the chunk: a job deletes its chunk and skips shards that exist.
    const chunkBytes = await readFile(chunkFile);
    // With crops, as a run with a network or the CNN plans its face jobs; without, as one of the
    // classical methods alone does (the run's default).
    const jobs = { crops: faceOptions, noCrops: { ...faceOptions, crops: false } };
    const jobSeconds = { crops: [] as number[], noCrops: [] as number[] };
    const decodeSeconds: number[] = [];
    for (let run = 0; run < 3; run++) {
      for (const [kind, options] of Object.entries(jobs) as [keyof typeof jobs, typeof faceOptions][]) {
        const jobStorage = new FileStorage(path.join(dir, `job-${kind}-${run}`));
        await jobStorage.put(chunk.chunkKey, chunkBytes);
        jobSeconds[kind].push((await timed(() => faceJob(jobStorage, options))).seconds);
      }
      decodeSeconds.push(
        (await timed(() => ffmpeg(["-v", "error", "-i", chunkFile, "-f", "null", "-"]))).seconds,
      );
    }
    const decodeFps = chunk.frameCount / median(decodeSeconds);
    for (const [kind, what] of [
      ["crops", "with crops, as for a network"],
      ["noCrops", "without crops, as for the classical methods"],
    ] as const) {
      const jobFps = chunk.frameCount / median(jobSeconds[kind]);
      rows.push({
        metric: `face job end to end (chunk in, shards out; landmark skin area, ${info.width}x${info.height}, ${what})`,
        value: jobFps,
        unit: "frames/s",
        reference: { what: "ffmpeg -f null on the same chunk", value: decodeFps },
        target: ">= 200 frames/s",
        met: jobFps >= 200,
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const window = wholeVideo(info);
  // The first frame at the analysis size, copied out of the decoder's reused buffer.
  let first: Picture | undefined;
  for await (const picture of decodePictures(source, { ...window, frameCount: 1 }, faceOptions))
    first = new Picture(picture.rgb.slice(), picture.width, picture.height);
  const face = (await detectLargestFace(detector, first!))!;
  const square160 = first!.resized(squareCrop(face, 1), 160, 160);
  const whole320 = first!.resized({ x: 0, y: 0, width: first!.width, height: first!.width }, 320, 320);
  const crop112 = first!.resized(squareCrop(face, 0), 112, 112);
  // face-api itself on tfjs's WebAssembly backend: what the face stage ran its nets on before ONNX Runtime.
  const api = await loadFaceApi(["tinyFaceDetector", "faceLandmark68Net"], "wasm");
  const viaFaceApi = (run: (input: FaceApiTensor) => Promise<unknown>, image: Uint8Array, side: number) =>
    onFaceApiImage(api, image, side, run);
  const tinyOptions = (inputSize: number) =>
    new api.TinyFaceDetectorOptions({ inputSize, scoreThreshold: 0.4 });
  const nets = [
    {
      what: "68-point landmark net, one 112x112 face",
      ours: () => landmarks.locate(new Picture(crop112, 112, 112), { x: 0, y: 0, width: 112, height: 112 }),
      theirs: () => viaFaceApi((input) => api.nets.faceLandmark68Net.detectLandmarks(input), crop112, 112),
    },
    {
      what: "TinyFaceDetector, the region around the face at 160",
      ours: () => detector.detect(new Picture(square160, 160, 160), 160),
      theirs: () => viaFaceApi((input) => api.detectAllFaces(input, tinyOptions(160)), square160, 160),
    },
    {
      what: "TinyFaceDetector, the whole frame at 320",
      ours: () => detector.detect(new Picture(whole320, 320, 320), 320),
      theirs: () => viaFaceApi((input) => api.detectAllFaces(input, tinyOptions(320)), whole320, 320),
    },
  ];
  for (const net of nets) {
    const ours = await perCallMs(100, net.ours);
    const theirs = await perCallMs(100, net.theirs);
    rows.push({
      metric: `${net.what}, ONNX Runtime (1 thread)`,
      value: ours,
      unit: "ms per call",
      reference: { what: "face-api on tfjs wasm", value: theirs },
    });
  }

  const perFrame: (Box | null)[] = [];
  const reference = await timed(async () => {
    for await (const picture of decodePictures(source, window))
      perFrame.push(await detectLargestFace(detector, picture));
  });
  for (const detectEvery of [4, 8, 16]) {
    const options = { detectEvery, cropSize: 128, landmarkEvery: faceOptions.landmarkEvery };
    const run = await timed(() =>
      analyseFaces(decodePictures(source, window, faceOptions), window, detector, options, landmarks),
    );
    let sum = 0;
    let pairs = 0;
    for (const [k, box] of run.value.boxes.entries()) {
      if (box && perFrame[k]) {
        sum += iou(box, perFrame[k]);
        pairs++;
      }
    }
    rows.push({
      metric: `face analysis with landmarks, detect every ${detectEvery} (mean IoU ${(sum / pairs).toFixed(3)} vs per-frame detection)`,
      value: info.frameCount / run.seconds,
      unit: "frames/s",
      reference: { what: "detection alone on every frame", value: info.frameCount / reference.seconds },
    });
  }
  return {
    name: "face",
    title: "Face stage (720p, one worker process)",
    method:
      `A generated 10-s ${info.width}x${info.height} video of a real face moving smoothly, cut into its decode-stage chunk. The face job as a worker runs it with the default ` +
      "options (frames decoded at the analysis size, 640x360 for this video, TinyFaceDetector at 320 on the whole frame and 160 in the region around the tracked face every 8 frames, content-based tracking between, the 68-point landmark net every 2 frames for the skin area, " +
      "128x128 crops and skin traces for every frame): the chunk read from storage and checked, decoded, analysed, both shards written; after a warm-up window, the median of three jobs. " +
      "Wall-clock frames/s of one process pinned to one core together with the ffmpeg child that decodes for it (`pnpm bench face` runs itself under `taskset -c 0`), " +
      "against `ffmpeg -i chunk -f null -` on the same core. The face nets run in ONNX Runtime on graphs built from face-api's shipped weights (parity tests: packages/face/test/face-nets.test.ts); " +
      "their rows time one call each against face-api's own on tfjs's WebAssembly backend in the same run (100 calls after a warm-up). The tracking rows: frames/s of the analysis alone and the mean IoU of its boxes with detection on every frame.",
    rows,
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
