import path from "node:path";
import { resolveTool } from "@hrpipe/media";
import { median } from "@hrpipe/signal";
import { timed } from "./process-time.ts";
import { type BenchResult, machineDescription } from "./report.ts";

const bin = path.join(import.meta.dirname, "..", "apps", "cli", "bin", "hrpipe.js");
const video = path.resolve(import.meta.dirname, "../../shared/data/ubfc-rppg-dev/subject3/vid.mp4");
/** rPPG-Toolbox's whole-video reference for subject3 (../shared/fixtures/rppg-toolbox-neural/index.json). */
const referenceHrBpm = 88.8;
const durationS = 30;

/**
 * `hrpipe live VIDEO --realtime --duration 30` on a real 640x480 30 fps face video, against ffmpeg
 * playing the same 30 s in real time: estimates, their accuracy, latency, and the cores it used.
 */
export async function benchLive(): Promise<BenchResult> {
  const reference = timed([
    resolveTool("ffmpeg").path,
    ...["-v", "error", "-re", "-t", String(durationS), "-i", video, "-f", "null", "-"],
  ]);
  const live = timed([process.execPath, bin, "live", video, "--realtime", "--duration", String(durationS)]);
  const lines = live.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { hrBpm: number | null; latencyS: number });
  const rates = lines.flatMap((line) => (line.hrBpm === null ? [] : [line.hrBpm]));
  return {
    name: "live",
    title: "hrpipe live on a real face video played in real time",
    method: `\`pnpm bench live\`: \`hrpipe live ../shared/data/ubfc-rppg-dev/subject3/vid.mp4 --realtime --duration ${durationS}\` (640x480, 30 fps, POS, landmark skin area, 10-s window updated every second), wall and CPU time by GNU time (ffmpeg's included), against \`ffmpeg -re -t ${durationS} -i VIDEO -f null -\` on the same file in the same run. Accuracy against rPPG-Toolbox's whole-video reference (88.8 bpm).`,
    rows: [
      {
        metric: "estimates printed",
        value: lines.length,
        unit: "lines",
        target: ">= 20",
        met: lines.length >= 20,
      },
      {
        metric: "median estimate's error against the video's reference",
        value: Math.abs(median(rates) - referenceHrBpm),
        unit: "bpm",
        target: "<= 3 bpm",
        met: Math.abs(median(rates) - referenceHrBpm) <= 3,
      },
      {
        metric: "median latency (newest frame's arrival to its estimate)",
        value: median(lines.map((line) => line.latencyS)),
        unit: "s",
        target: "<= 1.5 s",
        met: median(lines.map((line) => line.latencyS)) <= 1.5,
      },
      {
        metric: "cores used on average (CPU s / wall s)",
        value: live.cpuS / live.wallS,
        unit: "cores",
        reference: {
          what: "ffmpeg playing the same file in real time",
          value: reference.cpuS / reference.wallS,
        },
        target: "<= 1 core",
        met: live.cpuS / live.wallS <= 1,
      },
    ],
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
