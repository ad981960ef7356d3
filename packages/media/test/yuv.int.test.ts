import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveTool } from "../src/binaries.ts";
import { decodeFrames, probeVideo, VideoEncoder } from "../src/ffmpeg.ts";
import { type YuvMatrix, yuv420Matrix, yuv420RowConverter } from "../src/yuv.ts";

const ubfcVideo = path.resolve(import.meta.dirname, "../../../../shared/data/ubfc-rppg-dev/subject3/vid.mp4");

function ffmpeg(args: string[]): Buffer {
  return execFileSync(resolveTool("ffmpeg").path, ["-v", "error", ...args], { maxBuffer: 1 << 26 });
}

/** The first `frameCount` frames of a file decoded as ffmpeg's RGB24 and as 4:2:0 converted here, frame by frame. */
async function bothWays(file: string, frameCount: number) {
  const info = await probeVideo(file);
  const range = { firstFrame: 0, frameCount, fps: info.fps };
  const size = { width: info.width, height: info.height };
  const ffmpegRgb: Uint8Array[] = [];
  for await (const frame of decodeFrames(file, range, size)) ffmpegRgb.push(frame.slice());
  const converted: Uint8Array[] = [];
  const convert = yuv420RowConverter(yuv420Matrix(info)!);
  for await (const planes of decodeFrames(file, range, size, { pixelFormat: "yuv420p" })) {
    const rgb = new Uint8Array(size.width * size.height * 3);
    for (let y = 0; y < size.height; y++) convert(planes, size.width, size.height, y, 0, size.width, rgb);
    converted.push(rgb);
  }
  return { info, ffmpegRgb, converted };
}

/**
 * The first frame of a file halved here, against ffmpeg's own area scaling of it to half size as
 * 4:4:4 (-vf scale=area -pix_fmt yuv444p) converted by the full-size conversion: a 4:2:0 picture
 * whose every 2 x 2 luma block is one of ffmpeg's scaled luma samples, and whose chroma is ffmpeg's
 * scaled chroma, converted at full size at each block's top left pixel.
 */
async function halvedBothWays(file: string) {
  const info = await probeVideo(file);
  const matrix = yuv420Matrix(info)!;
  const [width, height] = [info.width / 2, info.height / 2];
  let planes: Uint8Array | undefined;
  const range = { firstFrame: 0, frameCount: 1, fps: info.fps };
  for await (const frame of decodeFrames(file, range, info, { pixelFormat: "yuv420p" }))
    planes = frame.slice();
  const halve = yuv420RowConverter(matrix, true);
  const halved = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) halve(planes!, width, height, y, 0, width, halved);
  const scale = `scale=${width}:${height}:flags=area`;
  const scaled = ffmpeg([
    "-i",
    file,
    "-frames:v",
    "1",
    "-vf",
    scale,
    "-pix_fmt",
    "yuv444p",
    "-f",
    "rawvideo",
    "-",
  ]);
  const blocks = new Uint8Array(info.width * info.height * 1.5);
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < info.width; x++) blocks[y * info.width + x] = scaled[(y >> 1) * width + (x >> 1)]!;
  blocks.set(scaled.subarray(width * height), info.width * info.height);
  const full = new Uint8Array(info.width * info.height * 3);
  const convert = yuv420RowConverter(matrix);
  for (let y = 0; y < info.height; y += 2) convert(blocks, info.width, info.height, y, 0, info.width, full);
  const expected = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = (2 * y * info.width + 2 * x) * 3;
      expected.set(full.subarray(at, at + 3), (y * width + x) * 3);
    }
  return { halved, expected };
}

/** How many bytes of two frame lists differ. */
function differingBytes(a: Uint8Array[], b: Uint8Array[]): number {
  let count = 0;
  for (const [k, frame] of a.entries())
    for (let i = 0; i < frame.length; i++) if (frame[i] !== b[k]![i]) count++;
  return count;
}

describe("4:2:0 frames converted where they are read", () => {
  let dir: string;
  let colours: string;
  /** The same pictures tagged BT.709 (the H.264 stream's own colour description), as HD cameras write them. */
  let colours709: string;
  let ubfc709: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hrpipe-yuv-test-"));
    colours = path.join(dir, "colours.mp4");
    // Saturated ramps of every channel and their mixtures: conversions clamp at both ends here.
    const size = { width: 96, height: 64 };
    const encoder = new VideoEncoder(colours, { ...size, fps: 25, crf: 0 });
    for (let k = 0; k < 4; k++) {
      const frame = new Uint8Array(size.width * size.height * 3);
      for (let y = 0; y < size.height; y++)
        for (let x = 0; x < size.width; x++) {
          const p = (y * size.width + x) * 3;
          frame[p] = (x * 255) / (size.width - 1);
          frame[p + 1] = ((y + 16 * k) * 255) / (size.height + 47);
          frame[p + 2] = ((x + y) % 2) * 255;
        }
      await encoder.write(frame);
    }
    await encoder.close();
    const tagged = (file: string, out: string) => {
      const bt709 = "h264_metadata=colour_primaries=1:transfer_characteristics=1:matrix_coefficients=1";
      ffmpeg(["-i", file, "-t", "2", "-c", "copy", "-bsf:v", bt709, out]);
      return out;
    };
    colours709 = tagged(colours, path.join(dir, "colours-709.mp4"));
    ubfc709 = tagged(ubfcVideo, path.join(dir, "ubfc-709.mp4"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Each file's first `frameCount` frames both ways, read with the matrix expected of it: no byte differs. */
  async function expectFfmpegsRgb(files: [string, YuvMatrix][], frameCount: number) {
    const decoded = [];
    for (const [file, matrix] of files) {
      const both = await bothWays(file, frameCount);
      expect(yuv420Matrix(both.info)).toBe(matrix);
      expect(both.converted).toHaveLength(frameCount);
      expect(differingBytes(both.converted, both.ffmpegRgb)).toBe(0);
      decoded.push(both);
    }
    return decoded;
  }

  it("are ffmpeg's own RGB24 to the bit, saturated colours included, BT.601 and BT.709", async () => {
    await expectFfmpegsRgb(
      [
        [colours, "bt601"],
        [colours709, "bt709"],
      ],
      4,
    );
  });

  it("are ffmpeg's own RGB24 to the bit on a real compressed face video (UBFC-rPPG subject3, and tagged BT.709)", async () => {
    const [bt601, bt709] = await expectFfmpegsRgb(
      [
        [ubfcVideo, "bt601"],
        [ubfc709, "bt709"],
      ],
      30,
    );
    // The matrices differ: BT.709's conversion of the BT.601 video is not ffmpeg's.
    expect(differingBytes(bt709!.converted.slice(0, 1), bt601!.ffmpegRgb.slice(0, 1))).toBeGreaterThan(
      10_000,
    );
  });

  it("halve to ffmpeg's area-scaled 4:4:4, converted as at full size (saturated colours, a real face)", async () => {
    for (const file of [colours, colours709, ubfcVideo, ubfc709]) {
      const { halved, expected } = await halvedBothWays(file);
      expect(differingBytes([halved], [expected])).toBe(0);
      expect(halved.some((value) => value !== 0)).toBe(true);
    }
  });

  it("are used only for pictures ffmpeg reads as BT.601 or BT.709 limited-range 4:2:0, unrotated and of even size", () => {
    const ubfc = {
      width: 640,
      height: 480,
      rotation: 0,
      pixelFormat: "yuv420p",
      colorSpace: "unknown",
      colorRange: "unknown",
    };
    expect(yuv420Matrix(ubfc)).toBe("bt601");
    expect(yuv420Matrix({ ...ubfc, colorSpace: "smpte170m", colorRange: "tv" })).toBe("bt601");
    expect(yuv420Matrix({ ...ubfc, colorSpace: "bt709" })).toBe("bt709");
    expect(yuv420Matrix({ ...ubfc, colorSpace: "bt2020nc" })).toBeUndefined();
    expect(yuv420Matrix({ ...ubfc, pixelFormat: "yuvj420p", colorRange: "pc" })).toBeUndefined();
    expect(yuv420Matrix({ ...ubfc, colorSpace: "bt709", colorRange: "pc" })).toBeUndefined();
    expect(yuv420Matrix({ ...ubfc, pixelFormat: "yuv422p" })).toBeUndefined();
    expect(yuv420Matrix({ ...ubfc, rotation: 90 })).toBeUndefined();
    expect(yuv420Matrix({ ...ubfc, width: 641 })).toBeUndefined();
  });
});
