import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type BenchResult, machineDescription } from "./report.ts";

const bin = path.join(import.meta.dirname, "..", "apps", "cli", "bin", "hrpipe.js");
const video = path.resolve(import.meta.dirname, "../../shared/data/ubfc-rppg-dev/subject3/vid.mp4");

/** A process's resident memory now, bytes (Linux /proc). */
function rssBytes(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * `hrpipe live` on a looped file in real time for an hour (HRPIPE_BENCH_LIVE_MINUTES, default 60):
 * its resident memory every 10 s, the peak of the last 10 minutes against the peak of the first 10.
 */
export async function benchLiveMemory(): Promise<BenchResult> {
  const minutes = Number(process.env.HRPIPE_BENCH_LIVE_MINUTES ?? 60);
  const child = spawn(
    process.execPath,
    [bin, "live", video, "--realtime", "--loop", "--duration", String(minutes * 60)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let lines = 0;
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    lines += chunk.toString().split("\n").length - 1;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const samples: { tS: number; rss: number }[] = [];
  const started = performance.now();
  const timer = setInterval(() => {
    const rss = rssBytes(child.pid!);
    if (rss !== undefined) samples.push({ tS: (performance.now() - started) / 1000, rss });
  }, 10_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`hrpipe live exited ${code}: ${stderr}`);
  const spanS = Math.min(600, (minutes * 60) / 3);
  const peak = (from: number, to: number) =>
    Math.max(...samples.filter((s) => s.tS >= from && s.tS < to).map((s) => s.rss));
  const wallS = (performance.now() - started) / 1000;
  const first = peak(0, spanS);
  const last = peak(wallS - spanS, wallS + 1);
  return {
    name: "live-memory",
    title: "hrpipe live for an hour: memory",
    method: `\`HRPIPE_BENCH_LIVE_MINUTES=${minutes} pnpm bench live-memory\`: \`hrpipe live ../shared/data/ubfc-rppg-dev/subject3/vid.mp4 --realtime --loop --duration ${minutes * 60}\` (the 60-s video played over and over in real time), its resident memory (/proc VmRSS) every 10 s; the peak of the last ${spanS / 60} minutes against the peak of the first ${spanS / 60}.`,
    rows: [
      {
        metric: `peak RSS, last ${spanS / 60} minutes`,
        value: last / 2 ** 20,
        unit: "MiB",
        reference: { what: `peak RSS, first ${spanS / 60} minutes`, value: first / 2 ** 20 },
        target: "within 10% of the first",
        met: Math.abs(last / first - 1) <= 0.1,
      },
      { metric: "estimates printed", value: lines, unit: `lines over ${(wallS / 60).toFixed(1)} min` },
    ],
    measuredAt: new Date().toISOString().slice(0, 10),
    machine: machineDescription(),
  };
}
