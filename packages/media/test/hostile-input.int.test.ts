import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFrames, MediaError, probeVideo, VideoEncoder } from "../src/index.ts";

/** Inputs that try to make ffmpeg read something other than the one file it was given. */
describe("ffmpeg reads only the file it is given, in a container hrpipe supports", () => {
  let dir: string;
  let secret: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-hostile-"));
    secret = path.join(dir, "secret.mp4");
    const encoder = new VideoEncoder(secret, { width: 64, height: 48, fps: 10 });
    for (let k = 0; k < 10; k++) await encoder.write(new Uint8Array(64 * 48 * 3).fill(200));
    await encoder.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("refuses an HLS playlist saved as source.mov that points at another file on the worker", async () => {
    const segment = path.join(dir, "secret.ts");
    // An MPEG-TS copy of a file on the worker's disk, for the playlist to name.
    execFileSync("ffmpeg", ["-v", "error", "-y", "-i", secret, "-c", "copy", "-f", "mpegts", segment]);
    const playlist = path.join(dir, "source.mov");
    await writeFile(
      playlist,
      `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://${segment}\n#EXT-X-ENDLIST\n`,
    );
    await expect(probeVideo(playlist)).rejects.toThrow(MediaError);
    await expect(probeVideo(playlist)).rejects.toThrow(/source\.mov cannot be probed: .*not on whitelist/);
    const frames = decodeFrames(
      playlist,
      { firstFrame: 0, frameCount: 5, fps: 10 },
      { width: 64, height: 48 },
    );
    await expect(
      (async () => {
        for await (const _ of frames);
      })(),
    ).rejects.toThrow(/source\.mov yielded 0 of 5 frames/);
  });

  it("reads hrpipe's own chunks as Matroska only: a QuickTime file in a chunk's place is refused", async () => {
    const frames = decodeFrames(
      secret,
      { firstFrame: 0, frameCount: 5, fps: 10 },
      { width: 64, height: 48 },
      { format: "matroska" },
    );
    await expect(
      (async () => {
        for await (const _ of frames);
      })(),
    ).rejects.toThrow(/yielded 0 of 5 frames/);
  });

  it("takes names shaped like options or protocols as file names", async () => {
    const concat = path.join(dir, "concat:secret.mp4|secret.mp4");
    await copyFile(secret, concat);
    expect((await probeVideo(concat)).frameCount).toBe(10);
    await copyFile(secret, path.join(dir, "-i.mp4"));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await probeVideo("-i.mp4")).frameCount).toBe(10);
    } finally {
      process.chdir(cwd);
    }
  });
});
