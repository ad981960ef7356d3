import { execFileSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";

export const ubfcDev = path.resolve(import.meta.dirname, "../../../shared/data/ubfc-rppg-dev");

/**
 * `<folder>/<subject>/vid.mp4` cut to the first `seconds` of each UBFC-rPPG dev subject's video (a
 * stream copy: the frames are the recording's own), with its ground_truth.txt unless `videosOnly`.
 */
export async function ubfcClips(
  folder: string,
  subjects: string[],
  seconds: number,
  options: { videosOnly?: boolean } = {},
): Promise<void> {
  for (const subject of subjects) {
    await mkdir(path.join(folder, subject), { recursive: true });
    if (!options.videosOnly)
      await copyFile(
        path.join(ubfcDev, subject, "ground_truth.txt"),
        path.join(folder, subject, "ground_truth.txt"),
      );
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-i",
      path.join(ubfcDev, subject, "vid.mp4"),
      "-t",
      String(seconds),
      "-c",
      "copy",
      path.join(folder, subject, "vid.mp4"),
    ]);
  }
}
