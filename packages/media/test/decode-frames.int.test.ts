import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveTool } from "../src/binaries.ts";
import { decodeFrames, MediaError, probeVideo, retimeVideo, VideoEncoder } from "../src/ffmpeg.ts";

const size = { width: 64, height: 48 };

describe("decodeFrames", () => {
  let dir: string;
  let video: string;
  /** decodeFrames' named pipes go to the temp folder: this file's own, to see what is left there. */
  let pipes: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-media-test-"));
    pipes = path.join(dir, "tmp");
    await mkdir(pipes);
    process.env.TMPDIR = pipes;
    video = path.join(dir, "levels.mp4");
    // Frame k is a flat grey of level 20 k, so each frame names itself.
    const encoder = new VideoEncoder(video, { ...size, fps: 25, crf: 0 });
    for (let k = 0; k < 10; k++)
      await encoder.write(new Uint8Array(size.width * size.height * 3).fill(20 * k));
    await encoder.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("yields the asked frames in order and cleans up after itself", async () => {
    const levels: number[] = [];
    for await (const frame of decodeFrames(video, { firstFrame: 3, frameCount: 5, fps: 25 }, size))
      levels.push(Math.round(frame.reduce((sum, v) => sum + v, 0) / frame.length / 20));
    expect(levels).toEqual([3, 4, 5, 6, 7]);
    expect(await readdir(pipes)).toEqual([]);
  });

  it("stops ffmpeg when the consumer stops early", async () => {
    let seen = 0;
    for await (const _ of decodeFrames(video, { firstFrame: 0, frameCount: 10, fps: 25 }, size)) {
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
    expect(await readdir(pipes)).toEqual([]);
  });

  it("fails with ffmpeg's reason, without hanging, when ffmpeg cannot open the input", async () => {
    const garbage = path.join(dir, "garbage.mov");
    await writeFile(garbage, "not a video at all");
    const frames = decodeFrames(garbage, { firstFrame: 0, frameCount: 5, fps: 25 }, size);
    const attempt = (async () => {
      for await (const _ of frames);
    })();
    await expect(attempt).rejects.toBeInstanceOf(MediaError);
    await expect(attempt).rejects.toThrow(/garbage\.mov yielded 0 of 5 frames .*Invalid data/);
    expect(await readdir(pipes)).toEqual([]);
  });

  it("fails naming the shortfall when the file has fewer frames than asked for", async () => {
    const attempt = (async () => {
      for await (const _ of decodeFrames(video, { firstFrame: 6, frameCount: 8, fps: 25 }, size));
    })();
    await expect(attempt).rejects.toThrow(/levels\.mp4 yielded 4 of 8 frames from frame 6/);
  });

  it("encodes each frame as it was when written, though the caller reuses one buffer", async () => {
    // What every frame generator does: fill one buffer, write it, fill it again. The write must not
    // keep a reference that the next fill overwrites while the frame waits in the pipe.
    const reused = path.join(dir, "reused.mp4");
    const encoder = new VideoEncoder(reused, { ...size, fps: 25, crf: 0 });
    const frame = new Uint8Array(size.width * size.height * 3);
    const frameCount = 120;
    for (let k = 0; k < frameCount; k++) await encoder.write(frame.fill((k * 2) % 240));
    await encoder.close();
    const levels: number[] = [];
    for await (const decoded of decodeFrames(reused, { firstFrame: 0, frameCount, fps: 25 }, size))
      levels.push(Math.round(decoded.reduce((sum, v) => sum + v, 0) / decoded.length / 2));
    expect(levels).toEqual(Array.from({ length: frameCount }, (_, k) => k % 120));
  });

  it("puts a variable frame-rate file's frames on its own clock: frame k is the picture shown at k / fps", async () => {
    // 60 frames at 30 fps, frame i a grey of level 4 i, of which every third is dropped: 40 frames
    // whose gaps alternate between 1/30 and 1/15 s, as a phone's recording stutters.
    const steady = path.join(dir, "steady.mp4");
    const encoder = new VideoEncoder(steady, { ...size, fps: 30, crf: 0 });
    for (let i = 0; i < 60; i++)
      await encoder.write(new Uint8Array(size.width * size.height * 3).fill(4 * i));
    await encoder.close();
    const stutter = path.join(dir, "stutter.mp4");
    await promisify(execFile)(resolveTool("ffmpeg").path, [
      ...["-v", "error", "-i", steady, "-vf", "select='not(eq(mod(n\\,3)\\,2))'", "-vsync", "vfr"],
      ...["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", stutter],
    ]);
    const info = await probeVideo(stutter);
    expect(info.variableFrameRate).toBe(true);
    expect(info.fps).toBeCloseTo(20, 0);
    expect(info.longestFrameGapS).toBeCloseTo(1 / 15, 3);
    const sourceTimesS: number[] = [];
    for await (const frame of decodeFrames(
      stutter,
      { firstFrame: 0, frameCount: info.frameCount, fps: info.fps },
      size,
    ))
      sourceTimesS.push(Math.round(frame.reduce((sum, v) => sum + v, 0) / frame.length / 4) / 30);
    expect(sourceTimesS).toHaveLength(info.frameCount);
    // Frame k is the last picture shown by k / fps plus half a frame: the nearest one, or in a gap
    // the one still on screen. At the nominal 30 fps ffmpeg would repeat frames instead and the video
    // would end two thirds of the way through.
    const keptTimesS = Array.from({ length: 60 }, (_, i) => i / 30).filter((_, i) => i % 3 !== 2);
    expect(sourceTimesS).toEqual(
      sourceTimesS.map((_, k) => keptTimesS.filter((t) => t <= (k + 0.5) / info.fps).pop()),
    );
    // A range decoded alone gives the same frames as the whole.
    const middle: number[] = [];
    for await (const frame of decodeFrames(stutter, { firstFrame: 13, frameCount: 11, fps: info.fps }, size))
      middle.push(Math.round(frame.reduce((sum, v) => sum + v, 0) / frame.length / 4) / 30);
    expect(middle).toEqual(sourceTimesS.slice(13, 24));
  });

  it("counts frames from a stream's first frame where the container starts later (MPEG-TS at 1.4 s)", async () => {
    const stream = path.join(dir, "levels.ts");
    await promisify(execFile)(resolveTool("ffmpeg").path, [
      ...["-v", "error", "-i", video, "-c", "copy", "-f", "mpegts", stream],
    ]);
    const info = await probeVideo(stream);
    expect(info.originS).toBeCloseTo(1.4, 3);
    expect(info.frameCount).toBe(10);
    const levels = async (firstFrame: number, frameCount: number) => {
      const seen: number[] = [];
      const range = { firstFrame, frameCount, fps: info.fps, originS: info.originS };
      for await (const frame of decodeFrames(stream, range, size))
        seen.push(Math.round(frame.reduce((sum, v) => sum + v, 0) / frame.length / 20));
      return seen;
    };
    // Not 1.4 s of the first frame repeated: frame 0 is the first picture.
    expect(await levels(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await levels(6, 3)).toEqual([6, 7, 8]);
  });
  it("re-times a stream copy to another rate, VP9 (which QuickTime does not take) included: the same frames, k at k / the new rate", async () => {
    // 100 frames, frame k of level 20 (k mod 10), at 25 fps.
    const long = path.join(dir, "levels-100.mkv");
    const encoder = new VideoEncoder(long, { ...size, fps: 25, crf: 0 });
    for (let k = 0; k < 100; k++)
      await encoder.write(new Uint8Array(size.width * size.height * 3).fill(20 * (k % 10)));
    await encoder.close();
    for (const codec of [
      ["-c:v", "copy"],
      ["-c:v", "libvpx-vp9", "-lossless", "1"],
    ]) {
      const source = path.join(dir, `levels-${codec[1]}.mkv`);
      await promisify(execFile)(resolveTool("ffmpeg").path, ["-v", "error", "-i", long, ...codec, source]);
      const retimed = path.join(dir, `levels-${codec[1]}-retimed`);
      await retimeVideo(source, retimed, { originS: 0, timeScale: 25 / 30 });
      // The declared rate is near the new one (QuickTime), the frames sit on its grid.
      expect(Math.abs((await probeVideo(retimed)).fps / 30 - 1), codec[1]).toBeLessThan(0.002);
      const info = await probeVideo(retimed, { fps: 30 });
      expect(info, codec[1]).toMatchObject({ fps: 30, frameCount: 100, variableFrameRate: false });
      const seen: number[] = [];
      for await (const frame of decodeFrames(
        retimed,
        { firstFrame: 0, frameCount: 100, fps: info.fps },
        size,
      ))
        seen.push(Math.round(frame.reduce((sum, v) => sum + v, 0) / frame.length / 20));
      expect(seen, codec[1]).toEqual(Array.from({ length: 100 }, (_, k) => k % 10));
    }
  });
});
