import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
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

/**
 * The first `seconds` of a UBFC-rPPG dev subject in PURE's format: `<folder>/01-01/Image<ns>.png`,
 * one PNG per frame named by its capture time (UBFC's own time line), and `<folder>/01-01.json` with
 * the PPG waveform under `/FullPackage` and the frame times under `/Image`. The pixels are those a
 * decode of the video gives, so both layouts measure the same recording.
 */
export async function ubfcAsPure(folder: string, subject: string, seconds: number): Promise<void> {
  const [waveform, , times] = (await readFile(path.join(ubfcDev, subject, "ground_truth.txt"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number));
  // An arbitrary epoch, as PURE's clock is: nanoseconds.
  const epochNs = 1_392_643_993_642_815_000n;
  const timeNs = times!.map((t) => epochNs + BigInt(Math.round((t - times![0]!) * 1e9)));
  const frames = path.join(folder, "01-01");
  await mkdir(frames, { recursive: true });
  execFileSync("ffmpeg", [
    ...["-v", "error", "-i", path.join(ubfcDev, subject, "vid.mp4"), "-t", String(seconds)],
    ...["-pix_fmt", "rgb24", "-start_number", "0", path.join(frames, "%05d.png")],
  ]);
  const written = (await readdir(frames)).sort();
  for (const [k, name] of written.entries())
    await rename(path.join(frames, name), path.join(frames, `Image${timeNs[k]}.png`));
  const sampled = timeNs.slice(0, written.length);
  // Plain numbers, as PURE's JSON holds them (read back to 256 ns: ample for frame times).
  await writeFile(
    path.join(folder, "01-01.json"),
    JSON.stringify({
      "/FullPackage": sampled.map((ns, k) => ({ Timestamp: Number(ns), Value: { waveform: waveform![k] } })),
      "/Image": sampled.map((ns) => ({ Timestamp: Number(ns) })),
    }),
  );
}
