import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildCompiledTree } from "../infra/compiled-tree.ts";
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
  const dir = await mkdtemp(path.join(tmpdir(), "hrpipe-bench-compiled-"));
  let compiledHelp: number;
  try {
    compiledHelp = medianMs([buildCompiledTree(dir).bin, "--help"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const reference = { what: "node -e '' (bare Node start)", value: bareNode };
  return {
    name: "cli-startup",
    title: "CLI start-up",
    method: `Median wall time of ${runs} runs (after one warm-up) of node apps/cli/bin/hrpipe.js with the flag, stdout to a pipe; the same for node -e '' as the floor. Command modules are imported only when their command runs. The compiled row builds the images' tree first (infra/compiled-tree.ts).`,
    rows: [
      {
        metric: "hrpipe --version",
        value: version,
        unit: "ms",
        reference,
        target: "< 300 ms",
        met: version < 300,
      },
      {
        metric: "hrpipe --help, from a checkout (TypeScript through tsx)",
        value: help,
        unit: "ms",
        reference,
        target: "< 300 ms",
        met: help < 300,
      },
      {
        metric: "hrpipe --help, compiled as the images run it (infra/compile.sh)",
        value: compiledHelp,
        unit: "ms",
        reference,
        target: "< 300 ms",
        met: compiledHelp < 300,
      },
    ],
    measuredAt: new Date().toISOString(),
    machine: machineDescription(),
  };
}
