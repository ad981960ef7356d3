import path from "node:path";
import { decodeFrames, probeVideo } from "@hrpipe/media";
import { describe, expect, it } from "vitest";
import { decodePictures, wholeVideo } from "../src/analyse.ts";

const video = path.resolve(import.meta.dirname, "../../../../shared/data/ubfc-rppg-dev/subject3/vid.mp4");

describe("decodePictures", () => {
  it("gives the frames ffmpeg converts to RGB24, within its conversion's rounding", async () => {
    const info = await probeVideo(video);
    const window = { ...wholeVideo(info), firstFrame: 40, frameCount: 3 };
    const rgb: Uint8Array[] = [];
    for await (const frame of decodeFrames(video, window, info)) rgb.push(frame.slice());
    let frames = 0;
    for await (const picture of decodePictures(video, window)) {
      const reference = rgb[frames++]!;
      let sum = 0;
      let largest = 0;
      for (let y = 0; y < info.height; y++) {
        const row = picture.rowRgb(y, 0, info.width - 1);
        for (let i = 0; i < row.length; i++) {
          const difference = row[i]! - reference[y * info.width * 3 + i]!;
          sum += difference;
          largest = Math.max(largest, Math.abs(difference));
        }
      }
      // ffmpeg's fast conversion truncates where the formula rounds: 0-3 levels below it, 1 on average.
      expect(largest).toBeLessThanOrEqual(3);
      expect(sum / (info.width * info.height * 3)).toBeGreaterThan(0);
      expect(sum / (info.width * info.height * 3)).toBeLessThan(1.5);
    }
    expect(frames).toBe(3);
  });
});
