import { spawnSync } from "node:child_process";
import path from "node:path";
import { type BenchResult, machineDescription } from "./report.ts";

const bin = path.join(import.meta.dirname, "..", "apps", "cli", "bin", "hrpipe.js");
const runs = 9;

/** Median wall time of a command over `runs` runs, after one warm-up run (tsx's transform cache). */
function medianMs(args: string[]): number {
  spawnSync(process.execPath, args, { stdio: "ignore" });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    times.push(performance.now() - started);
    if (child.status !== 0) throw new Error(`${args.join(" ")} exited ${child.status}: ${child.stderr}`);
  }
  return times.sort((a, b) => a - b)[runs >> 1]!;
}

/** How long `hrpipe --version` and `--help` take to answer, next to a bare Node start on the same machine. */
export async function benchCliStartup(): Promise<BenchResult> {
  const bareNode = medianMs(["-e", ""]);
  const version = medianMs([bin, "--version"]);
  const help = medianMs([bin, "--help"]);
  const reference = { what: "node -e '' (bare Node start)", value: bareNode };
  return {
    name: "cli-startup",
    title: "CLI start-up",
    method: `Median wall time of ${runs} runs (after one warm-up) of node apps/cli/bin/hrpipe.js with the flag, stdout to a pipe; the same for node -e '' as the floor. Command modules are imported only when their command runs.`,
    rows: [
      {
        metric: "hrpipe --version",
        value: version,
        unit: "ms",
        reference,
        target: "< 300 ms",
        met: version < 300,
      },
      { metric: "hrpipe --help", value: help, unit: "ms", reference, target: "< 300 ms", met: help < 300 },
    ],
    measuredAt: new Date().toISOString(),
    machine: machineDescription(),
  };
}
