import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFrames, MediaError, VideoEncoder } from "../src/ffmpeg.ts";

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
});
