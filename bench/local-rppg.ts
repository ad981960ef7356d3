import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveTool } from "@hrpipe/media";
import { median } from "@hrpipe/signal";
import { buildCompiledTree } from "../infra/compiled-tree.ts";
import { timed } from "./process-time.ts";
import { type BenchResult, machineDescription } from "./report.ts";

const bin = path.join(import.meta.dirname, "..", "apps", "cli", "bin", "hrpipe.js");
const video = path.resolve(import.meta.dirname, "../../shared/data/ubfc-rppg-dev/subject3/vid.mp4");
const rounds = 5;

/**
 * `hrpipe rppg VIDEO --method all` on a 61-s 640x480 UBFC-rPPG video, CPU seconds with its ffmpeg,
 * against ffmpeg's own decode of the file (#29: at most 5x), from a checkout and compiled as the
 * images run it; the three alternate, round after round, so that the machine's drift hits all alike.
 */
export async function benchLocalRppg(): Promise<BenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-local-rppg-"));
  try {
    const compiled = buildCompiledTree(path.join(dir, "tree")).bin;
    const out = path.join(dir, "estimates.json");
    const hrpipe = (entry: string) => [
      process.execPath,
      entry,
      "rppg",
      video,
      "--method",
      "all",
      "--out",
      out,
    ];
    const ffmpeg = [resolveTool("ffmpeg").path, "-v", "error", "-i", video, "-f", "null", "-"];
    timed(hrpipe(bin)); // tsx's transform cache, as a user's second run finds it
    const cpuS = { ffmpeg: [] as number[], checkout: [] as number[], compiled: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      cpuS.ffmpeg.push(timed(ffmpeg).cpuS);
      cpuS.checkout.push(timed(hrpipe(bin)).cpuS);
      cpuS.compiled.push(timed(hrpipe(compiled)).cpuS);
    }
    const reference = {
      what: "ffmpeg -i VIDEO -f null - (its own decode of the file)",
      value: median(cpuS.ffmpeg),
    };
    const ratio = (value: number) => value / reference.value;
    return {
      name: "local-rppg",
      title: "hrpipe rppg on one video: CPU time against ffmpeg's decode",
      method: `\`pnpm bench local-rppg\`: \`hrpipe rppg ../shared/data/ubfc-rppg-dev/subject3/vid.mp4 --method all\` (61 s, 640x480, 1,802 frames; every classical method, no network installed), CPU seconds of the process and its ffmpeg by GNU time, from this checkout (TypeScript through tsx, after one warm-up run) and from the tree the images run (infra/compile.sh), against \`ffmpeg -v error -i VIDEO -f null -\`; medians of ${rounds} rounds, each round running the three in turn.`,
      rows: [
        {
          metric: "hrpipe rppg --method all, compiled (CPU s)",
          value: median(cpuS.compiled),
          unit: "s",
          reference,
          target: "<= 5x the reference",
          met: ratio(median(cpuS.compiled)) <= 5,
        },
        {
          metric: "hrpipe rppg --method all, from a checkout (CPU s)",
          value: median(cpuS.checkout),
          unit: "s",
          reference,
          target: "<= 5x the reference",
          met: ratio(median(cpuS.checkout)) <= 5,
        },
      ],
      measuredAt: new Date().toISOString().slice(0, 10),
      machine: machineDescription(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
