import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type DecodedVideo, faceOptionsSchema, type VideoReference } from "@hrpipe/contracts";
import { decodeFrames, probeVideo, resolveTool } from "@hrpipe/media";
import { BadInputError, FileStorage } from "@hrpipe/runtime";
import { cachedFaceVideo, faceVideoSpec, readBarcode } from "@hrpipe/synth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processDecodeJob } from "../src/processor.ts";

const faceOptions = faceOptionsSchema.parse({});

describe("decode stage on a generated 30-s 720p H.264 .mov at 25 fps", () => {
  let dir: string;
  let storage: FileStorage;
  let source: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-decode-test-"));
    storage = new FileStorage(dir);
    source = await cachedFaceVideo(faceVideoSpec({ durationS: 30, barcode: true }));
    await storage.put("amigos/P01_4_face.mov", await readFile(source));
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The decode stage on a stored video, in `segmentS`-s segments. */
  function decodeStored(participant: string, videoId: string, videoKey: string, segmentS: number) {
    return processDecodeJob(
      { participant, videoId, videoKey, options: { segmentS }, face: faceOptions },
      { storage },
    );
  }

  /** Makes a video from the test video with ffmpeg (`args` between input and output), then stores and decodes it. */
  async function transcodeAndDecode(name: string, args: string[], segmentS: number): Promise<DecodedVideo> {
    const file = path.join(dir, name);
    await promisify(execFile)(resolveTool("ffmpeg").path, ["-v", "error", "-i", source, ...args, file]);
    await storage.put(`made/${name}`, await readFile(file));
    const [videoId] = name.split(".");
    return decodeStored("made", videoId!, `made/${name}`, segmentS);
  }

  /** Each chunk of a decode result decoded as the face stage decodes it, read back as source frame numbers. */
  async function chunkBarcodes(result: DecodedVideo): Promise<number[]> {
    const indices: number[] = [];
    for (const chunk of result.chunks) {
      const file = path.join(dir, `chunk-${result.facesHash}-${chunk.segment}.mkv`);
      await writeFile(file, await storage.get(chunk.chunkKey));
      for await (const frame of decodeFrames(file, { ...chunk, fps: result.fps }, result))
        indices.push(readBarcode(frame, result.width));
    }
    return indices;
  }

  for (const segmentS of [10, 7]) {
    it(`yields exactly ffprobe's frame count, in order, across ${segmentS}-s segment boundaries`, async () => {
      const info = await probeVideo(source);
      expect(info).toMatchObject({ fps: 25, width: 1280, height: 720, frameCount: 750, codec: "h264" });
      const result = await decodeStored("P01", "4", "amigos/P01_4_face.mov", segmentS);
      expect(result.segments).toHaveLength(Math.ceil(30 / segmentS));
      expect(await chunkBarcodes(result)).toEqual(Array.from({ length: 750 }, (_, i) => i));
      // Chunks cost about the source's own bytes per second, not raw frames (1280 x 720 x 3 x 25 = 69 MB/s).
      expect(result.chunkBytesPerVideoS).toBeLessThan(4 * ((await readFile(source)).length / 30));
    });
  }

  it("decodes chunk pixels identical to a decode of the source (mean error 0 per channel)", async () => {
    const info = await probeVideo(source);
    const result = await decodeStored("P01", "4", "amigos/P01_4_face.mov", 7);
    const chunk = result.chunks[2]!;
    const file = path.join(dir, "pixels.mkv");
    await writeFile(file, await storage.get(chunk.chunkKey));
    const range = { firstFrame: chunk.firstFrame, frameCount: chunk.frameCount, fps: info.fps };
    const fromChunk: Uint8Array[] = [];
    for await (const frame of decodeFrames(file, range, info)) fromChunk.push(frame.slice());
    const errorSum = [0, 0, 0];
    let i = 0;
    for await (const frame of decodeFrames(source, range, info)) {
      const other = fromChunk[i++]!;
      for (let p = 0; p < frame.length; p++) errorSum[p % 3]! += Math.abs(frame[p]! - other[p]!);
    }
    expect(i).toBe(chunk.frameCount);
    expect(errorSum.map((sum) => sum / ((i * info.width * info.height) as number))).toEqual([0, 0, 0]);
  });

  it("cuts a variable frame-rate video into chunks that decode to the same frames, on its own clock", async () => {
    // The first 12 s with frames 2 and 4 of every 5 and every 11th dropped: gaps of 1 to 3 frames.
    const stutter = path.join(dir, "stutter.mp4");
    await promisify(execFile)(resolveTool("ffmpeg").path, [
      ...[
        "-v",
        "error",
        "-t",
        "12",
        "-i",
        source,
        "-vf",
        "select='not(eq(mod(n\\,5)\\,2)+eq(mod(n\\,5)\\,4)+eq(mod(n\\,11)\\,0))'",
      ],
      ...["-vsync", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", stutter],
    ]);
    await storage.put("phone/stutter.mp4", await readFile(stutter));
    const info = await probeVideo(stutter);
    expect(info.variableFrameRate).toBe(true);
    const result = await decodeStored("phone", "stutter", "phone/stutter.mp4", 2);
    // H.264 4:2:0 of unspecified colour (read as BT.601): carried to the face stage as 4:2:0.
    expect(result).toMatchObject({ fps: info.fps, frameCount: info.frameCount, yuv420: "bt601" });
    const fromChunks = await chunkBarcodes(result);
    const whole: number[] = [];
    // Frame 0 was dropped: the stream starts at 0.04 s, and decode re-timed it to start at 0.
    expect(info.originS).toBeCloseTo(0.04, 3);
    const range = { firstFrame: 0, frameCount: info.frameCount, fps: info.fps, originS: info.originS };
    for await (const frame of decodeFrames(stutter, range, info)) whole.push(readBarcode(frame, info.width));
    const sinceFirstS = (sourceFrame: number) => sourceFrame / 25 - info.originS;
    // The same frames, but where a frame's time falls within a chunk's millisecond clock of half-way
    // between two frames of the grid: there either is as near.
    expect(fromChunks).toHaveLength(whole.length);
    for (const [k, sourceFrame] of fromChunks.entries())
      if (sourceFrame !== whole[k])
        expect(Math.abs(sinceFirstS(Math.max(sourceFrame, whole[k]!)) - (k + 0.5) / info.fps)).toBeLessThan(
          0.001,
        );
    expect(fromChunks.filter((sourceFrame, k) => sourceFrame !== whole[k]).length).toBeLessThan(3);
    // Frame k shows the source's frame (25 fps) on screen at k / fps, to within half a frame.
    for (const [k, sourceFrame] of whole.entries())
      expect(Math.abs(sinceFirstS(sourceFrame) - k / info.fps), `frame ${k}`).toBeLessThan(3 / 25);
    expect(whole.at(-1)! / 25).toBeCloseTo(12, 0);
  });

  it("cuts a stream that starts at 1.4 s (MPEG-TS) as one that starts at 0: frame 0 is its first picture", async () => {
    const result = await transcodeAndDecode("camera.ts", ["-c", "copy", "-f", "mpegts"], 10);
    expect((await probeVideo(path.join(dir, "camera.ts"))).originS).toBeGreaterThan(1);
    expect(result).toMatchObject({ fps: 25, frameCount: 750 });
    expect(await chunkBarcodes(result)).toEqual(Array.from({ length: result.frameCount }, (_, i) => i));
  });

  it("puts a video on the rate its dataset's record of frame times gives, not its container's average", async () => {
    // A 25-fps camera that dropped 10 frames (0.4 s) of 310, written at its average rate (24.2 fps),
    // as UBFC-rPPG's are; ground_truth.txt holds each kept frame's arrival time (ms, +/-4 ms jitter).
    const file = path.join(dir, "dropped.mov");
    const ffmpeg = (args: string[]) =>
      promisify(execFile)(resolveTool("ffmpeg").path, ["-v", "error", ...args]);
    await ffmpeg([
      ...["-i", source, "-frames:v", "300", "-c:v", "libx264", "-preset", "ultrafast"],
      ...["-bf", "0", "-crf", "12", "-f", "h264", `${file}.h264`],
    ]);
    await ffmpeg(["-r", "24.2", "-i", `${file}.h264`, "-c", "copy", "-f", "mov", file]);
    expect((await probeVideo(file)).fps).toBeCloseTo(24.2, 1);
    const timeS = Array.from(
      { length: 300 },
      (_, k) => Math.round(1000 * ((k + (k >= 150 ? 10 : 0)) / 25 + 0.004 * Math.sin(k))) / 1000,
    );
    const groundTruth = [timeS.map((t) => Math.sin(2 * Math.PI * 1.2 * t)), timeS.map(() => 72), timeS]
      .map((line) => line.join(" "))
      .join("\n");
    await storage.put("made/subject1/vid.mov", await readFile(file));
    await storage.put("made/subject1/ground_truth.txt", Buffer.from(groundTruth));
    const decode = (reference?: VideoReference) =>
      processDecodeJob(
        {
          participant: "subject1",
          videoId: "vid",
          videoKey: "made/subject1/vid.mov",
          ...(reference ? { reference } : {}),
          options: { segmentS: 5 },
          face: faceOptions,
        },
        { storage },
      );
    const result = await decode({
      layout: "ubfc-rppg",
      key: "made/subject1/ground_truth.txt",
      file: "subject1/ground_truth.txt",
      kind: "ppg",
    });
    expect(result.fps).toBeCloseTo(25, 1);
    expect(result.frameCount).toBe(300);
    expect(await chunkBarcodes(result)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // The same file without the record stays on its container's clock, under another address.
    const plain = await decode();
    expect(plain.fps).toBeCloseTo(24.2, 1);
    expect(plain.facesHash).not.toBe(result.facesHash);
  });

  it("cuts an AVI, whose packets carry no presentation times, frame for frame", async () => {
    const result = await transcodeAndDecode(
      "vid.avi",
      ["-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-crf", "12"],
      3,
    );
    expect(result).toMatchObject({ fps: 25, frameCount: 200 });
    expect(await chunkBarcodes(result)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("encodes an image sequence (PURE's PNG frames) losslessly and cuts it like a video", async () => {
    // The source's first 2 s as PNGs: the pictures decodeFrames gives, pixel for pixel.
    const pngs = path.join(dir, "pngs");
    await mkdir(pngs);
    await promisify(execFile)(resolveTool("ffmpeg").path, [
      ...["-v", "error", "-i", source, "-t", "2", "-pix_fmt", "rgb24", "-start_number", "0"],
      path.join(pngs, "Image%03d.png"),
    ]);
    const info = await probeVideo(source);
    const names = (await readdir(pngs)).sort();
    expect(names).toHaveLength(50);
    const frames = [];
    for (const name of names) {
      const key = `pure/01-01/${name}`;
      await storage.put(key, await readFile(path.join(pngs, name)));
      frames.push({ path: `01-01/${name}`, key });
    }
    const sequence = {
      format: "hrpipe-image-sequence" as const,
      version: 1 as const,
      folder: "01-01",
      fps: 25,
      frames,
    };
    await storage.put("sequences/01-01.json", JSON.stringify(sequence));
    const decode = (segmentS: number) =>
      processDecodeJob(
        {
          participant: "01",
          videoId: "01",
          videoKey: "sequences/01-01.json",
          imageSequence: true,
          videoName: "01-01",
          options: { segmentS },
          face: faceOptions,
        },
        { storage },
      );
    const result = await decode(0.6);
    expect(result).toMatchObject({ fps: 25, frameCount: 50 });
    expect(result.segments).toHaveLength(4);
    const range = { firstFrame: 0, frameCount: 50, fps: 25 };
    const expected: Uint8Array[] = [];
    for await (const frame of decodeFrames(source, range, info)) expected.push(frame.slice());
    let k = 0;
    for (const chunk of result.chunks) {
      const file = path.join(dir, `sequence-${chunk.segment}.mkv`);
      await writeFile(file, await storage.get(chunk.chunkKey));
      for await (const frame of decodeFrames(file, { ...chunk, fps: 25 }, info)) {
        expect(readBarcode(frame, info.width)).toBe(k);
        expect(Buffer.compare(frame, expected[k]!), `frame ${k}`).toBe(0);
        k++;
      }
    }
    expect(k).toBe(50);
    // The same frames address the same shards; a frame changed addresses new ones.
    expect((await decode(0.6)).facesHash).toBe(result.facesHash);
    await storage.put(frames[7]!.key, await readFile(path.join(pngs, names[8]!)));
    expect((await decode(0.6)).facesHash).not.toBe(result.facesHash);
  });

  it("fails a truncated video as bad input naming the key", async () => {
    const bytes = await readFile(source);
    await storage.put("amigos/P02_4_face.mov", bytes.subarray(0, Math.floor(bytes.length / 2)));
    const attempt = decodeStored("P02", "4", "amigos/P02_4_face.mov", 10);
    await expect(attempt).rejects.toBeInstanceOf(BadInputError);
    await expect(attempt).rejects.toThrow(
      /^amigos\/P02_4_face\.mov is truncated: its header lists 750 frames but only \d+ are present\.$/,
    );
    expect(await storage.list("frames/")).not.toContainEqual(
      expect.objectContaining({ key: expect.stringContaining("P02") }),
    );
  });

  it("fails a file that is not a video as bad input", async () => {
    await copyFile(path.join(import.meta.dirname, "decode.int.test.ts"), path.join(dir, "not-video.mov"));
    await storage.put("amigos/P03_4_face.mov", await readFile(path.join(dir, "not-video.mov")));
    await expect(decodeStored("P03", "4", "amigos/P03_4_face.mov", 10)).rejects.toThrow(
      /^amigos\/P03_4_face\.mov cannot be probed: /,
    );
  });
});
